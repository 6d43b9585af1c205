"""fastyaml reads a document as PyYAML's safe loader does, or leaves it to PyYAML (issue 19):
whenever :func:`fastyaml.read` gives a document, PyYAML gives an equal one with the same types
and key order, :class:`fastyaml.Lines` gives the lines the loader's walk records, and a whole
file gives the same objects and findings by either way. The texts are generated as YAML text
(not dumped objects), drawn heavily from what YAML 1.1 and 1.2 read otherwise."""

from __future__ import annotations

import re
import time
from unittest import mock

import yaml
from hypothesis import event, example, given
from hypothesis import strategies as st

from pocketid_k8s.check import fastyaml, loader
from pocketid_k8s.check.model import Path
from tests.conftest import ROOT, SHARED

WORDS = ["yes", "no", "on", "off", "y", "n", "true", "false", "null", "nan", "inf"]
"""Words YAML 1.1 or 1.2 read as a bool, a null or a float in some spelling."""
TRICKY = [
    "~", "Null", "NULL", "nULL", "True", "tRUE", "FALSE", "=", "<<", "-", "?", ":", "!", "&a",
    "*a", "!!str 1", "!!int 1", "!custom x", "&a 1", "'1'", '"1"', "|", ">",
    "0", "00", "09", "0777", "-0777", "0o17", "0O17", "0x1F", "0X1f", "-0x1F", "+0x1", "0xFF_FF",
    "0b101", "-0b11", "0b", "0x", "0o", "0b2", "0o8", "0xG", "1_000", "1__0", "_1", "1_",
    "0_1", "1e3", "1E+3", "1e-3", "1.5e3", "1.5e+3", "1.5E-3", "6.8523015e+5",
    "685.230_15e+03", "1.", "1.0", "-1.0", "0.", ".5", "+.5", "-.5", "0.0", "-0.0", "+0.0",
    "-0", "+0", "+1", "-1", ".inf", "-.inf", "+.INF", ".Inf", ".NaN", ".nan", ".NAN",
    "1:30", "-1:30", "190:20:30.15", "1:30.5", "1:70", "12:30:00", "1e", "1.5e", "0.1.2",
    "1.2.3.4", "10.0.0.1", "1-2", "1/2", "1,2", "1#2", "1 #2", "12345678901234567890",
    "123456789012345678", "1234567890123456789", "9223372036854775807",
    "9223372036854775808", "-9223372036854775809", "0.123456789012345",
    "0.1234567890123456789", "123456789012345678.123456789012345", "1e400", "1e-400",
    "1.7976931348623157e308", "2001-12-14", "2001-12-14t21:59:43.10-05:00",
    "2001-12-14 21:59:43.10 -5", "2002-1-1", "2001-12-14T21:59:43Z", "2001-13-45",
    "12:30", "x:y", "a:b", "-a", "-1a", "+", ".", "..", "$x", "%x", "@x", "`x", "{{ .Values.x }}",
    "{{x}}", "{{- include \"x\" . }}", "a b", "a  b", "a#b", "a #b", "x:", "http://a:80/b",
    "v1.2.3", "1.0-rc1", "1.20", "1.2e", "0x", "0.5.", "-", "- x", "? x", "[1, 2]",
    "{a: 1}", "[]", "{}", "[a, [b, {c: d}]]", "{a, b}", "[a: b]", "{a:b}", "[a,]", "é", "\u00a0x",
    "\U0001f600", "\ufffd", "\ue000",
]  # fmt: skip
"""Plain scalars (and a few others) that one of the two libraries may read otherwise."""
ORDINARY = [
    "a", "name", "a b", "a  b c", "a#b", "a-b", "-a", "a,b", "a]b", "a}b", "a'b", 'a"b', "a@b",
    "a`b", "a|b", "a>b", "a!b", "a&b", "a*b", "a?b", "a - b", "a :b", "a%", "x:y", "http://x:80/y",
    "1.2.3", "10.0.0.1", "v1", "123", "-5", "+3", "0.25", "-0.5", "1.0", "3.14159", "100Mi",
    "0.5Gi", "1e", "trueish", "nope", "online", "offset", "yesterday", "nullable", "Y2K", "NaN",
    "inf", "-inf", "Infinity", "é", "\u00a0x", "ünïcödé", "\U0001f600", "/data", "~/x", "x~",
    "=x", "x=", "<x", "<<x", "a<<", "[x", "{x", "$(VAR)", "${VAR}", "50%", "*", "0-1", "1-", "a.",
]  # fmt: skip
"""Plain scalars both libraries read alike, some close to the tricky ones."""
ESCAPES = [
    "\\x41", "\\xe9", "\\x85", "\\u00e9", "\\ud800", "\\udfff", "\\uFFFE", "\\U0001F600",
    "\\U00110000", "\\N", "\\_", "\\L", "\\P", "\\0", "\\a", "\\b", "\\t", "\\\t", "\\n",
    "\\v", "\\f", "\\r", "\\e", "\\ ", '\\"', "\\/", "\\\\", "\\x", "\\q", "\\\n  ", "'",
]  # fmt: skip
"""Escapes in a double-quoted scalar, valid and not."""
ODD = [
    "\t", "\r", "\r\n", "\x85", "\u2028", "\u2029", "\ufeff", "\x00", "\x01", "\x1b", "\x7f",
    "\x80", "\x9f", "\ud7ff", "\ue000", "\ufffe", "\uffff", "\U0001f600", "\xa0", "#", ":",
    " ", "\n", "-", "'", '"', "[", "]", "{", "}", ",", "&", "*", "!", "|", ">", "?", "%", "@",
    "`", "\\", "---", "...", "\n---\n", "\n...\n", "\n%YAML 1.1\n", "<<", "=", "~",
]  # fmt: skip
"""What a mutation inserts: characters PyYAML refuses or reads otherwise, and indicators."""


@st.composite
def cased(draw: st.DrawFn) -> str:
    """One of :data:`WORDS` in any letter case ('yEs', 'TRUE', 'Null'), maybe after a '.'."""
    word = draw(st.sampled_from(WORDS))
    letters = [c.upper() if draw(st.booleans()) else c for c in word]
    return draw(st.sampled_from(["", ".", "-.", "+."])) + "".join(letters)


PLAIN = st.one_of(
    st.sampled_from(ORDINARY),
    st.sampled_from(ORDINARY),
    st.sampled_from(TRICKY),
    cased(),
    st.from_regex(r"[-+]?[0-9_]{0,22}(\.[0-9_]{0,20})?([eE][-+]?[0-9]{0,4})?", fullmatch=True),
    st.from_regex(r"[0-9]{1,4}(:[0-9]{1,2}){1,3}(\.[0-9]{0,3})?", fullmatch=True),
    st.from_regex(
        r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ][0-9]{1,2}:[0-9]{2}(:[0-9]{2})?)?", fullmatch=True
    ),
    st.from_regex(r"[a-z][-a-z0-9./]{0,12}", fullmatch=True),
    st.from_regex(r"[-+]?0[xXoObB][0-9a-fA-F_]{0,6}", fullmatch=True),
)
"""A plain scalar: mostly the tricky ones, some ordinary words and names."""


class _Text:
    """Draws the parts of a YAML text. A wild text has anchors, tags, aliases, complex keys,
    odd characters and mutations; a tame one (most) only what both libraries might read."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.wild = draw(st.integers(0, 3)) == 0

    def pick(self, tame: list[str], wild: list[str]) -> str:
        return self.draw(st.sampled_from(tame + wild if self.wild else tame))

    def quoted(self) -> str:
        """A single- or double-quoted scalar, with escapes, line breaks, odd characters."""
        parts = [PLAIN, PLAIN, st.sampled_from(ESCAPES), st.sampled_from(["\n", " ", "  "])]
        if self.wild:
            parts += [st.sampled_from(ODD), st.text(max_size=4)]
        body = "".join(self.draw(st.lists(st.one_of(parts), max_size=4)))
        if self.draw(st.booleans()):
            return "'" + body.replace("'", self.pick(["''"], ["'"])) + "'"
        return '"' + body.replace('"', self.pick(['\\"'], ['"'])) + '"'

    def scalar(self) -> str:
        """A scalar for a key, a value or a flow entry; a wild one may have an anchor or a
        tag, or be an alias."""
        value = self.quoted() if self.draw(st.integers(0, 3)) == 0 else self.draw(PLAIN)
        return self.pick([""] * 8, ["&a ", "!!str ", "!x ", "*a "]) + value

    def key(self) -> str:
        """A mapping key: a scalar (number, bool, null, quoted), a long one, a complex key,
        an empty one, a flow."""
        choice = self.draw(st.integers(0, 9))
        if choice == 0:
            wild = ["'{{ .Values.x }}'", "", "? a", "? [a]\n", "[a, b]", "{a: b}", "a\n b"]
            wild += ["'a\n  b'", '"a\\\n b"', "a #c\n", "a\n  # c\n b"]  # over two lines
            return self.pick(['"1"', "''", "'a: b'"], wild)
        if choice <= 3:
            name = self.draw(st.from_regex(r"[a-z][a-zA-Z0-9._/-]{0,12}", fullmatch=True))
            return name * self.draw(st.sampled_from([1, 1, 1, 1, 1, 80, 200]))
        return self.scalar()

    def flow(self, depth: int) -> str:
        """A flow sequence or mapping, maybe over several lines, maybe nested."""
        items = []
        for _ in range(self.draw(st.integers(0, 3))):
            nested = depth < 2 and self.draw(st.integers(0, 3)) == 0
            item = self.flow(depth + 1) if nested else self.scalar()
            if self.draw(st.booleans()):
                item = f"{self.key()}:{self.pick([' ', '  '], [''])}{item}"
            items.append(item)
        sep = self.pick([", ", ",", " , ", ",\n  ", ", \n   "], [",\n"])
        end = self.pick(["", "", ",", " "], [",,"])
        body = sep.join(items) + (end if items else "")
        return "[" + body + "]" if self.draw(st.booleans()) else "{" + body + "}"

    def block_scalar(self, indent: int) -> str:
        """A literal or folded block scalar (after its key or dash), its lines at about
        ``indent``."""
        head = self.pick(["|", ">", "|-", ">-", "| # c"], [">+", "|2", ">-1", "|+", "|9"])
        lines = self.draw(st.lists(st.one_of(PLAIN, st.just(""), st.just(" x")), max_size=4))
        pads = [" " * (indent + self.draw(st.sampled_from([0, 0, 0, 1, 2, -1]))) for _ in lines]
        return head + "".join(
            f"\n{pad}{line}" if line else "\n" for pad, line in zip(pads, lines, strict=True)
        )

    def value(self, indent: int, depth: int) -> str:
        """What follows a key's ':' or a dash: an inline scalar, a flow, a block scalar, or
        a nested block collection on the next lines."""
        choice = self.draw(st.integers(0, 9))
        if choice <= 3 or depth >= 4:
            return " " + self.scalar() + self.pick(["", "", "", " # c", "  #: x"], ["# c"])
        if choice == 4:
            return " " + self.flow(0)
        if choice == 5:
            return " " + self.block_scalar(indent + self.draw(st.integers(1, 3)))
        if choice == 6:
            return self.pick(["", " ", " # c"], [])  # null
        if choice == 7:  # a sequence may sit at its key's indentation
            inner = indent + self.draw(st.sampled_from([0, 0, 2]))
            return "\n" + self.sequence(inner, depth + 1)
        return "\n" + self.mapping(indent + self.draw(st.sampled_from([1, 2, 2, 3, 4])), depth + 1)

    def filler(self, indent: int) -> str:
        """Between entries: nothing, a blank line, a comment at some indentation."""
        return self.pick(["", "", "", "\n", "\n# c", f"\n{' ' * indent}# c", "\n  "], [])

    def mapping(self, indent: int, depth: int) -> str:
        pad = " " * indent
        entries = []
        for _ in range(self.draw(st.integers(1, 4))):
            key = self.key()
            entries.append(f"{pad}{key}:{self.value(indent, depth)}{self.filler(indent)}")
        return "\n".join(entries)

    def sequence(self, indent: int, depth: int) -> str:
        pad = " " * indent
        entries = []
        for _ in range(self.draw(st.integers(1, 3))):
            choice = self.draw(st.integers(0, 5))
            if choice == 0 and depth < 4:  # a compact mapping: '- a: 1' then '  b: 2'
                inner = self.mapping(indent + 2, depth + 1)
                entries.append(f"{pad}- {inner[indent + 2 :]}")
            elif choice == 1 and depth < 4:  # a compact sequence: '- - a'
                inner = self.sequence(indent + 2, depth + 1)
                entries.append(f"{pad}- {inner[indent + 2 :]}")
            else:
                entries.append(f"{pad}-{self.value(indent + 1, depth)}")
            entries[-1] += self.filler(indent)
        return "\n".join(entries)

    def document(self) -> str:
        """A block mapping, a sequence, a flow or a scalar, maybe after comments and a '---'
        line."""
        choice = self.draw(st.integers(0, 9))
        if choice <= 5:
            body = self.mapping(self.draw(st.sampled_from([0, 0, 0, 1, 2])), 0)
        elif choice <= 7:
            body = self.sequence(0, 0)
        elif choice == 8:
            body = self.flow(0)
        else:
            body = self.scalar()
        head = self.pick(["", "", "", "---\n", "--- ", "# c\n", "# c\n---\n", "\n\n"], [])
        return head + body + self.pick(["\n", "\n", "", "\n\n", "\n# end\n"], [])

    def mutated(self, text: str) -> str:
        """``text``, if wild, with up to three odd characters or indicators inserted, or
        one line's indentation changed."""
        for _ in range(self.draw(st.integers(0, 3)) if self.wild else 0):
            at = self.draw(st.integers(0, len(text)))
            if self.draw(st.integers(0, 3)) == 0:
                start = text.rfind("\n", 0, at) + 1
                text = text[:start] + self.pick(["", " ", "  ", "\t"], []) + text[start:]
            else:
                text = text[:at] + self.draw(st.sampled_from(ODD)) + text[at:]
        return text


@st.composite
def documents(draw: st.DrawFn) -> str:
    """The text of one YAML document, generated as text."""
    text = _Text(draw)
    return text.mutated(text.document())


# --- the real files, with a scalar replaced --------------------------------------------------


def _real_documents() -> list[str]:
    """The documents of the bundle and the corpus, each cut at its '---' line as the
    loader cuts it."""
    files = sorted((ROOT / "k8s-apps/utilities/pocket-id").glob("*.yaml"))
    files += sorted((SHARED / "corpus/charts").glob("*.yaml"))
    found = []
    for file in files:
        text = file.read_text(encoding="utf-8").removeprefix("\ufeff")
        found += [piece for piece in _cut(text) if _CONTENT.search(piece)]
    return found


_START = re.compile(r"^---(?=[ \t\r\n]|$)", re.MULTILINE)
_CONTENT = re.compile(r"^[ \t]*[^#\s-]", re.MULTILINE)
_SCALAR = re.compile(r"(?<=: )[^\s#][^\n]*$|(?<=- )[^\s#][^\n]*$|^( *)[^\s#:-][^:\n]*(?=:)", re.M)
"""A value after ': ' or '- ', or a key: where a mutation puts a tricky scalar."""


def _cut(text: str) -> list[str]:
    """The text cut at each '---' line, as loader._fast cuts it."""
    starts = [m.start() for m in _START.finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    return [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]


REAL = _real_documents()


@st.composite
def real_documents(draw: st.DrawFn) -> str:
    """A document of the bundle or the corpus with a few scalars replaced by tricky ones."""
    text = draw(st.sampled_from(REAL)) if REAL else "a: b\n"
    spots = list(_SCALAR.finditer(text))
    for _ in range(draw(st.integers(1, 3)) if spots else 0):
        spot = spots[draw(st.integers(0, len(spots) - 1))]
        parts = _Text(draw)
        new = draw(st.sampled_from([parts.scalar(), parts.flow(0), parts.quoted()]))
        indent = spot.group(1) or ""
        text = text[: spot.start()] + indent + new + text[spot.end() :]
        spots = list(_SCALAR.finditer(text))
        if not spots:
            break
    return text


# --- the comparisons ----------------------------------------------------------------------


def typed(value: object) -> object:
    """``value`` with the type of each node spelled out (True is not 1, 1.0 is not 1) and the
    order of each mapping's keys kept; floats by repr (nan equals nan, -0.0 is not 0.0)."""
    if isinstance(value, dict):
        return ("dict", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    return (type(value).__name__, repr(value))


def pyyamls(text: str) -> object:
    """The document as PyYAML's C safe loader builds it (what check used before issue 19)."""
    return yaml.load(text, yaml.CSafeLoader)


def walked(text: str) -> dict[Path, int]:
    """The lines the loader's slow path records, by its walk over PyYAML's nodes."""
    parser = fastyaml.loader()(text)  # PyYAML's C safe loader, as the slow path reads
    try:
        node = parser.get_single_node()
        lines: dict[Path, int] = {}
        if node is not None:
            loader._walk(node, lines, parser, {})
        return lines
    finally:
        parser.dispose()


def one_document(text: str) -> bool:
    """``text`` holds at most one document as the loader hands it to read: no '---' line
    but maybe its first."""
    return not any(m.start() > 0 for m in _START.finditer(text))


@given(st.one_of(documents(), real_documents()))
@example("a: b\u2028c\n")  # PyYAML: a line break (YAML 1.1); yaml-rs: a character
@example("- |\n")  # an empty block scalar last: PyYAML '', yaml-rs '\n'
@example("a: > # c\n  \n")
@example('"1":\n- "1": ""\n  "": ""\n- |\n  a')  # no line break last: PyYAML 'a', yaml-rs 'a\n'
@example("a: |\n  a\n  ")
@example('"1": _0\n')  # yaml-rs drops each '_' of a number: 0; PyYAML: '_0'
@example("[_1.5, 1.5e_3, ._5, 1e3_, _0_]\n")
@example("{a\n b: c}\n")  # a key over two lines: PyYAML an error; yaml-rs {'a b': 'c'}
@example("{x: y,\n 'a\n b': c}\n")
@example("a: {x:}\n")  # PyYAML: "found unexpected ':'"; yaml-rs: {'x': None}
@example("[http://a:, b]\n")
@example('a: {"1":yes}\n')  # PyYAML: {'1': True}; yaml-rs: {'1': 'yes'}
@example('a: |\n  {"replicas":1,"b":"c"}\n')  # JSON in a block scalar: read, and alike
@example("regex: ^https?://x(?::[0-9]+)?(.*)$\n")  # ':[' in block context: read, and alike
def test_read_is_pyyamls(text: str) -> None:
    """A document read fast is the one PyYAML builds: equal, the same types, the same order."""
    if not one_document(text):
        text = _cut(text)[0]
    _read_alike(text)


def _read_alike(text: str) -> None:
    """If read fast, the text's document is PyYAML's: equal, the same types, the same order."""
    fast = fastyaml.read(text)
    event("read fast" if fast is not fastyaml.UNREAD else "left to PyYAML")
    if fast is not fastyaml.UNREAD:
        assert typed(fast) == typed(pyyamls(text)), text


SOUP = "ab1 0.e_:-#'\"[]{},\n\n  |>?&*!%@`\\x~"
"""The characters YAML's structure is made of: indicators, blanks, line breaks, a few others."""


def test_real_documents_read_fast() -> None:
    """Every document of the bundle and the corpus is read fast: the detection is precise."""
    assert [text for text in REAL if fastyaml.read(text) is fastyaml.UNREAD] == []


@given(st.one_of(st.text(max_size=60), st.text(SOUP, max_size=40)))
@example("\u2029")
@example(">\n# *?@'_")  # a block scalar as the document: PyYAML "# *?@'_\n", yaml-rs ''
@example('\n|\n"x_10#:0*')  # PyYAML: an error; yaml-rs: '"x_10#:0*\n'
@example("--- # c\n>\n`_")
@example("[:']")  # PyYAML: an error (':' a value indicator in a flow); yaml-rs: [":'"]
@example("{a: :x}")
@example("{|} ")  # PyYAML: an error (no block scalar in a flow); yaml-rs: {'|': None}
def test_read_any_text(text: str) -> None:
    """Any text at all: read raises nothing, and what it reads is PyYAML's document."""
    text = _cut(text)[0]
    _read_alike(text)


TOKENS = re.compile(fastyaml._TOKENS, re.M)
WHOLE = re.compile("|".join([fastyaml._ADJACENT, fastyaml._INDICATORS, fastyaml._CONTROLS]), re.M)
"""With TOKENS, the patterns as searched over a whole text, which the line-by-line search
stands for."""


@given(st.one_of(documents(), real_documents(), st.text(max_size=60), st.text(SOUP, max_size=40)))
@example("yes")  # at the very start
@example("a:\n:")  # an empty key at a line's start
@example("a: 0777:\n")  # a number as a key, last on its line
@example("x\x85on\n")  # a line break to PyYAML, a blank to the pattern (not split on)
@example("a: |2\n")  # a block scalar's indentation indicator
@example("a: \t\n")  # a tab
@example('{"a":yes}')  # after a quoted key's ':' with no blank (_ADJACENT)
def test_tokens_by_line_are_tokens_in_the_whole_text(text: str) -> None:
    """The tokens found line by line, each line's answer remembered, are those the patterns
    find in the whole text (at its start too): asked twice, the same answer."""
    whole = bool(TOKENS.search(text) or TOKENS.match("\n" + text) or WHOLE.search(text))
    assert fastyaml._has_tokens(text) == whole
    assert fastyaml._has_tokens(text) == whole  # from the lines remembered


@given(st.one_of(documents(), real_documents()))
def test_lines_are_the_walks(text: str) -> None:
    """The lines Lines finds in a document read fast are those the loader's walk records."""
    text = _cut(text)[0]
    if fastyaml.read(text) is fastyaml.UNREAD:
        return
    assert dict(fastyaml.Lines(text, 0).items()) == walked(text), text


@st.composite
def streams(draw: st.DrawFn) -> str:
    """A file of several documents: generated and real ones, '---' lines (some with a
    comment or content after them), comments or a byte order mark before the first."""
    parts = draw(st.lists(st.one_of(documents(), real_documents()), min_size=1, max_size=4))
    head = draw(st.sampled_from(["", "# c\n", "\n# c\n\n", "---\n", "# c\n---\n", "\ufeff"]))
    text = head
    for part in parts:
        if text and not text.endswith("\n"):
            text += "\n"
        if text and not part.startswith("---"):
            text += draw(st.sampled_from(["---\n", "--- # c\n", "---\n\n"]))
        text += part
    return text


def _parsed(text: str, *, fast: bool) -> object:
    """What the loader makes of the file: its objects (document, file, lines), its findings
    (messages with document numbers and lines) and whether it was unreadable."""
    loaded = loader.Loaded()
    if fast:
        loader._parse("f.yaml", text.encode("utf-8", "surrogatepass"), loaded)
    else:
        with mock.patch.object(loader, "_fast", return_value=False):
            loader._parse("f.yaml", text.encode("utf-8", "surrogatepass"), loaded)
    objects = [(typed(r.doc), r.file, sorted(r.lines.items(), key=repr)) for r in loaded.resources]
    return objects, loaded.findings, loaded.unreadable


@given(streams())
@example("apiVersion: v1\nkind: X\n1: a\n'1': b\n")  # one key twice, to the loader's walk
@example("apiVersion: v1\nkind: X\nb: [{+1: 1, '+1': 2}]\n")
@example('\t\n---\n"1": ""\n')  # a tab before the first document: an error to PyYAML
@example("\xa0x\n")  # no document to the fast path ('\\s' took U+00A0 for a blank); ' x'
@example("\t# c\n")  # a tab: an error to PyYAML
def test_file_reads_as_slowly(text: str) -> None:
    """A whole file gives the same objects, lines and findings fast as by PyYAML alone."""
    assert _parsed(text, fast=True) == _parsed(text, fast=False), text


@st.composite
def deep_documents(draw: st.DrawFn) -> str:
    """A document nested as deep as few columns allow: a mapping's sequence at the key's
    column, a sequence's item one column in, compact '- - ', then flows inside flows."""
    lines, column = [], 0
    for _ in range(draw(st.integers(0, 130))):
        pad = " " * column
        step = draw(st.sampled_from(["key", "key", "dash", "dash", "compact"]))
        if step == "key":  # 'k:' then its sequence at the same column
            lines += [f"{pad}k:", f"{pad}-"]
            column += 1
        elif step == "dash":  # '-' then its item one column in
            lines += [f"{pad}-"]
            column += 1
        else:  # '- - ' then its item two columns in
            lines += [f"{pad}- -"]
            column += 4
    flows = draw(st.integers(0, 95))
    opener = draw(st.sampled_from(["[", "{a: ", "[{a: "]))
    closer = {"[": "]", "{a: ": "}", "[{a: ": "}]"}[opener]
    last = " " * column + "x: " + opener * flows + "1" + closer * flows
    return "\n".join([*lines, last]) + "\n"


@given(deep_documents())
@example(  # two levels a column, then 85 flows: 283 levels, which PyYAML's loader refuses
    "".join(f"{' ' * c}k:\n{' ' * c}-\n" for c in range(99))
    + " " * 99
    + "x: "
    + "[" * 85
    + "]" * 85
)
def test_deep_file_reads_as_slowly(text: str) -> None:
    """A deeply nested file gives the same objects and findings fast as by PyYAML alone."""
    assert _parsed(text, fast=True) == _parsed(text, fast=False), text


def test_depth_bound_is_within_the_loaders() -> None:
    """A document read fast nests no deeper than the loader's slow path allows."""
    assert fastyaml.MAX_DEPTH <= loader.MAX_DEPTH


HOSTILE_UNITS = [
    "[", "{", "[a, ", "{a: ", "- ", "  ", "- - ", "k:\n-\n ", "a", "1", "y ", "&a a ", "*a ",
    "|#", "> ", "'", "''", "\"\\", "\\u", "#", ": ", "? ", "k: v\n", "- k: v\n  ", "\n", "---\n",
    "é", "\U0001f600", "_", "0x", "1e", "1:", "2001-01-0", "<<: ",
]  # fmt: skip
"""Pieces a hostile file repeats: openers, indentation, dashes, anchors, quotes, escapes."""


@st.composite
def hostile_texts(draw: st.DrawFn) -> str:
    """A text of up to twice MAX_BYTES, one or two pieces repeated, between a prefix and a
    suffix that may close or key it."""
    units = draw(st.lists(st.sampled_from(HOSTILE_UNITS), min_size=1, max_size=2))
    size = draw(st.sampled_from([100, 10_000, fastyaml.MAX_BYTES - 10, 2 * fastyaml.MAX_BYTES]))
    body = "".join(units) * (size // len("".join(units)))
    head = draw(st.sampled_from(["", "a: ", "- ", "k" * 2000 + ": "]))
    return head + body + draw(st.sampled_from(["", "\n", ": v\n", "]" * 90, "}" * 90]))


LIMIT_SECONDS = 2.0
"""Time one read may take on this busy 2-core machine: yaml-rs reads 256 KiB in about 10 ms."""


@given(hostile_texts())
@example("[" * 90 + "]" * 90)
@example("k" * (fastyaml.MAX_BYTES - 3) + ": v")
@example("a: " + "x" * 4 * 1024 * 1024)
@example("|#" * 100_000)
def test_read_is_bounded(text: str) -> None:
    """A hostile text (deep, long, repetitive, 4 MiB) is read or left within bounded time,
    and what is read is PyYAML's document."""
    started = time.perf_counter()
    fast = fastyaml.read(_cut(text)[0])
    assert time.perf_counter() - started < LIMIT_SECONDS
    if fast is not fastyaml.UNREAD:
        assert typed(fast) == typed(pyyamls(_cut(text)[0]))
