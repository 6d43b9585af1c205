"""jsonschema-rs's errors, told by fastschema, are jsonschema's: the same paths, the same
messages, in the same order, on objects of the bundle broken at random (issue 19)."""

from __future__ import annotations

import copy
from typing import Any, cast

import jsonschema
import yaml
from hypothesis import example, given
from hypothesis import strategies as st
from referencing import Registry, Resource

from pocketid_k8s.check.fastschema import Fallback
from pocketid_k8s.check.model import Path
from pocketid_k8s.check.schema import SchemaChecker
from tests.conftest import ROOT

BUNDLE = ROOT / "k8s-apps/utilities/pocket-id"
CHECKER = SchemaChecker("1.32", None)
DOCUMENTS = [
    doc
    for file in sorted(BUNDLE.glob("*.yaml"))
    for doc in yaml.safe_load_all(file.read_text())
    if doc and CHECKER._core_file(doc["kind"], doc["apiVersion"])
]
"""The bundle's objects of core kinds (the ones with Kubernetes' own schemas)."""
VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(node: object, path: Path = ()) -> list[Path]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


def _jsonschema(checker: SchemaChecker, doc: dict[str, Any]) -> list[tuple[Path, str]]:
    """jsonschema's own errors on ``doc``, sorted by path as check sorts them."""
    path = checker._core_file(doc["kind"], doc["apiVersion"])
    assert path is not None
    kind = checker._core_validator(path, doc["kind"], doc["apiVersion"])
    shared = kind._shared
    registry = Resource.from_contents(shared) @ Registry()
    registry = Resource.from_contents(kind._schema) @ registry
    validator = jsonschema.Draft202012Validator(kind._schema, registry=registry)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    return [(tuple(e.absolute_path), e.message) for e in errors]


@given(
    index=st.integers(0, len(DOCUMENTS) - 1),
    edits=st.lists(
        st.tuples(st.integers(0, 10**6), st.sampled_from(["set", "drop", "add"]), VALUES),
        min_size=1,
        max_size=4,
    ),
)
@example(index=0, edits=[(0, "add", 1)])
@example(index=7, edits=[(602930, "set", {"": False})])  # jsonschema-rs drops an empty key
def test_fast_errors_are_jsonschema_errors(
    index: int, edits: list[tuple[int, str, object]]
) -> None:
    """A broken object's errors from jsonschema-rs, in jsonschema's words, are jsonschema's."""
    doc = copy.deepcopy(DOCUMENTS[index])
    for where, how, value in edits:
        paths = _paths(doc)
        path = paths[where % len(paths)]
        if not path:
            continue
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        if how == "set":
            parent[path[-1]] = value
        elif how == "drop":
            del parent[path[-1]]
        elif isinstance(parent[path[-1]], dict):
            parent[path[-1]][f"x{where}"] = value
    if not isinstance(doc.get("kind"), str) or not isinstance(doc.get("apiVersion"), str):
        return
    file = CHECKER._core_file(doc["kind"], doc["apiVersion"])
    if file is None:
        return
    kind = CHECKER._core_validator(file, doc["kind"], doc["apiVersion"])
    assert kind._fast is not None
    try:
        fast = kind._fast.errors(doc)
    except Fallback:
        return  # check asks jsonschema itself
    assert fast == _jsonschema(CHECKER, cast("dict[str, Any]", doc))
