"""Schema validation by jsonschema-rs (Rust: about 50x faster than jsonschema), its errors
told in jsonschema's words and order, so that a finding reads the same whichever validates.

Each error's message is made from the keyword's value in the schema (found by the error's
keyword location) and the instance in the document, with jsonschema's own sentence for that
keyword. Where that cannot be done exactly (a keyword without a sentence here, two errors at
one path from different parts of the schema, a document that is not plain JSON: NaN, a date,
a key that is not a string), :class:`Fallback` says so and the caller asks jsonschema.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping
from typing import Any, Final
from urllib.parse import unquote

import jsonschema_rs

from pocketid_k8s.check.model import Path


class Fallback(Exception):
    """jsonschema-rs cannot tell this document's errors as jsonschema does."""


Located = tuple[Path, str]
"""An error: the instance's path and jsonschema's message for it."""
_Sentence = Callable[[object, object, Mapping[str, object]], str]
"""jsonschema's message from (the instance, the keyword's value, the schema object)."""


def _sized(short: str, *, smaller: bool) -> _Sentence:
    """minLength, minItems, minProperties (``smaller``: the instance has too few) and their
    max kin, whose ``short`` words give way to jsonschema's at the edge (1 or 0)."""

    def message(instance: object, limit: object, _schema: Mapping[str, object]) -> str:
        edge = 1 if smaller else 0
        if limit == edge:
            said = "should be non-empty" if smaller else "is expected to be empty"
        else:
            said = short
        return f"{instance!r} {said}"

    return message


def _type(instance: object, types: object, _schema: Mapping[str, object]) -> str:
    listed = types if isinstance(types, list) else [types]
    return f"{instance!r} is not of type {', '.join(repr(t) for t in listed)}"


_SENTENCES: Final[dict[str, _Sentence]] = {
    "type": _type,
    "enum": lambda i, v, _: f"{i!r} is not one of {v!r}",
    "const": lambda _i, v, _: f"{v!r} was expected",
    "pattern": lambda i, v, _: f"{i!r} does not match {v!r}",
    "minLength": _sized("is too short", smaller=True),
    "minItems": _sized("is too short", smaller=True),
    "maxLength": _sized("is too long", smaller=False),
    "maxItems": _sized("is too long", smaller=False),
    "minProperties": _sized("does not have enough properties", smaller=True),
    "maxProperties": _sized("has too many properties", smaller=False),
    "minimum": lambda i, v, _: f"{i!r} is less than the minimum of {v!r}",
    "maximum": lambda i, v, _: f"{i!r} is greater than the maximum of {v!r}",
    "exclusiveMinimum": lambda i, v, _: f"{i!r} is less than or equal to the minimum of {v!r}",
    "exclusiveMaximum": lambda i, v, _: f"{i!r} is greater than or equal to the maximum of {v!r}",
    "multipleOf": lambda i, v, _: f"{i!r} is not a multiple of {v}",
    "uniqueItems": lambda i, _v, _: f"{i!r} has non-unique elements",
    "anyOf": lambda i, _v, _: f"{i!r} is not valid under any of the given schemas",
    "not": lambda i, v, _: f"{i!r} should not be valid under {v!r}",
}
"""jsonschema's sentence per keyword (jsonschema/_keywords.py), from (instance, the keyword's
value, the schema object holding it)."""
_KIND_OF: Final = {"const": "constant"}
"""jsonschema-rs's error kind (lower case) of a keyword, where it is not the keyword's name."""


class FastValidator:
    """One schema compiled by jsonschema-rs; ``documents`` are the schema documents by URI
    (the schema itself and what its $refs reach), to read a failing keyword's value."""

    def __init__(
        self,
        schema: dict[str, Any],
        documents: Mapping[str, Any],
        registry: jsonschema_rs.Registry | None,
    ) -> None:
        self._root = schema
        self._documents = documents
        try:
            self._validator = jsonschema_rs.validator_for(schema, registry=registry)
        except (ValueError, jsonschema_rs.ReferencingError) as exc:
            raise Fallback(str(exc)) from None

    def errors(self, doc: Mapping[str, object]) -> list[Located]:
        """The document's errors as jsonschema would list them, sorted by path."""
        try:
            if self._validator.is_valid(doc):  # most are: then there is nothing to tell
                return []
            json.dumps(doc, allow_nan=False)  # NaN, dates, bytes: not plain JSON
            raw = list(self._validator.iter_errors(doc))
        except (ValueError, TypeError, OverflowError, RecursionError):
            raise Fallback("not plain JSON") from None
        found: list[tuple[list[str], str, int, int, Path, str]] = []
        for error in raw:
            path: Path = tuple(error.instance_path)
            holder, keyword, value = self._keyword(error)
            name = type(error.kind).__name__
            instance = _at(doc, path)
            if instance != error.instance:  # an empty key is left out of the path
                raise Fallback("the path does not lead to the instance")
            position = list(holder).index(keyword) if keyword in holder else -1
            order = 0
            if name == "Required" and keyword == "required" and isinstance(value, list):
                wanted = error.kind.as_dict().get("property")
                message = f"{wanted!r} is a required property"
                order = value.index(wanted) if wanted in value else -1
            elif name == "AdditionalProperties" and value is False:
                extras = sorted(error.kind.as_dict().get("unexpected", []), key=str)
                message = _additional(extras, holder)
            elif name == "OneOfNotValid" and keyword == "oneOf":
                message = f"{instance!r} is not valid under any of the given schemas"
            elif keyword in _SENTENCES and name.lower() == _KIND_OF.get(keyword, keyword.lower()):
                message = _SENTENCES[keyword](instance, value, holder)
            else:
                raise Fallback(f"no sentence for {name}")
            parent = (error.absolute_keyword_location or "").rpartition("/")[0] or str(
                list(error.schema_path)[:-1]
            )
            found.append((list(map(str, path)), parent, position, order, path, message))
        found.sort(key=lambda item: item[0])
        for first, second in itertools.pairwise(found):
            if first[0] == second[0] and first[1] != second[1]:
                raise Fallback("two parts of the schema fail at one path")
        found.sort(key=lambda item: (item[0], item[2], item[3]))
        return [(item[4], item[5]) for item in found]

    def _keyword(self, error: jsonschema_rs.ValidationError) -> tuple[Mapping[str, Any], str, Any]:
        """(the schema object holding the failing keyword, the keyword, its value)."""
        location = error.absolute_keyword_location
        if location:
            uri, _, fragment = location.partition("#")
            if uri not in self._documents:
                raise Fallback(f"unknown schema {uri}")
            node = self._documents[uri]
            steps: list[str | int] = [
                unquote(part).replace("~1", "/").replace("~0", "~")
                for part in fragment.split("/")[1:]
            ]
        else:
            node = self._root
            steps = list(error.schema_path)
        if not steps:
            raise Fallback("no keyword")
        holder: Any = node
        try:
            for step in steps[:-1]:
                holder = holder[int(step)] if isinstance(holder, list) else holder[step]
        except (KeyError, IndexError, ValueError, TypeError):
            raise Fallback("keyword not found") from None
        keyword = str(steps[-1])
        if not isinstance(holder, dict) or keyword not in holder:
            raise Fallback("keyword not found")
        return holder, keyword, holder[keyword]


def _additional(extras: list[Any], holder: Mapping[str, Any]) -> str:
    if "patternProperties" in holder:
        verb = "does" if len(extras) == 1 else "do"
        joined = ", ".join(repr(each) for each in sorted(extras))
        patterns = ", ".join(repr(each) for each in sorted(holder["patternProperties"]))
        return f"{joined} {verb} not match any of the regexes: {patterns}"
    verb = "was" if len(extras) == 1 else "were"
    return (
        f"Additional properties are not allowed ({', '.join(map(repr, extras))} {verb} unexpected)"
    )


def _at(doc: object, path: Path) -> object:
    node = doc
    try:
        for step in path:
            node = node[step]  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        raise Fallback("the path does not lead to the instance") from None
    return node
