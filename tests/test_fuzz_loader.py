"""check's loader builds each document as PyYAML's safe loader does (issue 19): the same
tags, values, types and key order, or it leaves the document to that loader's constructor."""

from __future__ import annotations

import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from pocketid_k8s.check.fastyaml import loader as pyyaml_loader
from pocketid_k8s.check.loader import _DOCUMENT_MARKER, _UNBUILT, _last_marker, _walk

PLAIN = st.sampled_from(
    [
        "~", "null", "yes", "No", "on", "true", "0x1F", "0o17", "017", "1_000", "+12", "-0",
        "1.5e3", ".nan", "-.inf", "1:30:00", "2001-12-14", "2001-12-14t21:59:43.10-05:00",
        "'quoted'", '"x\\ty"', "!!str 12", "!!int '7'", "!!float 1", "!!binary aGk=",
        "!custom x", "!!int x", "<<", "=", "&a 1", "*a", "[1, 2]", "{a: 1}", "- 3", "a b",
    ]
)  # fmt: skip
KEYS = st.sampled_from(["a", "b", "a", "1", "<<", "~", "yes", "? [1]", "x: y", "!!int 3"])


def _text(draw: st.DrawFn, depth: int) -> str:
    """A YAML block mapping at ``depth``, of tricky scalars and nested mappings."""
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        key = draw(KEYS)
        pad = "  " * depth
        if depth < 3 and draw(st.booleans()):
            lines.append(f"{pad}{key}:\n{_text(draw, depth + 1)}")
        else:
            lines.append(f"{pad}{key}: {draw(PLAIN)}")
    return "\n".join(lines)


@st.composite
def documents(draw: st.DrawFn) -> str:
    return _text(draw, 0) + "\n"


@given(documents())
@example("a: &a {b: 1}\nc: *a\n")
@example("a: 1\na: 2\nb: [1, {c: ~}]\n")
def test_built_document_is_pyyamls(text: str) -> None:
    """A document _walk builds equals the one PyYAML's constructor builds, key order too."""
    loader = pyyaml_loader()(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError:
        return
    finally:
        loader.dispose()
    if node is None:
        return
    built = _walk(node, {}, pyyaml_loader()(""), {})[1]
    if built is _UNBUILT:
        return
    reference = yaml.SafeLoader(text)
    try:
        expected = reference.get_single_data()
    finally:
        reference.dispose()
    assert repr(built) == repr(expected)


@given(st.binary(max_size=60).map(lambda b: bytes(b" -.\n\r\tx"[c % 7] for c in b)), st.data())
@example(b"----\n--- x\n...", None)
def test_the_last_document_marker_is_the_patterns(data: bytes, draw: st.DataObject | None) -> None:
    """The reader finds the last '---' or '...' line of what it has read by rfind: the one the
    document marker's pattern finds last, from any start, or the one found before."""
    start = draw.draw(st.integers(0, len(data))) if draw else 0
    found = [m.start() for m in _DOCUMENT_MARKER.finditer(data, start)]
    assert _last_marker(bytearray(data), start, -1) == (found[-1] if found else -1)
