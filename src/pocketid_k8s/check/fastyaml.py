"""The fast way through a manifest: yaml-rs (Rust, about ten times PyYAML's C loader) builds a
document whose every scalar both libraries read alike; the lines of its fields are found only
when a finding asks for one.

PyYAML reads YAML 1.1 and yaml-rs YAML 1.2, and they differ on some plain scalars (``yes``,
``on``, ``0777``, ``1e3``, ``1:30``, dates), on tags, tabs and control characters, and on keys
that are not strings. :data:`_TOKENS` and its kin find in the text anything that could be one
of them (more than there is: a word ``no`` in a quoted sentence counts), and such a document
is left to PyYAML, as is one that yaml-rs refuses (a duplicate key, an alias, a syntax error):
PyYAML's reading of it says what is wrong, in the words it always has. So a document reads the
same, and its findings are the same, whichever library built it; tests/test_fuzz_fastyaml.py
holds the two to that on generated documents.

A finding's line (:meth:`Lines.nearest`) is first asked of :func:`_quick`, a scan of the
document's lines with no parser (a regular expression a line, a stack of indentations): it
answers in the block style of real manifests, where every line up to the answer is of that
style, and says None elsewhere; then PyYAML's C parser reads the events up to the field
(:func:`_nearest`). tests/test_fuzz_quicklines.py holds the scan to the parser.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final

import yaml_rs

from pocketid_k8s.check import lazy
from pocketid_k8s.check.model import Path

if TYPE_CHECKING:
    import yaml
else:
    yaml = lazy.module("yaml")  # for lines and what yaml-rs leaves: imported when first used

MAX_BYTES: Final = 256 * 1024
"""Larger documents go to PyYAML, which bounds their node count (a document of 200,000 nodes
needs 400 KB at the least)."""
MAX_FLOWS: Final = 90
"""'[' and '{' in a document past which PyYAML bounds its depth."""
MAX_DEPTH: Final = 200
"""Nesting a document read here stays under: the loader's own bound (deeper, PyYAML's reading
says the document is too complex). A block collection starts at a line's indentation (with its
'- ', '? ' and ': ') and is at most two levels deeper than the one at the column before (a
mapping's sequence may sit at its key's column), and a flow collection opens with a '[' or '{':
so a document whose lines are indented less than (MAX_DEPTH - flows) / 2 nests less deep."""

UNREAD: Final = object()
""":func:`read` left the document to PyYAML."""

_END = r"(?=[\s\[\]{},#]|:\s|:$|$)"
"""At the end of a plain scalar: a blank, a flow indicator, a comment or a key's colon."""
_CONTROLS: Final = r"[\x00-\x09\x0b-\x1f\x7f]"
"""Tabs, CR and controls: what PyYAML refuses or reads otherwise, in ASCII."""
_NOT_PRINTABLE: Final = r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]"
""":data:`_CONTROLS` and, past ASCII, byte order marks, surrogates and the line and paragraph
separators U+2028 and U+2029, line breaks to PyYAML (YAML 1.1) and characters to yaml-rs
(YAML 1.2): 'a: b<U+2028>c' is an error to one and 'b<U+2028>c' to the other. Compiled when
first needed, for a text that is not all ASCII (its ranges take a millisecond to compile; in
ASCII, :data:`_LINE_TOKENS` finds them)."""
_INDICATORS: Final = r"[|>][ ]*[0-9+]|[\]}][ ]*:(?=\s|$)"
"""A block scalar's indentation or keep indicator; a flow collection as a key (before a ':')."""
_FLOW_KEY: Final = re.compile(r"[,{]\s*[\[{]")
"""A flow collection where a flow mapping's key may be ('{{ .Values.x }}' is one, inside
one); over lines too."""
_EMPTY_LAST: Final = re.compile(r"[|>][ ]*(?:#.*)?\Z")
"""On the last line that is not blank, a block scalar's header: with no content after it, the
scalar is '' to PyYAML and '\\n' to yaml-rs."""
_BLOCK_HEADER: Final = re.compile(r"[|>][-+0-9]*+[ ]*+(?:#[^\n]*+)?$", re.MULTILINE)
"""A block scalar's header (near enough: a '|' or '>' last on its line, but for a comment). In
a text that does not end with a line break, a block scalar that ends the text reads otherwise:
'a: |\\n  x' is 'x' to PyYAML and 'x\\n' to yaml-rs."""
_ROOT_BLOCK: Final = re.compile(r"(?:[ \n]|#[^\n]*+|---(?=[ \n]|$))*+[|>]")
"""A block scalar as the document (at its start, after blanks, comments and '---'): its lines
may sit at column 0, where PyYAML and yaml-rs end it or read a comment otherwise ('>\\n# x':
PyYAML '# x\\n', yaml-rs ''; some are an error to PyYAML alone)."""
_FLOW_TOKENS: Final = tuple(
    re.compile(pattern)
    for pattern in (
        r",[ \n]*+[:|>]",
        r"\[[ \n]*+[:|>]",
        r"\{[ \n]*+[:|>]",
        r": ++[:|>][^\n#\]}]*+[\]}]",
    )
)
"""In a flow collection, an entry or a value that starts with ':', '|' or '>' ('[:x]', '{|}',
'{a: :x}'): an error to PyYAML's C scanner (a value indicator; no block scalar in a flow),
a plain scalar to yaml-rs. Also finds '[::1]' in a block scalar's text (an IPv6 address).
Four patterns, each with a literal first character that re finds fast: one alternation of
them took 30 ms on the bundle and the corpus 20 times over, these 6. The second and third
need a '[' or '{', the fourth a ']' or '}': a text without is not searched for them."""
_FLOW_LINES: Final = re.compile(r"\{[^}\n]*+\n")
"""A flow mapping over several lines (near enough: a line break between a '{' and a '}')."""
_KEY_LINES: Final = re.compile(
    r"[{,][ \n]*+[^\s\[\]{},:#](?:[^\[\]{},\n:]|:(?![\s\[\]{},]))*+\n[^\[\]{},:]*+:"
)
"""In a flow mapping, a key over two lines ('{a\\n b: c}'): an error to PyYAML, the key 'a b' to
yaml-rs. Possessive: each try ends at the next flow indicator, where the next one starts."""
_FLOW_COLON: Final = re.compile(r":[,?\[\]{}]")
"""In a flow collection, a plain scalar's ':' before a flow indicator ('[x:]', '{a:b:}'): an
error to PyYAML's C scanner, a key to yaml-rs. In block context the same characters are
harmless ('(?::[0-9]+)' in a regex), so only a document that also opens a flow is left."""
_FLOW_OPEN: Final = re.compile(r"(?:^|[ ,\[{])[\[{]", re.MULTILINE)
"""A flow collection's start: a '[' or '{' at a line's start, after a blank, ',' or another."""
_SCALARS: Final = (
    # each pattern here starts at a character that may begin one of them, after a separator:
    # which keeps the scan at about 20 ns a character
    r"(?=[-+._0-9!?&:yYnNoOtTfF=~])(?:"
    + "|".join(
        [
            r"[!?&]",  # a tag; a complex key; an anchor (its aliases: yaml-rs refuses them)
            r":(?=\s|$)",  # an empty key
            r"(?i:yes|no|on|off|y|n|=)(?=[\s\[\]{},#:]|$)",  # YAML 1.1's booleans; value key
            r"(?i:true|false|null|~):(?=\s|$)",  # keys that are not strings
            # a number as a key: '1' may be a key too (the loader's walk, which finds
            # duplicate keys by their text, reports '1: a' with "'1': b" as one given twice)
            r"[-+]?\.?[0-9][0-9._]*[ ]*:(?=[\s\[\]{},]|$)",
            # shaped like a number, unless an integer or a decimal both read alike, or a
            # version or an address both read as a string
            r"(?![-+]?(?:0|[1-9][0-9]{0,17})(?:\.[0-9]{1,15})?" + _END + ")"
            r"(?![0-9]+(?:\.[0-9]+){2,}" + _END + ")"
            # 1_000, 1e3, .5; yaml-rs drops every '_' ('_1', '1e_3', '._5' are numbers to it)
            r"(?:[-+]?(?=[._]*[0-9])[0-9_]*\.?[0-9_]*\.?[0-9_]*(?:[eE][-+]?[0-9_]*)?"
            r"|[-+]?[0-9][0-9_]*(?::[0-9_]+)+(?:\.[0-9_]*)?"  # 1:30 (base 60)
            r"|[-+]?0[xXoObB][0-9a-fA-F_]*)" + _END,  # 0x1F, 0o17, 0b101
            r"[0-9]{4}-[0-9]{1,2}-[0-9]",  # a date, a time
            r"[-+]?\.(?i:inf|nan)",
        ]
    )
    + ")"
)
_SEPARATOR: Final = r"[\s\[\]{},]"
"""What a plain scalar starts after: a blank or a flow indicator."""
_TOKENS: Final = _SEPARATOR + _SCALARS
"""Plain scalars that YAML 1.1 and 1.2 (or PyYAML and yaml-rs) may read otherwise, and the
indicators of what is left to PyYAML: tags, complex and empty keys (searched in a text with
re.MULTILINE, and at its start as after a line break)."""
_KEY_END: Final = r"[\"'\]}]:"
_ADJACENT: Final = _KEY_END + _SCALARS
"""The same after a quoted or flow key's ':' with no blank ('{"a":yes}', JSON's way): PyYAML
reads True. A JSON text in a block scalar ('{"replicas":1}') stays read."""
_LINE_TOKENS: Final = re.compile(
    "|".join([f"(?:^|{_SEPARATOR}|{_KEY_END})" + _SCALARS, _INDICATORS, _CONTROLS])
)
""":data:`_TOKENS`, :data:`_ADJACENT`, :data:`_INDICATORS` and what :data:`_NOT_PRINTABLE`
finds in ASCII, in one line of a text ('^': after its line break, or at the text's start).
None crosses a line break: each is a character, or a character and a plain scalar or an
indicator, whose every end (a blank, an indicator, the line's end) holds at its line's end
too. The scalars once, after any of what may come before them: half the pattern, which re
compiles in 0.7 ms instead of 1.2 (each check's start-up), and finds the same."""
_KNOWN_LINES: dict[str, bool] = {}
"""Whether each line seen holds one of :data:`_LINE_TOKENS`: the lines of manifests recur
('spec:', '  - name: http', 'apiVersion: apps/v1'): four in five of the corpus's, most of a
set of many apps'."""
_KNOWN_MAX: Final = 20_000
"""Lines remembered at most (then forgotten all at once)."""
_KNOWN_LONGEST: Final = 200
"""Longer lines are searched, not remembered."""
_DEEP: Final = 100
"""Columns a line may be indented or introduced ('- - - ') by, at most, and so may nest."""
_LIMITS: Final = yaml_rs.AliasLimits(max_alias_expansions_per_anchor=0)
"""An alias is left to PyYAML (which bounds its expansion and gives its fields lines)."""


@functools.cache
def loader() -> type[yaml.SafeLoader]:
    """PyYAML's safe loader, its C one where PyYAML was built with libyaml."""
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read(text: str) -> object:
    """The one YAML document in ``text`` as PyYAML's safe loader builds it, or :data:`UNREAD`.

    ``text`` holds at most one document: no '---' line but maybe its first.
    """
    if len(text) > MAX_BYTES:
        return UNREAD
    flows = text.count("[") + text.count("{")
    if (
        flows > MAX_FLOWS  # first: it bounds the tries of the flow patterns below
        or "<<" in text  # a merge key, a document end, a directive
        or "\n..." in text
        or "\n%" in text
        or text.startswith(("...", "%"))
        or (not text.isascii() and _compiled(_NOT_PRINTABLE).search(text))
        or _has_tokens(text)
        or (flows and _FLOW_KEY.search(text))
        or _EMPTY_LAST.search(_last_line(text))
        or _ROOT_BLOCK.match(text)
        or (not text.endswith("\n") and _BLOCK_HEADER.search(text))
        or _FLOW_TOKENS[0].search(text)
        or (flows and (_FLOW_TOKENS[1].search(text) or _FLOW_TOKENS[2].search(text)))
        or (("]" in text or "}" in text) and _FLOW_TOKENS[3].search(text))
        or (_FLOW_LINES.search(text) and _KEY_LINES.search(text, text.find("{")))
        or (_FLOW_COLON.search(text) and _FLOW_OPEN.search(text))
        or _deep(text, min(_DEEP, (MAX_DEPTH - flows) // 2))
    ):
        return UNREAD
    try:
        return yaml_rs.loads(text, parse_datetime=False, alias_limits=_LIMITS)
    except (yaml_rs.YAMLDecodeError, ValueError, TypeError, OverflowError, RecursionError):
        return UNREAD


def _has_tokens(text: str) -> bool:
    """Whether ``text`` holds :data:`_TOKENS` (at its start too), :data:`_ADJACENT`,
    :data:`_INDICATORS` or an ASCII control: line by line, each line's answer remembered."""
    known = _KNOWN_LINES
    for line in text.split("\n"):
        found = known.get(line)
        if found is None:
            found = _LINE_TOKENS.search(line) is not None
            if len(line) <= _KNOWN_LONGEST:
                if len(known) >= _KNOWN_MAX:
                    known.clear()
                known[line] = found
        if found:
            return True
    return False


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _deep(text: str, columns: int) -> bool:
    """Whether a line is indented or introduced ('- - - ') ``columns`` deep."""
    indented = _indented(columns)
    return bool(indented.search(text) or indented.match("\n" + text[: columns + 1]))


@functools.cache
def _indented(columns: int) -> re.Pattern[str]:
    """A line break and ``columns`` of indentation or indicators (a pattern that starts with
    a line break is searched five times faster than one with '^')."""
    return re.compile(rf"\n[ ?:-]{{{columns}}}")


def _last_line(text: str) -> str:
    """The last line of ``text`` that is not blank."""
    end = len(text.rstrip(" \n"))
    return text[text.rfind("\n", 0, end) + 1 : end]


class Lines:
    """The line of each field of one document read by :func:`read`, found when first asked:
    PyYAML's C parser reads the document's events up to the field (a later question about a
    field not yet seen reads them again: a parser kept waiting holds tens of kilobytes, and a
    set of 10,000 objects has thousands of findings). The same lines, field for field, as the
    loader's walk over PyYAML's nodes records. A finding's line (:meth:`nearest`) is first
    asked of a quick scan of the lines (:func:`_quick`; about twice as fast, as
    bench/lines_bench.py prints), which answers where every line up to the field is of the
    plain block style of real manifests (one 'key: value', 'key:', '- key: value' or
    '- value' a line, comments), and leaves the rest to the parser.

    The document is ``text[start:end]`` (the file's text, shared by its documents), its first
    line being line ``base`` + 1 of the file.
    """

    __slots__ = ("_complete", "_found", "_text", "base", "end", "start")

    def __init__(self, text: str, base: int, start: int = 0, end: int | None = None) -> None:
        self._text = text
        self.base = base
        self.start = start
        self.end = len(text) if end is None else end
        self._found: dict[Path, int] = {}
        self._complete = False

    @property
    def place(self) -> tuple[int, int, int]:
        """(start, end, base): the document in its file's text, without the text."""
        return self.start, self.end, self.base

    def __getstate__(self) -> tuple[str, int, int, int]:
        return self._text, self.base, self.start, self.end

    def __setstate__(self, state: tuple[str, int, int, int]) -> None:
        self.__init__(*state)  # type: ignore[misc]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (Lines, dict)):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __contains__(self, path: object) -> bool:
        return self._find(path) is not None

    def __getitem__(self, path: Path) -> int:
        line = self._find(path)
        if line is None:
            raise KeyError(path)
        return line

    def get(self, path: Path, /) -> int | None:
        return self._find(path)

    def items(self) -> list[tuple[Path, int]]:
        self._find(None)  # no field's path: reads them all
        return list(self._found.items())

    def nearest(self, path: Path) -> int | None:
        """The line of ``path``, or of its nearest parent that the document has: by a scan of
        the lines up to it (:func:`_quick`) where they are all of the plain block style of
        real manifests, else by one reading of the events up to it, following only the
        collections on the way (the rest are counted through, not walked)."""
        known = self._found.get(path)
        if known is not None:
            return known
        text = self._text[self.start : self.end]
        quick = _quick(text, self.base, path)
        return quick if quick is not None else _nearest(text, self.base, path)

    def _find(self, path: object) -> int | None:
        known: int | None = self._found.get(path)  # type: ignore[call-overload]
        if known is not None or self._complete:
            return known
        events = _lines(self._text[self.start : self.end], self.base)
        try:
            for found, line in events:
                self._found.setdefault(found, line)
                if found == path:
                    return self._found[found]
        finally:
            events.close()  # type: ignore[attr-defined]
        self._complete = True
        return None


def _lines(text: str, base: int) -> Iterator[tuple[Path, int]]:
    """(path, line) of each node of the document, in the order of the text (a key's own nodes,
    which have no path, are passed over)."""
    frames: list[_Frame] = []
    for event, kind in _events(text):
        if kind is _END_EVENT:
            frames.pop()
            continue
        scalar = kind is yaml.ScalarEvent or kind is yaml.AliasEvent  # no collection follows
        path: Path | None = ()
        if frames:
            frame = frames[-1]
            if frame.mapping and frame.key is None:  # a key: its value comes next
                frame.key = event.value if kind is yaml.ScalarEvent else ""
                path = None
            elif frame.mapping:
                path = None if frame.path is None else (*frame.path, frame.key or "")
                frame.key = None
            else:
                path = None if frame.path is None else (*frame.path, frame.index)
                frame.index += 1
        if path is not None:
            yield path, event.start_mark.line + base + 1
        if not scalar:
            frames.append(_Frame(path, kind is yaml.MappingStartEvent))


def _events(text: str) -> Iterator[tuple[Any, object]]:
    """The document's events that start a node (a scalar, an alias, a mapping, a sequence)
    or end a collection (then the kind is :data:`_END_EVENT`), from PyYAML's C parser."""
    parser = loader()(text)
    nodes = _node_events()
    try:
        while parser.check_event():
            event = parser.get_event()  # type: ignore[no-untyped-call]
            kind = type(event)
            if kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                yield event, _END_EVENT
            elif kind in nodes:
                yield event, kind
    finally:
        parser.dispose()


_END_EVENT: Final = object()
"""The kind :func:`_events` gives the end of a mapping or a sequence."""


@functools.cache
def _node_events() -> frozenset[type]:
    return frozenset(
        {yaml.ScalarEvent, yaml.AliasEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent}
    )


def _nearest(text: str, base: int, path: Path) -> int | None:
    """The line of ``path`` in the document, or of its nearest parent (see Lines.nearest)."""
    way: list[_Frame] = []
    """The open collections that ``path`` goes through, from the root."""
    depth = 0
    """The open collections, those passed over included."""
    line: int | None = None
    for event, kind in _events(text):
        if kind is _END_EVENT:
            depth -= 1
            if depth < len(way):  # the collection on the way ended without the next step
                return line
            continue
        scalar = kind is yaml.ScalarEvent or kind is yaml.AliasEvent
        if depth > len(way):  # inside a collection passed over
            depth += 0 if scalar else 1
            continue
        if way:
            frame = way[-1]
            if frame.mapping and frame.key is None:  # a key: its value comes next
                frame.key = event.value if kind is yaml.ScalarEvent else ""
                depth += 0 if scalar else 1
                continue
            step: str | int | None
            if frame.mapping:
                step, frame.key = frame.key, None
            else:
                step, frame.index = frame.index, frame.index + 1
            if step != path[len(way) - 1]:
                depth += 0 if scalar else 1
                continue
        line = event.start_mark.line + base + 1
        if len(way) == len(path) or scalar:
            return line
        way.append(_Frame((), kind is yaml.MappingStartEvent))
        depth += 1
    return line


class _Frame:
    """An open collection: its path (None inside a key), and where it is in its entries."""

    __slots__ = ("index", "key", "mapping", "path")

    def __init__(self, path: Path | None, mapping: bool) -> None:
        self.path = path
        self.mapping = mapping
        self.index = 0
        self.key: str | None = None


def _printable(ascii_class: str) -> str:
    """The characters of ``[ascii_class]`` and every one past ASCII, as a negated class of
    the ASCII ones left out: re compiles it in microseconds, where a class listing the ranges
    of printable characters past U+00FF took milliseconds each (it maps the 65,536 of the
    BMP): 0.1 s to import. :func:`_quick` refuses a text with a character past ASCII that
    PyYAML does not read as one (C1 controls, U+2028, U+2029, surrogates, byte order marks)."""
    listed = re.compile(f"[{ascii_class}]")
    left_out = "".join(re.escape(chr(c)) for c in range(128) if not listed.match(chr(c)))
    return f"[^{left_out}]"


_C_DQ: Final = _printable(r" !#-\[\]-~")
"""A character of a double-quoted scalar but its quote and backslash."""
_C_SQ: Final = _printable(r" -&(-~")
"""A character of a single-quoted scalar but its quote."""
_C_FIRST: Final = _printable(r"$()+./0-9;<=A-Z\\^_a-z~")
"""A plain scalar's first character but '-'."""
_C_NB: Final = _printable(r"!-~")
"""A character but a blank."""
_C_ITEM: Final = _printable(r"!\"$-+\--9;-Z\\^-z|~")
"""A plain scalar's character in a flow sequence."""
_C_PLAIN: Final = _printable(r"!-9;-~")
"""A plain scalar's character but ':' and a blank."""
_C_ANY: Final = _printable(r" -~")
"""A printable character (a comment's)."""
_KEY: Final = (
    r"[A-Za-z0-9_][A-Za-z0-9_./-]{0,127}+"
    rf"|\"{_C_DQ}{{0,127}}+\"|'(?:{_C_SQ}|''){{0,127}}+'"
)
"""A key, plain or quoted with no escape, whose text is its value, but for a single-quoted
key's doubled quotes (a simple key: one line, well under 1024 characters)."""
_FIRST: Final = rf"(?:{_C_FIRST}|-(?={_C_NB}))"
"""A plain scalar's first character here: not an indicator ('-' but before a non-blank)."""
_QUOTED: Final = (
    rf"'(?:{_C_SQ}++|'')*+'"  # single-quoted, closed on its line
    rf'|"(?:{_C_DQ}++|\\[0abtnvfre "\\N_LP])*+"'  # double-quoted, simple escapes
)
_ITEM: Final = rf"(?:{_FIRST}{_C_ITEM}*+|{_QUOTED})"
"""A scalar in a flow sequence: quoted, or plain with no blank, ':', '#' or flow indicator."""
_VALUE: Final = (
    rf"{_FIRST}(?:{_C_PLAIN}++|:(?={_C_NB})| ++(?=[^# \n]))*+"  # plain: no ': ', no ' #'
    rf"|{_QUOTED}"
    rf"|\[ *+(?:{_ITEM}(?: *+, *+{_ITEM})*+ *+)?\]|\{{ *+\}}"  # [a, 'b'], [], {}
)
"""A value that starts and ends on its line: a scalar, or a flow sequence of scalars or an
empty flow mapping (every node in it is on that line). No block scalar, anchor, alias, tag,
complex key or nested '- ' (their first characters are not among a plain scalar's here)."""
_ROW: Final = re.compile(
    rf"( *+)(- ++)?(?:({_KEY}):(?: ++({_VALUE}))?|({_VALUE}))?"
    rf" *+(?:(?<![^ \n])#{_C_ANY}*+)?$",
    re.MULTILINE,
)
"""One line of the block style :func:`_quick` reads: its indentation, its '- ', its key and
value (a key's value, or an entry's), and a comment: a blank line or a comment matches too."""
_HEAD: Final = re.compile(
    r"(?:[ ]*+(?:#[^\n\r\x85\u2028\u2029]*+)?\n)*+"
    r"(?:(---)(?:[ ]++#[^\n\r\x85\u2028\u2029]*+|[ ]*+)\n)?"
    r"(?:[ ]*+(?:#[^\n\r\x85\u2028\u2029]*+)?\n)*+"
)
"""The blank lines and comments before a document's first node, and a '---' among them, read
by one match: a comment's text as anything but a line break (the loop that re runs fastest),
in a text with no control character, as :func:`_quick` makes sure."""
_MAP: Final = 0
_SEQ: Final = 1
_INDENTLESS: Final = 2
"""The collections :func:`_quick` follows: a block mapping, a block sequence, and one at its
key's column ('containers:\\n- name: x')."""


def _quick(text: str, base: int, path: Path) -> int | None:  # noqa: PLR0911, PLR0912, PLR0915 - one pass
    """:func:`_nearest`'s answer by a scan of the document's lines with no parser, or None
    where the scan cannot be sure of it (then :func:`_nearest` answers).

    It answers in the block style of real manifests (one 'key: value', 'key:', '- key: value'
    or '- value' a line, keys plain or quoted with no escape, values that end on their line:
    scalars, '[a, b]', '{}'; comments, a first '---'), when each line up to the answer and the
    one after it (PyYAML's scanner reads into it) is of that style and at an indentation that a
    valid document has there. Any other line before (a block scalar, a flow collection over
    lines or holding another, an anchor, an alias, a tag, a complex or escaped key, a scalar
    over several lines, a tab) makes it answer None, as does a control character or a line
    break but LF anywhere in the text (:func:`read` leaves those texts to PyYAML).

    It follows the path as :func:`_nearest` does: the node of each step, where it starts
    (a block mapping at its first key, a block sequence at its first '-', an empty value at
    its key), or the deepest one on the way when the next step is not there.
    """
    columns: list[int] = []
    """The open collections' columns, the document's first: those up to ``columns[matched]``
    are the nodes of ``path[:matched]``, those after it are passed over."""
    kinds: list[int] = []
    entries: list[int] = []
    """A sequence's entries so far."""
    matched = 0
    line: int | None = None
    """The line of the node of ``path[:matched]``."""
    answer: int | None = None
    decided = 0
    """The line where the answer was found: it is given once the next line is read."""
    pending: int | None = None
    """The line of a key whose value starts on a later line ('key:' at a line's end)."""
    pending_on_way = started = False
    if _compiled(_CONTROLS if text.isascii() else _NOT_PRINTABLE).search(text):
        return None  # a control, or a line break but LF: what PyYAML reads otherwise
    head = _HEAD.match(text)
    if head is None:  # it matches the empty text at least
        return None
    at, size, header = head.end(), len(text), head.group(1) is not None
    number = base + text.count("\n", 0, at)
    while at <= size:
        row = _ROW.match(text, at)
        if row is None:
            return None
        number += 1
        at = row.end() + 1
        spaces, dash, key, value, item = row.groups()
        if dash is None and key is None:
            if item is None:
                continue  # a blank line or a comment
            if pending is not None and len(spaces) > columns[-1]:  # the value of 'key:' above
                if answer is not None:
                    return answer
                if pending_on_way:
                    matched += 1
                    answer = line = decided = number
                pending = None
                continue
            if item != "---" or spaces or started or header:
                return None  # a scalar on a line of its own: a document, or a continuation
            header = True
            continue
        if key is None and item is None:
            return None  # '-' with nothing after it
        column = len(spaces)
        if key is not None and key[0] in "'\"":
            key = key[1:-1].replace("''", "'") if key[0] == "'" else key[1:-1]
        if pending is not None:  # the value of the key on an earlier line
            held = columns[-1]
            nested = column > held or (dash is not None and column == held)
            if nested:
                columns.append(column)
                kinds.append(_MAP if dash is None else _SEQ if column > held else _INDENTLESS)
                entries.append(0)
            if pending_on_way:
                matched += 1
                line = number if nested else pending  # a collection, or an empty value
                if matched == len(path) or not nested:
                    answer, decided = line, number
            pending = None
        elif not started:
            columns.append(column)
            kinds.append(_MAP if dash is None else _SEQ)
            entries.append(0)
            started = True
            line = number
            if not path:
                answer, decided = line, number
        while columns and (
            columns[-1] > column
            or (kinds[-1] == _INDENTLESS and columns[-1] == column and dash is None)
        ):
            columns.pop()
            kinds.pop()
            entries.pop()
            if len(columns) == matched and answer is None:  # the path's node ended
                answer, decided = line, number
        if not columns or columns[-1] != column or (kinds[-1] == _MAP) != (dash is None):
            return None  # an indentation no open collection has; a '- ' in a mapping
        if answer is not None and decided < number:
            return answer
        walking = answer is None  # else only the structure is followed, to the next line
        if dash is not None:
            on_way = walking and len(columns) - 1 == matched and entries[-1] == path[matched]
            entries[-1] += 1
            if on_way:
                matched += 1
                line = number
            if key is None:  # a scalar entry
                if on_way:
                    answer, decided = line, number
                continue
            columns.append(column + len(dash))
            kinds.append(_MAP)
            entries.append(0)
            if on_way and matched == len(path):
                answer, decided, walking = line, number, False
        on_way = walking and len(columns) - 1 == matched and key == path[matched]
        if value is None:
            pending, pending_on_way = number, on_way
        elif on_way:
            matched += 1
            answer = line = decided = number
    if answer is not None or not started:
        return answer
    if pending is not None and pending_on_way:
        return pending  # an empty value at the end
    return line
