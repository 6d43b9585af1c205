"""The bounded YAML reader of the files the tool reads back: every hostile shape is one
message saying what and where, never a RecursionError, a hang or a ValueError."""

from __future__ import annotations

import msgspec
import pytest

from pocketid_k8s.yamlread import MAX_DEPTH, YamlInputError, load_documents, view

LAUGHS = "l0: &l0 [1, 2, 3, 4, 5, 6, 7, 8, 9]\n" + "".join(
    f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 9)
)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "a: " + "[" * 500 + "]" * 500,
            f"nested more than {MAX_DEPTH} levels deep at line 1, far beyond any Kubernetes object",
        ),
        (
            "metadata: &a\n  <<: *a\n",
            "the alias *a at line 2 refers to a node that contains it, so the document would "
            "never end",
        ),
        ("spec: !!float x\n", "the explicit tag '!!float' at line 1 is not plain Kubernetes YAML"),
        ("port: !!int x\n", "the explicit tag '!!int' at line 1 is not plain Kubernetes YAML"),
        (LAUGHS, "its aliases expand to more than 200000 values or 64 levels"),
        ("a: 2001-02-31\n", "a value that cannot be read (an impossible date"),
        ("a: \x00\n", "the character U+0000 at position 4 is not allowed in YAML"),
        ("a: [\n", "expected the node content, but found '<stream end>' at line 2, column 1"),
    ],
    ids=["deep", "merge-self", "tag-float", "tag-int", "laughs", "date", "nul", "unclosed"],
)
def test_hostile_yaml_is_one_message(text: str, problem: str) -> None:
    """Each hostile input is a YamlInputError whose problem names it (issue 17 item 5)."""
    with pytest.raises(YamlInputError) as caught:
        load_documents(text)
    assert caught.value.problem.startswith(problem)


def test_plain_documents_are_read() -> None:
    """Ordinary YAML, anchors included, reads as PyYAML's safe loader reads it."""
    text = "a: &x {b: 1}\nc: *x\n---\n---\nd: [1, 'two']\n"
    assert load_documents(text) == [{"a": {"b": 1}, "c": {"b": 1}}, {"d": [1, "two"]}]


class _Shape(msgspec.Struct):
    spec: dict[str, list[str]] | None = None


def test_a_field_of_another_shape_names_its_path_and_both_types() -> None:
    """view() says where the field is, what it is and what is expected."""
    with pytest.raises(YamlInputError) as caught:
        view({"spec": {"items": [1]}}, _Shape)
    assert caught.value.problem == "spec.<a key>[0] is an integer, where a string is expected"
