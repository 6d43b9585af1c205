"""The quick line scan (:func:`fastyaml._quick`) gives the parser's line or none: on any block
document, valid or not, it answers None or what :func:`fastyaml._nearest` answers, and None
where PyYAML refuses the text before the answer. It does answer on real manifests' common
paths, so it is not a scan that always refuses. Issue 19."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from pocketid_k8s.check import fastyaml
from pocketid_k8s.check.model import Path
from tests.test_fuzz_lines import DOCUMENTS, _walked

KEYS = [
    ("name", "name"), ("namespace", "namespace"), ("names", "names"), ("nam", "nam"),
    ("image", "image"), ("containers", "containers"), ("a", "a"), ("0", "0"), ("on", "on"),
    ("x.y/z", "x.y/z"), ('"name"', "name"), ("'name'", "name"), ("'it''s'", "it's"),
    ('"a b: #c"', "a b: #c"),
]  # fmt: skip
"""Keys as written and their text: some the prefix of another ('name', 'namespace'), some not
strings to YAML 1.1, some quoted."""
ODD_KEYS = [
    ("? name\n:", "name"), ("name ", "name"), ("a b", "a b"), ("&k name", "name"),
    ("!!str name", "name"), ("<<", "<<"), ("-a", "-a"), ('"a\\"b"', 'a"b'), ("'a", "a"),
    ('"a\\tb"', "a\tb"),
]  # fmt: skip
"""Keys a line scan must not take for a plain or a simply quoted one: complex, anchored,
tagged, escaped, left open..."""
SCALARS = [
    "x", "pid-0", "ghcr.io/a/b:v1", "a#b", "a b", "1", "~", "-1", "'a: b # c'", '"x: #y"',
    "'it''s'", '"q \\" q"', "'a'  # c", "x # name: y", "''", '""', "http://a:80/b", "é",
    "[a, b]", "['x:1', \"y\"]", "[]", "[ ]", "{}", "{ } # c",
]  # fmt: skip
"""Values that start and end on their line, quoted ones holding ': ' and '#', flows."""
ODD_SCALARS = [
    "|", ">-", "|2", "[a, b]", "{name: x}", "[a,", "{a: b,", "&a x", "*a", "!!str x", "'open",
    '"open', '"a\\', "a: b", "- x", "x:", "? x", "`x", "@x", "%x", "'a' b", '"\\q"', "a\tb",
    "a\u2028b", "{{ .Values.x }}", "[a,]", "[a: b]", "[a, [b]]", "[a #c]", "[http://x]",
    "[a]x", "{}x", "[a]: b", "[x:]", "[a:, b]", "[a:b:]",
]  # fmt: skip
"""Values that are not one scalar on one line: block scalars, flows, anchors, aliases, tags,
quoted scalars left open, errors."""
CONTINUATIONS = ["name: y", "- z", "more", "namespace: w", "# c", "", "  deeper: v", "'q'"]
"""Lines under a value, more indented: a block scalar's text that looks like keys, a
multi-line plain scalar's next words, or an error."""
STRAY = [
    "...", "---", "--- a", "? x", ": y", "- - a", "-", "\ta: b", "%YAML 1.1", "a: b\r", "'open",
    '"open', "\t",
]  # fmt: skip
"""Lines dropped anywhere: document markers, complex keys, nested sequences, tabs."""
RAISED = object()
"""PyYAML refused the text before it reached the path."""


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, list[Path]]:
    """A block-style document as text, with the paths of its nodes (as they were written)."""
    lines: list[str] = []
    paths: list[Path] = [()]
    odd = draw(st.booleans())

    def scalar() -> str:
        pool = SCALARS + ODD_SCALARS if odd else SCALARS
        return draw(st.sampled_from(pool))

    def mapping(column: int, path: Path, depth: int, first: str | None = None) -> None:
        for number in range(draw(st.integers(1, 4))):
            keys = KEYS + ODD_KEYS if odd else KEYS
            written, key = draw(st.sampled_from(keys))
            lead = first if first is not None and number == 0 else " " * column
            paths.append((*path, key))
            value(column, lead + written + ":", (*path, key), depth)
            filler(column)

    def sequence(column: int, path: Path, depth: int) -> None:
        for index in range(draw(st.integers(1, 3))):
            dash = " " * column + draw(st.sampled_from(["- ", "- ", "-  ", "-", "- - "]))
            paths.append((*path, index))
            if depth > 0 and draw(st.booleans()):
                mapping(len(dash), (*path, index), depth - 1, first=dash)
            else:
                lines.append(dash + scalar())
                continuation(column + 1)
            filler(column)

    def value(column: int, head: str, path: Path, depth: int) -> None:
        shape = draw(st.sampled_from(["scalar", "mapping", "sequence", "empty", "below"]))
        if depth <= 0 or shape == "scalar":
            lines.append(head + " " + scalar())
            continuation(column + 1)
        elif shape == "below":  # the value on the next line, more indented
            lines.extend([head, " " * (column + draw(st.integers(0, 3))) + scalar()])
            continuation(column + 1)
        elif shape == "empty":
            lines.append(head + draw(st.sampled_from(["", " # c", "  "])))
        elif shape == "mapping":
            lines.append(head)
            filler(column)
            mapping(column + draw(st.sampled_from([2, 2, 1, 4])), path, depth - 1)
        else:
            lines.append(head)
            sequence(column + draw(st.sampled_from([0, 2, 2, 3])), path, depth - 1)

    def continuation(column: int) -> None:
        if odd and draw(st.integers(0, 4)) == 0:
            indent = " " * (column + draw(st.integers(0, 3)))
            lines.append(indent + draw(st.sampled_from(CONTINUATIONS)))

    def filler(column: int) -> None:
        if draw(st.integers(0, 3)) == 0:
            lines.append(draw(st.sampled_from(["", " " * column + "# name: x", "   ", "#"])))

    heads = [[], ["---"], ["# c", "---"], ["--- # c"], ["# a: b"], [" ", "# a\tb", "---  ", "#"]]
    if odd:
        heads += [["\t# c"], ["---", "---"], ["---#c"], ["# c\r"], ["%YAML 1.1", "---"]]
    lines.extend(draw(st.sampled_from(heads)))
    if draw(st.booleans()):
        sequence(draw(st.sampled_from([0, 0, 2])), (), 3)
    else:
        mapping(draw(st.sampled_from([0, 0, 1])), (), 3)
    if odd and lines:
        for _ in range(draw(st.integers(0, 2))):  # a stray line, or one at another indentation
            at = draw(st.integers(0, len(lines) - 1))
            if draw(st.booleans()):
                indent = " " * draw(st.sampled_from([0, 0, 0, 1, 2, 4]))
                lines.insert(at, indent + draw(st.sampled_from(STRAY)))
            else:
                lines[at] = " " * draw(st.integers(1, 2)) + lines[at]
    ending = draw(st.sampled_from(["\n", "", "\n\n", "\n# end\n"]))
    return "\n".join(lines) + ending, paths


def _nearest(text: str, base: int, path: Path) -> object:
    """The parser's answer, or :data:`RAISED`."""
    try:
        return fastyaml._nearest(text, base, path)
    except yaml.YAMLError:
        return RAISED


def _asked(paths: list[Path]) -> list[Path]:
    """Each path written, and one past each: a missing key, an index, one past the last."""
    asked = set(paths)
    for path in paths:
        asked |= {(*path, "absent"), (*path, "nam"), (*path, 0), (*path, 1), (*path, 99)}
    return sorted(asked, key=repr)


def _holds(text: str, paths: list[Path]) -> None:
    for path in _asked(paths):
        expected = _nearest(text, 5, path)
        quick = fastyaml._quick(text, 5, path)
        if expected is RAISED:
            assert quick is None, (text, path)
        else:
            assert quick in (None, expected), (text, path, expected)


@given(documents())
@example(("a:\n- x\nb:\n- y\n", [("a", 1)]))  # the line after the answer: read as it is
@example(("a: x\n\tb: 1\n", [("a",)]))  # PyYAML's scanner reads the tab on the next line
@example(("a: 1\n---\nb: 2\n", [("b",)]))  # a second document: 'b' is not in the first
@example(("a: 1\n- x\n", [("b",)]))  # an entry in a mapping: an error
@example(("a:\n  - x\n  b: 1\nc: 2\n", [("c",)]))  # a key in a sequence: an error
@example(("a: \u00e9t\u00e9\nb: 1\n", [("b",)]))  # printable past ASCII: read on
@example(("a: x\x85y\nb: 1\n", [("b",)]))  # NEL: a line break to PyYAML
@example(("a: x\u2029y\nb: 1\n", [("b",)]))  # a paragraph separator: a line break too
@example(("# \x01\na: 1\n", [("a",)]))  # a control in a comment: PyYAML refuses the text
@example(("a: \ufeffx\nb: 1\n", [("b",)]))  # a byte order mark inside: refused
def test_fuzz_the_quick_scan_answers_as_the_parser_or_not_at_all(
    document: tuple[str, list[Path]],
) -> None:
    """On a generated block document, any path's quick line is None or the parser's line."""
    _holds(*document)


@pytest.mark.parametrize("document", DOCUMENTS)
def test_the_quick_scan_answers_every_field_of_the_real_documents(document: str) -> None:
    """Each field of a real manifest, and one under it that is not there, is answered by the
    scan (not left to the parser), on the line the loader's walk records."""
    walked = fastyaml.Lines(document, 3)
    for path in dict(walked.items()):
        for asked in (path, (*path, "absent"), (*path, 0)):
            assert fastyaml._quick(document, 3, asked) == _walked(walked, asked), asked
