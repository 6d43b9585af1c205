"""What the app folder's sealedsecret.yaml holds: nothing, the placeholder, or a sealed key.

``render`` and ``seal`` both ask before they write that file, because it may
hold the only copy in git of the key Pocket-ID's data is encrypted with. A file
that cannot be recognised is treated as holding one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import yaml

from pocketid_k8s.contract.sealed_secrets import PLACEHOLDER_ANNOTATION, PLACEHOLDER_VALUE
from pocketid_k8s.errors import SealedKeyError
from pocketid_k8s.limits import (
    MAX_SITE_FILE_BYTES,
    NotAFile,
    TooLarge,
    read_regular_capped,
    size_text,
)

__all__ = ["SealedFile", "State", "inspect_sealed_file"]


class State(Enum):
    ABSENT = "absent"
    PLACEHOLDER = "placeholder"
    SEALED = "sealed"


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
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        raise SealedKeyError(
            f"{refuse}, and it is not valid YAML ({_yaml_problem(exc)}); fix: repair it, or "
            "move it out of the folder if you are sure it holds no key you need"
        ) from None
    if len(documents) != 1 or not _is_sealed_secret(documents[0], name, namespace):
        raise SealedKeyError(
            f"{refuse}, and it is not one SealedSecret named {name!r} in namespace "
            f"{namespace!r} (the [secret] name and [site] namespace); fix: set the config "
            "back to the names it was sealed for, or move the file away and seal a new key"
        )
    doc: dict[str, Any] = documents[0]
    encrypted = (doc.get("spec") or {}).get("encryptedData") or {}
    annotations = (doc.get("metadata") or {}).get("annotations") or {}
    keys = sorted(str(key) for key in encrypted)
    if PLACEHOLDER_ANNOTATION in annotations or PLACEHOLDER_VALUE in encrypted.values():
        return SealedFile(State.PLACEHOLDER, text, keys)
    return SealedFile(State.SEALED, text, keys)


def _is_sealed_secret(doc: object, name: str, namespace: str) -> bool:
    if not isinstance(doc, dict) or doc.get("kind") != "SealedSecret":
        return False
    meta = doc.get("metadata")
    return isinstance(meta, dict) and (meta.get("name"), meta.get("namespace")) == (
        name,
        namespace,
    )


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or "unreadable"
    return f"{problem} at line {mark.line + 1}" if mark is not None else str(problem)
