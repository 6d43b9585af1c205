"""App folders: what one Argo CD Application deploys, so that ``check .`` on a repository of
many apps checks and reports each app on its own.

An app folder is the nearest folder above a manifest (within the path as given) that holds a
``kustomization.yaml`` (``.yml``, ``Kustomization``) or a ``Chart.yaml``, or that an Argo CD
Application in the checked set names as its source path (``spec.source.path``,
``spec.sources[].path``: a plain folder of manifests). A manifest under none belongs to no
app folder. When the set has fewer than two app folders, it is checked as one set, as always.

An object's namespace, for telling two apps' objects apart, is the one its kustomization
sets (kustomize overrides ``metadata.namespace``), else its own; an object with neither gets
the namespace of its Application's destination, which is not known here, so two such objects
of different app folders are not the same object.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import PurePath
from typing import Final

from pocketid_k8s.check.model import Resource
from pocketid_k8s.contract import argocd

MARKERS: Final = ("kustomization.yaml", "kustomization.yml", "Kustomization", "Chart.yaml")
"""A file that makes its folder an app folder."""
KUSTOMIZATIONS: Final = MARKERS[:3]


class Apps:
    """The app folder of any file checked, found once per folder."""

    def __init__(self, resources: Sequence[Resource]) -> None:
        self._sources = _application_paths(resources)
        self._of: dict[str, str] = {}
        """The app folder of each folder asked about."""
        self._files: dict[str, str] = {"-": ""}
        """The app folder of each file asked about (the report asks once per finding)."""

    def folder(self, file: str) -> str:
        """The app folder of ``file`` ('' for none, and for standard input)."""
        found = self._files.get(file)
        if found is None:
            found = self._files[file] = self._app_of(os.path.dirname(file))
        return found

    def _app_of(self, folder: str) -> str:
        """The app folder of the files in ``folder`` ('' is the current folder): the folder
        itself or the nearest above it, found once per folder (iteratively: no depth limit)."""
        climbed: list[str] = []
        found = ""
        current = folder
        while current not in self._of:
            climbed.append(current)
            path = PurePath(current or ".")
            if self._is_app(path):
                found = str(path)
                break
            parent = os.path.dirname(current)
            if not current or parent == current:
                break
            current = parent
        else:
            found = self._of[current]
        for each in climbed:
            self._of[each] = found
        return self._of[folder]

    def _is_app(self, folder: PurePath) -> bool:
        return any(os.path.isfile(folder / name) for name in MARKERS) or any(
            _ends_with(folder, path) for path in self._sources
        )


def namespaces(resources: Sequence[Resource], apps: Apps) -> dict[str, str]:
    """The namespace each app folder's kustomization sets (only those that set one)."""
    found: dict[str, str] = {}
    for resource in resources:
        if resource.kind != "Kustomization":
            continue
        path = PurePath(resource.file)
        namespace = resource.doc.get("namespace")
        if path.name in KUSTOMIZATIONS and isinstance(namespace, str) and namespace:
            app = apps.folder(resource.file)
            if app and str(path.parent) == app:
                found.setdefault(app, namespace)
    return found


def _application_paths(resources: Sequence[Resource]) -> list[tuple[str, ...]]:
    """The source paths of the Argo CD Applications in the set, as parts."""
    paths: list[tuple[str, ...]] = []
    for resource in resources:
        if resource.kind != "Application" or not resource.api_version.startswith(
            f"{argocd.API_GROUP}/"
        ):
            continue
        spec = resource.doc.get("spec")
        if not isinstance(spec, dict):
            continue
        listed = spec.get("sources")
        for source in [spec.get("source"), *(listed if isinstance(listed, list) else [])]:
            path = source.get("path") if isinstance(source, dict) else None
            if isinstance(path, str) and path.strip("./"):
                paths.append(PurePath(path.strip("/")).parts)
    return paths


def _ends_with(folder: PurePath, parts: tuple[str, ...]) -> bool:
    return len(folder.parts) >= len(parts) and folder.parts[-len(parts) :] == parts
