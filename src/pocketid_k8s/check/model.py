"""Findings, rules and the resources they are about."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any, Final, Protocol, cast

import msgspec

from pocketid_k8s.check.lazy import cached
from pocketid_k8s.check.view import Object, ObjectMeta, Problem, Scalar, read

Path = tuple[str | int, ...]
"""A JSON path into a document: keys and list indices."""

POD_SPEC_PATHS: Final[dict[str, Path]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
"""Where each workload kind keeps its pod spec."""


class Lines(Protocol):
    """The line of each field of a document: a dict, or one that finds them when asked
    (check/fastyaml.py)."""

    def __contains__(self, path: object, /) -> bool: ...
    def __getitem__(self, path: Path, /) -> int: ...
    def get(self, path: Path, /) -> int | None: ...
    def items(self) -> Iterable[tuple[Path, int]]: ...


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Rule(msgspec.Struct, frozen=True):
    id: str
    severity: Severity
    title: str


class Finding(msgspec.Struct, frozen=True, gc=False):
    """One problem, where it is, and how to fix it."""

    rule: str
    severity: Severity
    kind: str
    namespace: str
    name: str
    file: str
    line: int | None
    path: str
    message: str
    hint: str

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "file": self.file,
            "line": self.line,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
        }


class Resource:
    """One YAML document that is a Kubernetes object, with the line of each field.

    ``doc`` is the document as parsed, for schema validation only: it is typed ``object``
    inside, so a rule cannot read it without mypy refusing. Rules read :attr:`view`.

    A resource read by a forked worker (:meth:`from_packed`) comes with its view made
    there, and its document as MessagePack, decoded only if something reads it (the rules
    read the view; a check of 10,000 objects then neither builds nor holds their documents
    in this process).
    """

    def __init__(self, doc: Mapping[str, object], file: str, lines: Lines | None = None) -> None:
        self._doc: Mapping[str, object] | None = doc
        self._packed: bytes | None = None
        self.file = file
        self.lines: Lines = {} if lines is None else lines

    @classmethod
    def from_packed(
        cls, packed: bytes, file: str, lines: Lines, view: Object, problems: list[Problem]
    ) -> Resource:
        """A resource whose document is ``packed`` (MessagePack) and whose view is known."""
        resource = cls.__new__(cls)
        resource._doc = None
        resource._packed = packed
        resource.file = file
        resource.lines = lines
        resource.__dict__["_read"] = (view, problems)
        return resource

    @property
    def doc(self) -> Mapping[str, object]:
        if self._doc is None and self._packed is not None:
            self._doc = cast("Mapping[str, object]", _UNPACK.decode(self._packed))
            self._packed = None
        return self._doc if self._doc is not None else {}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Resource):
            return NotImplemented
        return (self.doc, self.file, self.lines) == (other.doc, other.file, other.lines)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Resource(doc={self.doc!r}, file={self.file!r}, lines={self.lines!r})"

    def __getstate__(self) -> dict[str, object]:
        """Pickled (from a parallel worker) without the view: the view is made again where
        it is read, faster than it is pickled and unpickled."""
        return {key: value for key, value in self.__dict__.items() if key not in _CACHED}

    @cached
    def _read(self) -> tuple[Object, list[Problem]]:
        return read(self.doc, self.kind)

    @cached
    def view(self) -> Object:
        """The fields the rules read, each of the shape they expect (see check/view.py)."""
        return self._read[0]

    @property
    def problems(self) -> list[Problem]:
        """The fields left out of :attr:`view` because of their shape."""
        return self._read[1]

    @cached
    def kind(self) -> str:
        kind = self._named().get("kind")
        return kind if isinstance(kind, str) else ""

    @cached
    def api_version(self) -> str:
        api = self._named().get("apiVersion")
        return api if isinstance(api, str) else ""

    def _named(self) -> Mapping[str, object]:
        """What gives the kind and apiVersion: the document, or a packed one's view (which
        has each where the document has it as a string)."""
        if self._doc is None and "_read" in self.__dict__:
            return cast("Mapping[str, object]", self.view)
        return self.doc

    @cached
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @cached
    def metadata(self) -> ObjectMeta:
        return self.view.get("metadata") or {}

    @cached
    def name(self) -> str:
        return self.metadata.get("name") or ""

    @cached
    def namespace(self) -> str:
        return self.metadata.get("namespace") or ""

    @property
    def annotations(self) -> dict[str, Scalar]:
        return self.metadata.get("annotations") or {}

    def raw_at(self, path: Path) -> object:
        """The value as parsed at ``path`` (None where there is none): for messages only."""
        data: object = self.doc
        for part in path:
            if isinstance(data, Mapping):
                data = data.get(part)
            elif isinstance(data, list) and isinstance(part, int) and part < len(data):
                data = data[part]
            else:
                return None
        return data

    def line(self, path: Path) -> int | None:
        """The line of ``path``, or of its nearest parent that has one."""
        nearest = getattr(self.lines, "nearest", None)
        if nearest is not None:  # found in the text when asked (check/fastyaml.py)
            found: int | None = nearest(path)
            return found
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None


_CACHED: Final = frozenset(
    {"_read", "view", "kind", "api_version", "group", "metadata", "name", "namespace"}
)
"""What a resource works out from its document once, and does not send from a worker."""
_UNPACK: Final = msgspec.msgpack.Decoder()


def dotted(path: Path) -> str:
    """``('spec', 'containers', 0, 'image')`` -> ``spec.containers[0].image``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
