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
from tests.test_fuzz_lines import DOCUMENTS

KEYS = ["name", "namespace", "names", "nam", "image", "spec", "containers", "a", "0", "on", "x.y/z"]
"""Keys, some the prefix of another ('name', 'namespace'), some not strings to YAML 1.1."""
ODD_KEYS = ['"name"', "'name'", "? name\n:", "name ", "a b", "&k name", "!!str name", "<<", "-a"]
"""Keys a line scan must not take for a plain one (quoted, complex, anchored, tagged...)."""
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
    "[a]x", "{}x", "[a]: b",
]  # fmt: skip
"""Values that are not one scalar on one line: block scalars, flows, anchors, aliases, tags,
quoted scalars left open, errors."""
CONTINUATIONS = ["name: y", "- z", "more", "namespace: w", "# c", "", "  deeper: v", "'q'"]
"""Lines under a value, more indented: a block scalar's text that looks like keys, a
multi-line plain scalar's next words, or an error."""
STRAY = ["...", "---", "--- a", "? x", ": y", "- - a", "-", "\ta: b", "%YAML 1.1", "a: b\r"]
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
            key = draw(st.sampled_from(keys))
            lead = first if first is not None and number == 0 else " " * column
            paths.append((*path, key))
            value(column, lead + key + ":", (*path, key), depth)
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

    lines.extend(draw(st.sampled_from([[], ["---"], ["# c", "---"], ["--- # c"], ["# a: b"]])))
    if draw(st.booleans()):
        sequence(draw(st.sampled_from([0, 0, 2])), (), 3)
    else:
        mapping(draw(st.sampled_from([0, 0, 1])), (), 3)
    if odd and lines:
        for _ in range(draw(st.integers(0, 2))):  # a stray line, or one at another indentation
            at = draw(st.integers(0, len(lines) - 1))
            if draw(st.booleans()):
                lines.insert(at, " " * draw(st.integers(0, 4)) + draw(st.sampled_from(STRAY)))
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
@example(("a:\n- x\nb:\n- y\n", [("a", 1)]))  # the next line after the answer is read as it is
def test_fuzz_the_quick_scan_answers_as_the_parser_or_not_at_all(
    document: tuple[str, list[Path]],
) -> None:
    """On a generated block document, any path's quick line is None or the parser's line."""
    _holds(*document)


@pytest.mark.parametrize(
    "path",
    [(), ("kind",), ("metadata", "name"), ("metadata", "namespace"), ("metadata", "labels")],
)
def test_the_quick_scan_answers_on_the_real_documents(path: Path) -> None:
    """Real manifests' common paths are answered by the scan, with the parser's line."""
    answered = [fastyaml._quick(document, 0, path) for document in DOCUMENTS]
    assert answered == [fastyaml._nearest(document, 0, path) for document in DOCUMENTS]
