"""A YAML file beside a kustomization.yaml that the kustomization does not name: kustomize
(and Argo CD, which builds the folder with it) never deploys it.

One rule, kept apart from the other families: it looks only at which file each object came
from and at the strings of the folder's Kustomization (``resources``, ``patches``,
``components``, generators: any mention counts, so a patch file is not reported).
"""

from __future__ import annotations

import os
from typing import Final

from pocketid_k8s.check.model import Finding, Resource
from pocketid_k8s.check.rules import finding

__all__ = ["RULE", "check"]

RULE: Final = "refs/unlisted-file"
KUSTOMIZATION_FILES: Final = ("kustomization.yaml", "kustomization.yml", "Kustomization")
MAX_STRINGS: Final = 10_000
"""How many strings of one Kustomization are read (a real one has a few dozen)."""


def check(resources: list[Resource]) -> list[Finding]:
    """One finding per file of a kustomization's folder that it never mentions."""
    mentioned: dict[str, set[str]] = {}
    listing: dict[str, str] = {}
    paths = {file: os.path.split(file) for file in dict.fromkeys(r.file for r in resources)}
    """Each file's folder and name, made once (a set of many objects has many per file; the
    loader gives each file's path in its normal form)."""
    for resource in resources:
        folder, name = paths[resource.file]
        if resource.kind == "Kustomization" and name in KUSTOMIZATION_FILES:
            mentioned.setdefault(folder, set()).update(_names(resource.doc))
            listing.setdefault(folder, resource.file)
    found: list[Finding] = []
    reported: set[str] = set()
    for resource in resources:
        folder, name = paths[resource.file]
        names = mentioned.get(folder)
        if names is None or name in KUSTOMIZATION_FILES or resource.file in reported:
            continue
        if name not in names:
            reported.add(resource.file)
            found.append(
                finding(
                    resource,
                    RULE,
                    f"{name} is not listed in {listing[folder]}, so "
                    "kustomize (and Argo CD) never deploys it",
                    f"add '{name}' to its resources, or move the file out of the folder; "
                    "in an app folder written by 'pocketid-k8s render' (which rewrites the "
                    "list), keep your own files in a folder of their own beside it",
                )
            )
    return found


def _names(doc: object) -> set[str]:
    """The file names among the strings anywhere in ``doc`` (``./a.yaml`` -> ``a.yaml``)."""
    names: set[str] = set()
    stack: list[object] = [doc]
    seen = 0
    while stack and seen < MAX_STRINGS:
        item = stack.pop()
        seen += 1
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            names.add(_name(item.strip()))
    return names


def _name(path: str) -> str:
    """The last part of a path as PurePath names it ('' for '/' or '.'), without making one
    (a set of 10,000 objects has tens of thousands of strings in its kustomizations)."""
    parts = [part for part in path.split("/") if part not in ("", ".")]
    return parts[-1] if parts else ""
