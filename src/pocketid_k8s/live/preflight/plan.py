"""What preflight asks the cluster about: the bundle's objects in kustomization order,
and the few site facts that are not in them (Argo CD's project, repository and path,
the sealed-secrets controller's location)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["Item", "Plan"]

Obj = dict[str, Any]


@dataclass(frozen=True)
class Item:
    """One object of the bundle and the file it came from."""

    file: str
    obj: Obj

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind"))

    @property
    def name(self) -> str:
        return str((self.obj.get("metadata") or {}).get("name"))

    @property
    def namespace(self) -> str | None:
        found = (self.obj.get("metadata") or {}).get("namespace")
        return str(found) if found else None

    @property
    def label(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


@dataclass(frozen=True)
class Argo:
    """Where Argo CD is told to find and put the app."""

    project: str
    namespace: str
    """Where Argo CD's own objects (AppProject, Application, ApplicationSet) live."""
    repo_url: str
    path: str
    """The app folder, relative to the repository root."""
    server: str
    application: bool = False
    """The config renders an Application ([argocd] application = true)."""
    application_dir: str = ""
    """Where render writes it ([argocd] application_dir)."""


@dataclass(frozen=True)
class Plan:
    items: list[Item]
    argo: Argo
    controller_namespace: str
    controller_names: tuple[str, ...]
    """Names to try for the sealed-secrets controller's Deployment and Service."""
    expected_secret: str = ""
    """The Secret the Deployment reads (the SealedSecret must produce it)."""
    expected_settings: tuple[tuple[str, str], ...] = ()
    """([secret] settings name, its Secret key) the SealedSecret must hold sealed."""
    source: str = ""
    """Where the objects came from, for the summary line."""
    backup_mode: str = ""
    """[backup] mode of the config, which the hints name."""

    def of_kind(self, *kinds: str) -> Iterator[Item]:
        return (item for item in self.items if item.kind in kinds)

    def first(self, kind: str) -> Item | None:
        return next(self.of_kind(kind), None)

    @property
    def created_namespaces(self) -> set[str]:
        return {item.name for item in self.of_kind("Namespace")}
