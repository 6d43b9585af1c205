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
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Final

import yaml
import yaml_rs

from pocketid_k8s.check.model import Path

MAX_BYTES: Final = 256 * 1024
"""Larger documents go to PyYAML, which bounds their node count (a document of 200,000 nodes
needs 400 KB at the least)."""
MAX_FLOWS: Final = 90
"""'[' and '{' in a document past which PyYAML bounds its depth (with :data:`_DEEP`, the depth
of a document read here stays under the loader's MAX_DEPTH)."""

UNREAD: Final = object()
""":func:`read` left the document to PyYAML."""

_END = r"(?=[\s\[\]{},#]|:\s|:$|$)"
"""At the end of a plain scalar: a blank, a flow indicator, a comment or a key's colon."""
_NOT_PRINTABLE: Final = re.compile(
    r"[^\n\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
"""Tabs, CR, controls, byte order marks: what PyYAML refuses or reads otherwise."""
_INDICATORS: Final = re.compile(
    r"[|>\]},{](?:(?<=[|>])[ ]*[0-9+]|(?<=[\]}])[ ]*:(?=\s|$)|(?<=[,{])\s*[\[{])"
)
"""A block scalar's indentation or keep indicator; a flow collection as a key (before a ':',
or where a flow mapping's key may be: '{{ .Values.x }}' is one, inside one)."""
_TOKENS: Final = re.compile(
    # each pattern here starts at a separator (a blank or a flow indicator) and a character
    # that may begin one of them, which keeps the scan at about 20 ns a character
    r"[\s\[\]{},](?=[-+.0-9!?&:yYnNoOtTfF=~])(?:"
    + "|".join(
        [
            r"[!?&]",  # a tag; a complex key; an anchor (its aliases: yaml-rs refuses them)
            r":(?=\s|$)",  # an empty key
            r"(?i:yes|no|on|off|y|n|=)(?=[\s\[\]{},#:]|$)",  # YAML 1.1's booleans; value key
            r"(?i:true|false|null|~):(?=\s|$)",  # keys that are not strings
            # shaped like a number, unless an integer or a decimal both read alike, or a
            # version or an address both read as a string
            r"(?![-+]?(?:0|[1-9][0-9]{0,17})(?:\.[0-9]{1,15})?" + _END + ")"
            r"(?![0-9]+(?:\.[0-9]+){2,}" + _END + ")"
            r"(?:[-+]?[0-9_]*\.?[0-9][0-9_]*\.?[0-9_]*(?:[eE][-+]?[0-9]*)?"  # 1_000, 1e3, .5
            r"|[-+]?[0-9][0-9_]*(?::[0-9_]+)+(?:\.[0-9_]*)?"  # 1:30 (base 60)
            r"|[-+]?0[xXoObB][0-9a-fA-F_]*)" + _END,  # 0x1F, 0o17, 0b101
            r"[0-9]{4}-[0-9]{1,2}-[0-9]",  # a date, a time
            r"[-+]?\.(?i:inf|nan)",
        ]
    )
    + ")",
    re.MULTILINE,
)
"""Plain scalars that YAML 1.1 and 1.2 (or PyYAML and yaml-rs) may read otherwise, and the
indicators of what is left to PyYAML: tags, complex and empty keys."""
_LITERALS: Final = ("<<", "\n...", "\n%")
"""A merge key, a document end, a directive."""
_DEEP: Final = re.compile(r"\n[ ?:-]{100}")
"""A line indented or introduced ('- - - ') 100 columns deep."""
_LIMITS: Final = yaml_rs.AliasLimits(max_alias_expansions_per_anchor=0)
"""An alias is left to PyYAML (which bounds its expansion and gives its fields lines)."""
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read(text: str) -> object:
    """The one YAML document in ``text`` as PyYAML's safe loader builds it, or :data:`UNREAD`.

    ``text`` holds at most one document: no '---' line but maybe its first.
    """
    if (
        len(text) > MAX_BYTES
        or _NOT_PRINTABLE.search(text)
        or _TOKENS.search(text)
        or _TOKENS.match("\n" + text[:200])  # a token at the very start
        or _INDICATORS.search(text)
        or any(literal in text for literal in _LITERALS)
        or text.startswith(("...", "%"))
        or text.count("[") + text.count("{") > MAX_FLOWS
        or _DEEP.search(text)
        or _DEEP.match("\n" + text[:100])
    ):
        return UNREAD
    try:
        return yaml_rs.loads(text, parse_datetime=False, alias_limits=_LIMITS)
    except (yaml_rs.YAMLDecodeError, ValueError, TypeError, OverflowError, RecursionError):
        return UNREAD


class Lines:
    """The line of each field of one document read by :func:`read`, found when first asked:
    PyYAML's C parser reads the document's events up to the field (a later question about a
    field not yet seen reads them again: a parser kept waiting holds tens of kilobytes, and a
    set of 10,000 objects has thousands of findings). The same lines, field for field, as the
    loader's walk over PyYAML's nodes records.

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
        """The line of ``path``, or of its nearest parent that the document has: one reading
        of the events up to it, following only the collections on the way (the rest are
        counted through, not walked)."""
        known = self._found.get(path)
        if known is not None:
            return known
        return _nearest(self._text[self.start : self.end], self.base, path)

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


def _events(text: str) -> Iterator[tuple[Any, type]]:
    """The document's events that start a node (a scalar, an alias, a mapping, a sequence)
    or end a collection (then the kind is :data:`_END_EVENT`), from PyYAML's C parser."""
    parser = _Loader(text)
    try:
        while parser.check_event():
            event = parser.get_event()  # type: ignore[no-untyped-call]
            kind = type(event)
            if kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                yield event, _END_EVENT
            elif kind in _NODE_EVENTS:
                yield event, kind
    finally:
        parser.dispose()


_END_EVENT: Final = yaml.CollectionEndEvent
_NODE_EVENTS: Final = frozenset(
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
