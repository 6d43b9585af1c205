"""One bounded YAML reader for the files the tool reads back (sealedsecret.yaml, AppProject)
and for the kubeconfig.

PyYAML's safe loader trusts its input in ways a file from anywhere must not be
trusted: its composer recurses once per nesting level (a few hundred ``[`` end
in RecursionError), an alias may point into the node that holds it (a merge key
that includes itself never ends), a few aliases can stand for billions of
nodes, and an explicit tag on a value that does not fit it (``!!float x``,
``!!int x``) raises a plain ValueError. Here each of those is one
:class:`YamlInputError` saying what is wrong and where, before anything is built:

* nesting deeper than :data:`MAX_DEPTH`;
* an alias to a node that contains it, or aliases expanding past :data:`MAX_NODES`;
* any explicit tag (these files are plain Kubernetes YAML, which needs none).

Callers then read a document through :func:`view`, a msgspec Struct of the
fields they use with the types they use them as: a field of another shape is
one message naming its path and both types, never a crash further on.
"""

from __future__ import annotations

import re
from typing import Any, Final, TypeVar

import msgspec
import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent, MappingStartEvent, ScalarEvent, SequenceStartEvent
from yaml.nodes import CollectionNode, MappingNode, Node

__all__ = ["MAX_DEPTH", "MAX_NODES", "YamlInputError", "load_documents", "view"]

MAX_DEPTH: Final = 64
"""Far deeper than any Kubernetes object (a Deployment is about 12 levels)."""
MAX_NODES: Final = 200_000
"""Nodes per document once aliases are expanded: a 1 MiB object has far fewer."""
_PLAIN_TAGS: Final = frozenset({"!", "?"})
T = TypeVar("T")


class YamlInputError(Exception):
    """The text is not YAML this tool reads back; ``problem`` says why, in a user's words."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


class _BoundedLoader(yaml.SafeLoader):
    """The safe loader with a depth limit, no recursive aliases and no explicit tags."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._open: set[str] = set()

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:  # noqa: ANN401
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, AliasEvent):
            if event.anchor in self._open:
                raise YamlInputError(
                    f"the alias *{event.anchor}{_line(event)} refers to a node that contains "
                    "it, so the document would never end"
                )
            return Composer.compose_node(self, parent, index)
        if isinstance(event, ScalarEvent | SequenceStartEvent | MappingStartEvent):
            tag = event.tag
            implicit = event.implicit[0] if isinstance(event, ScalarEvent) else event.implicit
            if tag is not None and tag not in _PLAIN_TAGS and not implicit:
                shown = tag.replace("tag:yaml.org,2002:", "!!")
                raise YamlInputError(
                    f"the explicit tag {shown!r}{_line(event)} is not plain Kubernetes YAML "
                    "(no object needs one)"
                )
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise YamlInputError(
                f"nested more than {MAX_DEPTH} levels deep{_line(event)}, far beyond any "
                "Kubernetes object"
            )
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self._open.add(anchor)
        try:
            return Composer.compose_node(self, parent, index)
        finally:
            self._depth -= 1
            if anchor is not None:
                self._open.discard(anchor)


def _line(event: yaml.Event) -> str:
    mark = event.start_mark
    return f" at line {mark.line + 1}" if mark is not None else ""


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, CollectionNode):
        return list(node.value)
    return []


def _expanded(root: Node) -> tuple[int, int]:
    """(nodes, depth) of ``root`` with every alias expanded, without recursion; stops counting
    past the limits. The graph has no cycle (the composer refused recursive aliases)."""
    sizes: dict[int, tuple[int, int]] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if not done:
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
            continue
        size, depth = 1, 0
        for child in children:
            child_size, child_depth = sizes[id(child)]
            size, depth = min(size + child_size, MAX_NODES + 1), max(depth, child_depth)
        sizes[id(node)] = (size, min(depth + 1, MAX_DEPTH * 4))
    return sizes[id(root)]


def _problem(exc: yaml.YAMLError) -> str:
    """What PyYAML found and where, without its snippet of the file (it may quote a key)."""
    if isinstance(exc, yaml.reader.ReaderError):
        char = exc.character
        shown = f"U+{char:04X}" if isinstance(char, int) else repr(char)
        return f"the character {shown} at position {exc.position + 1} is not allowed in YAML"
    problem = getattr(exc, "problem", None) or type(exc).__name__
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{problem}{where}"


def load_documents(text: str) -> list[object]:
    """The documents in ``text`` (empty ones left out), or :class:`YamlInputError`."""
    documents: list[object] = []
    try:
        loader = _BoundedLoader(text)  # its reader refuses unprintable characters at once
    except yaml.YAMLError as exc:
        raise YamlInputError(_problem(exc)) from None
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # pragma: no cover - check_node said there is one
                continue
            size, depth = _expanded(node)
            if size > MAX_NODES or depth > MAX_DEPTH:
                raise YamlInputError(
                    f"its aliases expand to more than {MAX_NODES} values or {MAX_DEPTH} levels, "
                    "far beyond any Kubernetes object"
                )
            document = loader.construct_document(node)
            if document is not None:
                documents.append(document)
    except yaml.YAMLError as exc:
        raise YamlInputError(_problem(exc)) from None
    except (ValueError, TypeError, OverflowError):
        # a resolved value PyYAML cannot build (a timestamp out of range, an int too long)
        raise YamlInputError(
            "a value that cannot be read (an impossible date, or a number too long)"
        ) from None
    finally:
        loader.dispose()
    return documents


_SHAPE: Final = re.compile(
    r"^Expected `(?P<want>[^`]+)`, got `(?P<got>[^`]+)`(?: - at `\$(?P<at>[^`]*)`)?$"
)
_TYPE_WORDS: Final = {
    "object": "a mapping",
    "array": "a list",
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "null": "empty",
}


def _words(types: str) -> str:
    return " or ".join(_TYPE_WORDS.get(t.strip(), t.strip()) for t in types.split("|"))


def view(document: object, shape: type[T]) -> T:
    """``document`` read as ``shape`` (a msgspec Struct), or :class:`YamlInputError` naming
    the field, the type found and the type expected."""
    try:
        return msgspec.convert(document, shape, strict=True)
    except msgspec.ValidationError as exc:
        match = _SHAPE.match(str(exc))
        if match is None:
            raise YamlInputError(str(exc).replace("`", "'")) from None
        at = (match["at"] or "").lstrip(".").replace("[...]", ".<a key>") or "the document"
        raise YamlInputError(
            f"{at} is {_words(match['got'])}, where {_words(match['want'])} is expected"
        ) from None
