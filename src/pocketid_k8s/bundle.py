"""From rendered objects to files: names, order, deterministic YAML, atomic writes.

The same config always gives byte-identical files. Writing is all or nothing:
every new file is first written beside its target, and only when all are on
disk are they renamed into place, with Ctrl-C held back for that moment.
A sealed encryption key already in the folder is never replaced.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Final

import yaml

from pocketid_k8s.atomic import replace_files
from pocketid_k8s.config import Config
from pocketid_k8s.errors import BundleError
from pocketid_k8s.keyfile import State, inspect_sealed_file, sealed_elsewhere
from pocketid_k8s.limits import (
    MAX_OBJECT_BYTES,
    MAX_SITE_FILE_BYTES,
    NotAFile,
    TooLarge,
    read_regular_capped,
    size_text,
)
from pocketid_k8s.render import SEALED_SECRET_FILE, Manifest, application, render
from pocketid_k8s.render.secret import settings_warnings

__all__ = [
    "HEADER",
    "Bundle",
    "Change",
    "build_bundle",
    "dump_yaml",
    "write_bundle",
]

HEADER: Final = (
    "# Rendered by pocketid-k8s from the site config (pocket-id.toml).\n"
    "# Edit the config and run 'pocketid-k8s render': hand edits here are overwritten.\n"
)
KUSTOMIZATION: Final = "kustomization.yaml"


class _Dumper(yaml.SafeDumper):
    """The safe emitter, with block style and no line wrapping."""


def dump_yaml(documents: list[Manifest]) -> str:
    """YAML text of ``documents``: safe emitter, keys in the order built, stable output."""
    return "---\n".join(
        yaml.dump(
            doc,
            Dumper=_Dumper,
            sort_keys=False,
            default_flow_style=False,
            allow_unicode=True,
            width=1 << 16,
        )
        for doc in documents
    )


@dataclass(frozen=True)
class Change:
    """What writing the bundle does to one file."""

    path: PurePosixPath
    action: str  # "create", "update", "delete" or "keep"
    old: str = ""
    """The file's text on disk when compared ('' when there was none), with LF line endings."""
    crlf: bool = False
    """The file on disk has Windows line endings (a checkout with core.autocrlf): it is
    compared without them and written with them."""


@dataclass
class Bundle:
    """Every file the config produces, by path relative to the output root."""

    files: dict[PurePosixPath, str] = field(default_factory=dict)
    app_dir: PurePosixPath = field(default_factory=lambda: PurePosixPath("."))
    kept_sealed: bool = False
    """True when the folder's sealed key is kept instead of the placeholder."""
    sealed_elsewhere: list[Path] = field(default_factory=list)
    """Without a sealed key here: other folders' sealed keys for the same Secret (an earlier
    [site] app_dir), which the user moves here rather than sealing a second key."""
    retired: list[PurePosixPath] = field(default_factory=list)
    """Files outside the app folder that an earlier config rendered and this one does not."""
    warnings: list[str] = field(default_factory=list)
    """What the user must hear about the folder (a setting not sealed yet)."""

    def changes(self, root: Path) -> list[Change]:
        """Compare with the files under ``root``, including our stale files to delete.

        Raise :class:`BundleError` for a path that resolves outside ``root`` (a
        symlinked folder).
        """
        result: list[Change] = []
        for path, text in self.files.items():
            _inside(root, path)
            current = _read_text(root / path)
            if current is None:
                result.append(Change(path, "create"))
                continue
            crlf = _crlf(current)
            current = _lf(current)
            action = "keep" if current == _lf(text) else "update"
            result.append(Change(path, action, current, crlf))
        for path, old in self._stale(root):
            _inside(root, path)
            result.append(Change(path, "delete", _lf(old), _crlf(old)))
        return result

    def diff(self, root: Path) -> str:
        """A unified diff from the files under ``root`` to the bundle ('' when current)."""
        chunks: list[str] = []
        for change in self.changes(root):
            if change.action == "keep":
                continue
            new = self.files.get(change.path, "")
            from_name = "/dev/null" if change.action == "create" else f"a/{change.path}"
            to_name = "/dev/null" if change.action == "delete" else f"b/{change.path}"
            chunks.append(
                "".join(
                    difflib.unified_diff(
                        change.old.splitlines(keepends=True),
                        new.splitlines(keepends=True),
                        from_name,
                        to_name,
                    )
                )
            )
        return "".join(chunks)

    def _stale(self, root: Path) -> list[tuple[PurePosixPath, str]]:
        """Files (and their text) in the app folder that we rendered and no longer render."""
        stale = []
        for relative in self.retired:
            text = _read_text(root / relative)
            if text is not None and _lf(text).startswith(HEADER):
                stale.append((relative, text))
        folder = root / self.app_dir
        if not folder.is_dir():
            return stale
        for path in sorted(folder.iterdir()):
            relative = self.app_dir / path.name
            if (
                path.suffix != ".yaml"
                or relative in self.files
                or path.name == SEALED_SECRET_FILE  # a sealed key is never deleted
            ):
                continue
            text = _read_text(path) or ""
            if _lf(text).startswith(HEADER):
                stale.append((relative, text))
        return stale


def build_bundle(config: Config, root: Path) -> Bundle:
    """Render ``config`` into file texts; keep a sealed key found under ``root``."""
    app_dir = PurePosixPath(config.site.app_dir)
    bundle = Bundle(app_dir=app_dir, warnings=settings_warnings(config))
    names: list[str] = []
    for name, manifest in render(config):
        text = _within_limit(app_dir / name, HEADER + dump_yaml([manifest]))
        if name == SEALED_SECRET_FILE:
            kept = _sealed_file(config, root / app_dir / name, bundle.warnings)
            if kept is not None:
                text, bundle.kept_sealed = kept, True
            else:
                bundle.sealed_elsewhere = sealed_elsewhere(
                    root, root / app_dir / name, config.secret.name, config.site.namespace
                )
        bundle.files[app_dir / name] = text
        names.append(name)
    kustomization: Manifest = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": names,
    }
    bundle.files[app_dir / KUSTOMIZATION] = HEADER + dump_yaml([kustomization])
    bundle.warnings += [_unlisted_warning(root, path) for path in _unlisted(root, bundle)]
    path = PurePosixPath(config.argocd.application_dir) / f"{config.site.name}.yaml"
    if config.argocd.application:
        bundle.files[path] = HEADER + dump_yaml([application(config)])
    else:  # turned off: our Application file from before is stale
        bundle.retired.append(path)
    return bundle


def _unlisted(root: Path, bundle: Bundle) -> list[PurePosixPath]:
    """YAML files in the app folder that kustomization.yaml will not list: neither ours
    (rendered now, or stale ones, which are deleted) nor the sealed key: the user's own."""
    folder = root / bundle.app_dir
    try:
        entries = sorted(folder.iterdir()) if folder.is_dir() else []
    except OSError:
        return []
    found = []
    for path in entries[:MAX_FOLDER_ENTRIES]:
        relative = bundle.app_dir / path.name
        if path.suffix not in (".yaml", ".yml") or relative in bundle.files:
            continue
        text = _read_text(path)
        if text is not None and not _lf(text).startswith(HEADER):
            found.append(relative)
    return found


MAX_FOLDER_ENTRIES: Final = 1000
"""How many entries of the app folder are looked at for files it does not deploy."""


def _unlisted_warning(root: Path, path: PurePosixPath) -> str:
    sibling = f"{path.parent}-extra"
    return (
        f"{root / path}: is not listed in {KUSTOMIZATION}, so Argo CD never deploys it "
        f"(render writes that list from pocket-id.toml and keeps no entry of yours); fix: "
        f"move it to a folder of your own beside the app folder, e.g. {sibling}/ with its "
        "own kustomization.yaml (an ApplicationSet over the parent folder picks it up), or "
        "delete it if it is not needed"
    )


def _crlf(text: str) -> bool:
    """Every line ends with CRLF (a Windows checkout); mixed endings are not a style to keep."""
    return "\r\n" in text and text.count("\r\n") == text.count("\n")


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n") if _crlf(text) else text


def _within_limit(path: PurePosixPath, text: str) -> str:
    """Refuse a file Kubernetes would refuse: an object larger than about 1 MiB."""
    size = len(text.encode())
    if size > MAX_OBJECT_BYTES:
        raise BundleError(
            f"{path}: would be {size} bytes, and Kubernetes objects are limited to about "
            f"{size_text(MAX_OBJECT_BYTES)} (a ConfigMap's data to 1 MiB); nothing was "
            "written; fix: shorten the largest values in pocket-id.toml (such as [pocket_id] "
            "env)"
        )
    return text


def _inside(root: Path, path: PurePosixPath) -> None:
    """Refuse a file whose folder resolves outside ``root`` (through a symlink)."""
    top = root.resolve()
    folder = (root / path).parent.resolve()
    if not folder.is_relative_to(top):
        raise BundleError(
            f"{root / path}: its folder resolves to {folder}, outside the output root {top} "
            "(a symbolic link); nothing was written; fix: replace the link with a real "
            "folder, or pass --out the folder it points into"
        )


def _ours(path: Path, current: str) -> None:
    """Refuse to replace a file we did not write (it lacks our header)."""
    if path.name == SEALED_SECRET_FILE:
        return  # its own guard (keyfile): a placeholder is replaced, a sealed key kept
    if not current.startswith(HEADER):
        raise BundleError(
            f"{path}: was not written by pocketid-k8s (it lacks the 'Rendered by "
            "pocketid-k8s' header), so it is not replaced; nothing was written; fix: move "
            "it out of the folder (or merge what you need into pocket-id.toml), then render "
            "again"
        )


def _sealed_file(config: Config, path: Path, warnings: list[str]) -> str | None:
    """The text of a sealed key file to keep; None when there is none or a placeholder.
    A [secret] settings entry it lacks is added to ``warnings`` (only seal can add it)."""
    found = inspect_sealed_file(path, config.secret.name, config.site.namespace)
    if found.state is not State.SEALED:
        return None
    if config.secret.key not in found.keys:
        raise BundleError(
            f"{path}: the sealed Secret has the keys {found.keys}, but the Deployment "
            f"reads {config.secret.key!r} ([secret] key); fix: set [secret] key to the sealed "
            "key's name, or seal the key under the new name"
        )
    for name, key in config.secret.keys().items():
        if key not in found.keys:
            warnings.append(
                f"{path}: has no {key!r} for [secret] settings {name}, so the pod cannot "
                f"mount its secrets and waits (the kubelet reports the missing key); fix: "
                f"pocketid-k8s seal --cert sealed-secrets.pem --set {name} --from-file FILE"
            )
    return found.text


def _read_text(path: Path) -> str | None:
    try:
        return read_regular_capped(path, MAX_SITE_FILE_BYTES).decode("utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None  # a file standing in for a folder is reported when writing
    except NotAFile:
        raise BundleError(
            f"{path}: is not a regular file (a device, pipe or folder), so it was not read "
            "and nothing was written; fix: move it out of the folder"
        ) from None
    except TooLarge:
        return _TOO_LARGE  # not ours: never replaced (no header), never deleted
    except (OSError, UnicodeDecodeError) as exc:
        raise BundleError(
            f"{path}: cannot be read ({exc}); fix: check the file and its permissions"
        ) from None


def write_bundle(bundle: Bundle, root: Path) -> list[Change]:
    """Write the bundle under ``root``: all files change, or none does."""
    changes = bundle.changes(root)
    for change in changes:
        if change.action == "update":
            _ours(root / change.path, change.old)
    writes = {
        root / c.path: _endings(bundle.files[c.path], c.crlf)
        for c in changes
        if c.action in _WRITES
    }
    deletes = [root / c.path for c in changes if c.action == "delete"]
    if writes or deletes:
        replace_files(writes, deletes)
    return changes


def _endings(text: str, crlf: bool) -> str:
    """``text`` with the line endings of the file it replaces."""
    return text.replace("\n", "\r\n") if crlf and not _crlf(text) else text


_WRITES: Final = ("create", "update")
_TOO_LARGE: Final = f"# larger than {size_text(MAX_SITE_FILE_BYTES)}: not read, not shown\n"
