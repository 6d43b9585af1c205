"""``seal``: make (or take) the encryption key and write it sealed for the cluster's
controller, without ever losing a key: an existing sealed key is replaced only on request,
a key an earlier app folder holds is never doubled, and a key printed for the user reaches
its reader before the file that needs it is in place.

The command line parses and prints; this module decides and writes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from pocketid_k8s import sealing
from pocketid_k8s.atomic import write_text
from pocketid_k8s.bundle import dump_yaml
from pocketid_k8s.config import DEFAULT_CONFIG_NAME, Config, config_root, load_config
from pocketid_k8s.contract.table import lookup
from pocketid_k8s.delivery import deliver
from pocketid_k8s.errors import OutputError, PocketIdK8sError, RefusedError, SealedKeyError
from pocketid_k8s.keyfile import State, inspect_sealed_file, moved_key_hint, sealed_elsewhere
from pocketid_k8s.limits import (
    MAX_OBJECT_BYTES,
    TooLarge,
    read_capped,
    read_stream_capped,
    size_text,
)
from pocketid_k8s.render import SEALED_SECRET_FILE
from pocketid_k8s.render.version import rendered_for
from pocketid_k8s.yamlread import load_documents

__all__ = ["SealRequest", "Sealed", "seal"]

PROG = "pocketid-k8s"


class SettingError(PocketIdK8sError):
    """``seal --set``: the setting or its file cannot be sealed as asked; nothing changed."""


@dataclass(frozen=True)
class SealRequest:
    """What the user asked for (the options of ``pocketid-k8s seal``)."""

    cert: Path
    config: Path | None = None
    out: Path | None = None
    rotate: bool = False
    from_file: str | None = None
    """A file holding the key, or ``-`` for standard input; None makes a new key."""
    scope: str = "strict"
    print_key: bool = False
    setting: str | None = None
    """A [secret] settings name: seal its value (from ``from_file``) beside the key instead."""


@dataclass
class Sealed:
    """What was done: the summary line, and what the user must be told."""

    out: Path
    summary: str
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Said after the write (rotation, keeping a copy of a new key)."""


def seal(
    request: SealRequest, *, warn: Callable[[str], None], stdin: BinaryIO | None = None
) -> Sealed:
    """Seal the key into the app folder's ``sealedsecret.yaml`` (or ``request.out``).
    ``warn`` is told, before the key is printed, whatever the user must read first."""
    config = load_config(request.config)
    if request.setting is not None:
        _check_setting_request(request, config)
    cert = sealing.load_certificate(request.cert)
    root = config_root(request.config)
    out = request.out or root / config.site.app_dir / SEALED_SECRET_FILE
    _check_target(out)
    if request.setting is not None:
        return _seal_setting(request, request.setting, config, cert, out, warn, stdin)
    replacing = _replacing(request, out, config.secret.name, config.site.namespace)
    if not (replacing or request.rotate or request.out):
        _refuse_a_second_key(root, out, config.secret.name, config.site.namespace)
    warnings = list(cert.warnings)
    if request.from_file is None:
        key = sealing.generate_key()
    else:
        key, more = sealing.read_key(*_read_key_source(request.from_file, stdin))
        warnings += more
    scope = sealing.Scope(request.scope)
    settings = _sealed_settings(out, config, scope, warnings) if replacing else {}
    manifest = sealing.sealed_secret(config, cert, key, scope, settings)
    for warning in warnings:
        warn(warning)
    text = sealing.SEALED_HEADER + dump_yaml([manifest])
    if len(text.encode()) > MAX_OBJECT_BYTES:
        raise sealing.KeyFileError(
            f"the SealedSecret would be {len(text.encode())} bytes, and Kubernetes objects are "
            f"limited to about {size_text(MAX_OBJECT_BYTES)}; nothing was written; fix: seal "
            "a key of ordinary size (Pocket-ID needs 16 bytes or more; a new one has 43)"
        )
    printer = _key_printer(key, out, warn) if request.print_key else None
    write_text(out, text, before_commit=printer)
    done = Sealed(
        out,
        f"sealed {config.secret.key!r} into {out} (scope {request.scope}, controller key "
        f"{cert.fingerprint}, certificate valid until {cert.not_after:%Y-%m-%d})",
    )
    if replacing:
        done.notes.append(
            sealing.ROTATION_NOTE.format(namespace=config.site.namespace, name=config.site.name)
        )
    if request.from_file is None and not request.print_key:
        done.notes.append(
            "the new key was not shown. Keep a copy outside the cluster: before the "
            "first sync, run again with --rotate --print-key; after it, read it back with "
            f"kubectl -n {config.site.namespace} get secret {config.secret.name} "
            f"-o jsonpath='{{.data.{config.secret.key}}}' | base64 -d"
        )
    return done


def _check_setting_request(request: SealRequest, config: Config) -> None:
    """--set NAME: a value of the user's (never a made-up one) for a listed setting."""
    name = request.setting
    config_file = request.config or DEFAULT_CONFIG_NAME
    if name not in config.secret.settings:
        listed = ", ".join(config.secret.settings) or "none"
        raise SettingError(
            f"--set {name}: not in [secret] settings of {config_file} (listed: {listed}), so "
            "the Deployment would never read it; nothing was written; fix: add it, e.g. "
            f"[secret] settings = {[*config.secret.settings, name]!r}, render, then seal it"
        )
    if request.from_file is None:
        raise SettingError(
            f"--set {name} needs --from-file FILE (or '-' for standard input): its value "
            "is yours, never made up; nothing was written"
        )
    if request.rotate or request.print_key:
        raise SettingError(
            f"--set {name}: --rotate and --print-key are about the encryption key; a "
            "setting's value is added or replaced without them; nothing was written"
        )


def _seal_setting(
    request: SealRequest,
    name: str,
    config: Config,
    cert: sealing.ControllerCertificate,
    out: Path,
    warn: Callable[[str], None],
    stdin: BinaryIO | None,
) -> Sealed:
    """Add (or replace) one setting's key in the sealed file, leaving every other key as
    it is; the encryption key must be sealed first (a placeholder is replaced by render)."""
    found = inspect_sealed_file(out, config.secret.name, config.site.namespace)
    if found.state is not State.SEALED:
        what = "does not exist" if found.state is State.ABSENT else "is the placeholder"
        raise SettingError(
            f"{out}: {what}, so there is no sealed Secret to add {name} to; nothing was "
            f"written; fix: seal the encryption key first ('{PROG} seal --cert "
            f"{request.cert}'), then run this again"
        )
    if config.secret.key not in found.keys:
        raise SettingError(
            f"{out}: holds no sealed {config.secret.key!r} ([secret] key), so it is not the "
            f"Secret Pocket-ID's key is sealed in; nothing was written; fix: set [secret] key "
            "to the sealed key's name, or seal the encryption key first"
        )
    manifest = _document(found.text)
    annotations = (manifest.get("metadata") or {}).get("annotations") or {}
    scope = sealing.scope_of({str(k): str(v) for k, v in annotations.items()})
    if request.scope not in (scope.value, sealing.Scope.STRICT.value):
        raise SettingError(
            f"{out}: is sealed with scope {scope.value}, and a value sealed with scope "
            f"{request.scope} in the same Secret could not be decrypted with it; nothing "
            "was written; fix: omit --scope (the file's scope is used)"
        )
    row = lookup(name, rendered_for(config))
    assert row is not None  # noqa: S101 - the config checked it against the same table
    value, warnings = sealing.read_setting(
        *_read_key_source(request.from_file or "-", stdin), name, row
    )
    key = config.secret.keys()[name]
    replaced = key in found.keys
    merged = sealing.with_setting(manifest, config, cert, key, value, scope)
    for warning in [*cert.warnings, *warnings]:
        warn(warning)
    text = sealing.SEALED_HEADER + dump_yaml([merged])
    if len(text.encode()) > MAX_OBJECT_BYTES:
        raise sealing.KeyFileError(
            f"the SealedSecret would be {len(text.encode())} bytes, and Kubernetes objects are "
            f"limited to about {size_text(MAX_OBJECT_BYTES)}; nothing was written; fix: seal "
            f"a shorter value for {name}"
        )
    write_text(out, text)
    return Sealed(
        out,
        f"sealed {name} as {key!r} into {out} ({'replaced' if replaced else 'added'}; scope "
        f"{scope.value}, controller key {cert.fingerprint}; the other keys are unchanged)",
        notes=[
            f"Pocket-ID reads it at start: after Argo CD syncs, restart it with kubectl -n "
            f"{config.site.namespace} rollout restart deploy/{config.site.name}"
        ]
        if replaced
        else [],
    )


def _sealed_settings(
    out: Path, config: Config, scope: sealing.Scope, warnings: list[str]
) -> dict[str, str]:
    """The sealed [secret] settings values of the file a rotation replaces, kept as they are
    (each key is decrypted on its own) when the scope stays the same."""
    try:
        found = inspect_sealed_file(out, config.secret.name, config.site.namespace)
    except SealedKeyError:
        return {}  # replaced on request (--rotate) although unrecognised: nothing to keep
    if found.state is not State.SEALED:
        return {}
    manifest = _document(found.text)
    data = (manifest.get("spec") or {}).get("encryptedData") or {}
    annotations = (manifest.get("metadata") or {}).get("annotations") or {}
    was = sealing.scope_of({str(k): str(v) for k, v in annotations.items()})
    kept = {key: str(data[key]) for key in config.secret.keys().values() if key in data}
    if kept and was is not scope:
        warnings.append(
            f"{out}: the sealed settings ({', '.join(kept)}) were sealed with scope "
            f"{was.value} and cannot be decrypted with scope {scope.value}, so they were "
            f"dropped; fix: seal each again with '{PROG} seal --cert CERT.pem --set NAME "
            "--from-file FILE'"
        )
        return {}
    return kept


def _document(text: str) -> dict[str, Any]:
    """The one SealedSecret of a file :func:`inspect_sealed_file` found sealed (it read it
    with the same bounded reader, so this cannot fail)."""
    (document,) = load_documents(text)
    assert isinstance(document, dict)  # noqa: S101 - inspect_sealed_file checked its shape
    return document


def _check_target(out: Path) -> None:
    if out.is_dir():
        raise OutputError(
            f"{out}: is a folder; nothing was written; fix: name the file, e.g. "
            f"--out {out / SEALED_SECRET_FILE}"
        )
    if not out.parent.is_dir():
        raise OutputError(
            f"{out.parent}: no such folder; nothing was written; fix: run '{PROG} render' "
            "first, or name a file in an existing folder with --out"
        )


def _replacing(request: SealRequest, out: Path, name: str, namespace: str) -> bool:
    """Whether ``out`` holds a sealed key (or one this tool cannot identify) that the
    request would replace; refused without --rotate."""
    try:
        replacing = inspect_sealed_file(out, name, namespace).state is State.SEALED
    except SealedKeyError as exc:
        if not request.rotate:
            raise RefusedError(f"{exc.message}; or pass --rotate to replace it") from None
        return True
    if replacing and not request.rotate:
        raise RefusedError(
            f"{out}: already holds a sealed encryption key and was left unchanged; a new key "
            "would leave Pocket-ID unable to read the data encrypted with the old one; fix: "
            f"keep it ('{PROG} render' uses it), or pass --rotate after reading "
            "docs/runbook.md (Rotate the encryption key)"
        )
    return replacing


def _refuse_a_second_key(root: Path, out: Path, name: str, namespace: str) -> None:
    """A sealed key for this Secret in another folder (an earlier app_dir) is moved, never
    doubled by sealing a new one here."""
    elsewhere = sealed_elsewhere(root, out, name, namespace)
    if elsewhere:
        raise RefusedError(
            f"{moved_key_hint(elsewhere, out.parent)}; {out} was left unchanged (or pass "
            "--rotate to seal a new key anyway, after reading docs/runbook.md)"
        )


def _key_printer(key: bytes, out: Path, warn: Callable[[str], None]) -> Callable[[], None]:
    """What prints the key: called when the new file is on disk but not yet in place."""
    warn(
        "the plaintext key follows on stdout; put it in your password manager, "
        "then clear the terminal's scrollback"
    )
    sys.stdout.flush()
    return partial(deliver, key, "the key", f"{out} was left unchanged")


def _read_key_source(name: str, stdin: BinaryIO | None) -> tuple[bytes, str]:
    source = "standard input" if name == "-" else name
    try:
        if name == "-":
            return read_stream_capped(stdin or sys.stdin.buffer, MAX_OBJECT_BYTES), source
        return read_capped(Path(name), MAX_OBJECT_BYTES), source
    except TooLarge:
        raise sealing.KeyFileError(
            f"{source}: larger than {size_text(MAX_OBJECT_BYTES)}, and Kubernetes objects are "
            f"limited to about {size_text(MAX_OBJECT_BYTES)}, so its SealedSecret could never "
            "be applied; it was not read further; fix: name the file that holds only the key"
        ) from None
    except FileNotFoundError:
        raise sealing.KeyFileError(
            f"{name}: no such file; fix: check the --from-file path"
        ) from None
    except OSError as exc:
        raise sealing.KeyFileError(
            f"{name}: cannot be read ({exc.strerror}); fix: check the file and its permissions"
        ) from None
