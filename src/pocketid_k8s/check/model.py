"""Findings, rules and the resources they are about."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

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


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    title: str


@dataclass(frozen=True)
class Finding:
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


@dataclass
class Resource:
    """One YAML document that is a Kubernetes object, with the line of each field."""

    doc: dict[str, Any]
    file: str
    lines: dict[Path, int] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return str(self.doc.get("kind") or "")

    @property
    def api_version(self) -> str:
        return str(self.doc.get("apiVersion") or "")

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.doc.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name") or "")

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace") or "")

    @property
    def annotations(self) -> dict[str, Any]:
        value = self.metadata.get("annotations")
        return value if isinstance(value, dict) else {}

    def line(self, path: Path) -> int | None:
        """The line of ``path``, or of its nearest parent that has one."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None


def dotted(path: Path) -> str:
    """``('spec', 'containers', 0, 'image')`` -> ``spec.containers[0].image``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def get(data: Any, *path: str | int) -> Any:  # noqa: ANN401 - walks untyped YAML data
    """The value at ``path``, or None where any step is missing or of the wrong type."""
    for part in path:
        if isinstance(part, int):
            data = data[part] if isinstance(data, list) and -len(data) <= part < len(data) else None
        else:
            data = data.get(part) if isinstance(data, dict) else None
        if data is None:
            return None
    return data
