"""What the app folder's sealedsecret.yaml holds: nothing, the placeholder, or a sealed key.

``render`` and ``seal`` both ask before they write that file, because it may
hold the only copy in git of the key Pocket-ID's data is encrypted with. A file
that cannot be recognised is treated as holding one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Final

import msgspec

from pocketid_k8s.contract.sealed_secrets import KIND, PLACEHOLDER_ANNOTATION, PLACEHOLDER_VALUE
from pocketid_k8s.errors import SealedKeyError
from pocketid_k8s.limits import (
    MAX_SITE_FILE_BYTES,
    NotAFile,
    TooLarge,
    read_regular_capped,
    size_text,
)
from pocketid_k8s.render import SEALED_SECRET_FILE
from pocketid_k8s.yamlread import YamlInputError, load_documents, view

__all__ = ["SealedFile", "State", "inspect_sealed_file", "sealed_elsewhere"]


class State(Enum):
    ABSENT = "absent"
    PLACEHOLDER = "placeholder"
    SEALED = "sealed"


class _Metadata(msgspec.Struct, frozen=True):
    name: object = None
    namespace: object = None
    annotations: dict[str, str] | None = None


class _Spec(msgspec.Struct, frozen=True):
    encryptedData: dict[str, str] | None = None


class _SealedSecretView(msgspec.Struct, frozen=True):
    """The fields of a SealedSecret this module reads, with the types it reads them as."""

    kind: object = None
    metadata: _Metadata | None = None
    spec: _Spec | None = None


@dataclass(frozen=True)
class SealedFile:
    state: State
    text: str = ""
    keys: list[str] = field(default_factory=list)
    """The names in spec.encryptedData (never their values)."""


def inspect_sealed_file(path: Path, name: str, namespace: str) -> SealedFile:
    """Read ``path``; raise :class:`SealedKeyError` when it may hold a key but is not ours."""
    refuse = f"{path}: refusing to replace it, because it may hold the sealed encryption key"
    try:
        text = read_regular_capped(path, MAX_SITE_FILE_BYTES).decode("utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return SealedFile(State.ABSENT)
    except NotAFile:
        raise SealedKeyError(
            f"{path}: is not a regular file (a device, pipe or folder), so it was not read; "
            "fix: move it away; the sealed key belongs in a plain file"
        ) from None
    except TooLarge:
        raise SealedKeyError(
            f"{refuse}, and it is larger than {size_text(MAX_SITE_FILE_BYTES)}, far beyond "
            "any Kubernetes object; fix: move it out of the folder if you are sure it holds "
            "no key you need"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SealedKeyError(
            f"{path}: cannot be read ({exc}); fix: check the file and its permissions"
        ) from None
    fix = "fix: repair it, or move it out of the folder if you are sure it holds no key you need"
    try:
        documents = load_documents(text)
    except YamlInputError as exc:
        raise SealedKeyError(f"{refuse}, and it is not valid YAML ({exc.problem}); {fix}") from None
    if len(documents) != 1:
        raise SealedKeyError(
            f"{refuse}, and it is not one SealedSecret named {name!r} in namespace "
            f"{namespace!r} (it holds {len(documents)} YAML documents); {fix}"
        )
    try:
        found = view(documents[0], _SealedSecretView)
    except YamlInputError as exc:
        raise SealedKeyError(
            f"{refuse}, and it is not shaped like a SealedSecret: {exc.problem}; {fix}"
        ) from None
    meta = found.metadata or _Metadata()
    if found.kind != KIND or (meta.name, meta.namespace) != (name, namespace):
        raise SealedKeyError(
            f"{refuse}, and it is not one SealedSecret named {name!r} in namespace "
            f"{namespace!r} (the [secret] name and [site] namespace); fix: set the config "
            "back to the names it was sealed for, or move the file away and seal a new key"
        )
    encrypted = (found.spec.encryptedData if found.spec else None) or {}
    keys = sorted(encrypted)
    if (
        PLACEHOLDER_ANNOTATION in (meta.annotations or {})
        or PLACEHOLDER_VALUE in encrypted.values()
    ):
        return SealedFile(State.PLACEHOLDER, text, keys)
    return SealedFile(State.SEALED, text, keys)


MAX_SEARCH_DEPTH: Final = 6
"""How deep below the output root another app folder's sealed key is looked for."""
MAX_SEARCH_FOLDERS: Final = 2000
"""How many folders that search visits at most (a repository of many apps stays fast)."""


def sealed_elsewhere(root: Path, here: Path, name: str, namespace: str) -> list[Path]:
    """Other files named like ``here`` under ``root`` holding a sealed key for the same Secret
    (``name`` in ``namespace``): what an earlier ``[site] app_dir`` left behind.

    A bounded walk: hidden folders (.git) are skipped, at most :data:`MAX_SEARCH_DEPTH` levels
    and :data:`MAX_SEARCH_FOLDERS` folders; a file that cannot be read is passed over.
    """
    found: list[Path] = []
    level = [root]
    visited = 0
    for _ in range(MAX_SEARCH_DEPTH + 1):
        below: list[Path] = []
        for folder in level:
            visited += 1
            if visited > MAX_SEARCH_FOLDERS:
                return found
            try:
                entries = sorted(folder.iterdir())
            except OSError:
                continue
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    below.append(entry)
                elif entry.name == here.name and not _same(entry, here):
                    try:
                        state = inspect_sealed_file(entry, name, namespace).state
                    except SealedKeyError:
                        continue
                    if state is State.SEALED:
                        found.append(entry)
        level = below
    return found


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def moved_key_hint(found: list[Path], folder: Path) -> str:
    """Where the sealed key of an earlier app folder is, and how to bring it here."""
    if len(found) > 1:
        return (
            f"{folder / SEALED_SECRET_FILE} is a placeholder, and {len(found)} other folders "
            f"hold a sealed key for this Secret: {', '.join(map(str, found))}; fix: move the "
            f"one your installation runs with to {folder / SEALED_SECRET_FILE}, then render "
            "again; sealing a new key would make a second one"
        )
    return (
        f"{folder / SEALED_SECRET_FILE} is a placeholder, but {found[0]} holds the sealed key "
        "for this Secret (the app folder moved?); fix: "
        f"mv {found[0]} {folder / SEALED_SECRET_FILE} and render again; sealing a new key "
        "would make a second one, and Pocket-ID could not read the data encrypted with the first"
    )
