"""A finding's line, asked of a document read the fast way, is the line the loader's walk
records: for a field it has, and for one it does not (then its nearest parent's). Issue 19."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pocketid_k8s.check import fastyaml
from pocketid_k8s.check.model import Path as FieldPath
from pocketid_k8s.check.model import Resource
from tests.conftest import ROOT, SHARED

TEXTS = [
    path.read_text()
    for path in sorted((ROOT / "k8s-apps/utilities/pocket-id").glob("*.yaml"))
    + sorted((SHARED / "corpus/charts").glob("*.yaml"))
]
DOCUMENTS = [
    document
    for text in TEXTS
    for document in text.split("\n---\n")
    if fastyaml.read(document) is not fastyaml.UNREAD
]


def _walked(lines: fastyaml.Lines, path: FieldPath) -> int | None:
    """The line as the loader's own lines give it: the deepest prefix of ``path`` recorded."""
    recorded = dict(lines.items())
    for end in range(len(path), -1, -1):
        if path[:end] in recorded:
            return recorded[path[:end]]
    return None


def test_the_documents_are_many() -> None:
    """The bundle and the corpus give the property test plenty of fast-read documents."""
    assert len(DOCUMENTS) > 60


@pytest.mark.parametrize("document", DOCUMENTS[::4])
def test_every_field_and_one_past_it_has_the_walks_line(document: str) -> None:
    """Each field of a real document, and a field under it that is not there, on its line."""
    walked = fastyaml.Lines(document, 3)
    for path in dict(walked.items()):
        for asked in (path, (*path, "absent"), (*path, 0), (*path, 99)):
            assert fastyaml.Lines(document, 3).nearest(asked) == _walked(walked, asked), asked


@given(
    st.sampled_from(DOCUMENTS),
    st.lists(
        st.one_of(
            st.sampled_from(["metadata", "spec", "name", "template", "containers", "ports"]),
            st.sampled_from(["", "0", "image", "labels", "env", "x"]),
            st.integers(min_value=0, max_value=3),
        ),
        max_size=7,
    ),
)
@example(DOCUMENTS[0], [])
def test_any_path_has_the_walks_line(document: str, path: list[str | int]) -> None:
    """Any path asked, in any document: the same line (or none) as the walk's."""
    asked = tuple(path)
    assert fastyaml.Lines(document, 0).nearest(asked) == _walked(fastyaml.Lines(document, 0), asked)


def test_a_resource_asks_the_nearest_line(tmp_path: Path) -> None:
    """Resource.line of a fast-read document gives the parent's line for a missing field."""
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n"
    resource = Resource({"kind": "ConfigMap"}, str(tmp_path / "a.yaml"), fastyaml.Lines(text, 10))
    assert resource.line(("data", "k")) == 16
    assert resource.line(("data", "missing", 0)) == 16
    assert resource.line(("metadata", "name")) == 14
    assert resource.line(()) == 11
