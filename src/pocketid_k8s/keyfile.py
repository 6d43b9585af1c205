"""What the app folder's sealedsecret.yaml holds: nothing, the placeholder, or a sealed key.

``render`` and ``seal`` both ask before they write that file, because it may
hold the only copy in git of the key Pocket-ID's data is encrypted with. A file
that cannot be recognised is treated as holding one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

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
from pocketid_k8s.yamlread import YamlInputError, load_documents, view

__all__ = ["SealedFile", "State", "inspect_sealed_file"]


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
