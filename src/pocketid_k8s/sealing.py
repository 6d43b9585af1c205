"""Seal the encryption key offline for the Bitnami sealed-secrets controller.

Bit-compatible with sealed-secrets' ``pkg/crypto/crypto.go`` (HybridEncrypt):
for each value a fresh 32-byte AES-256-GCM session key and a zero 12-byte
nonce, no additional data; the session key wrapped with RSA-OAEP (SHA-256 for
the hash and MGF1) under the controller's public key, with the scope label as
the OAEP label. Layout: 2-byte big-endian length of the RSA ciphertext, the RSA
ciphertext, the AES-GCM ciphertext with its tag; standard padded base64.

The plaintext key lives only in memory: it is never written to a file, a log
or an error message by this module.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pocketid_k8s.config import Config
from pocketid_k8s.contract import pocketid as pid
from pocketid_k8s.contract import sealed_secrets as ss
from pocketid_k8s.contract.table import FileVariant, Var
from pocketid_k8s.errors import PocketIdK8sError
from pocketid_k8s.limits import MAX_PEM_BYTES, TooLarge, read_capped, size_text
from pocketid_k8s.render import Manifest
from pocketid_k8s.render.secret import sealed_secret as sealed_secret_object

__all__ = [
    "MIN_KEY_BYTES",
    "MIN_RSA_BITS",
    "ROTATION_NOTE",
    "SEALED_HEADER",
    "ControllerCertificate",
    "KeyFileError",
    "Scope",
    "encryption_label",
    "generate_key",
    "hybrid_encrypt",
    "load_certificate",
    "read_key",
    "read_setting",
    "scope_of",
    "sealed_secret",
    "with_setting",
]

PROG: Final = "pocketid-k8s"
MIN_KEY_BYTES: Final = pid.MIN_KEY_BYTES
"""Pocket-ID refuses a shorter ENCRYPTION_KEY."""
MIN_RSA_BITS: Final = 2048
SESSION_KEY_BYTES: Final = 32
NONCE: Final = bytes(12)
"""Each session key encrypts one value only, so a zero nonce is safe (as upstream)."""
EXPIRY_WARNING: Final = timedelta(days=30)
SEALED_HEADER: Final = (
    "# Sealed by 'pocketid-k8s seal': safe to commit; only the cluster's sealed-secrets\n"
    "# controller can decrypt it. Never replace it without reading docs/runbook.md.\n"
)
ROTATION_NOTE: Final = (
    "Rotation replaces the key Pocket-ID encrypts its signing keys (and SCIM tokens) with; "
    "an installation that has data cannot read them with the new key. Before Argo CD syncs "
    "this file, re-encrypt the data while the old key is still in place: "
    f"kubectl -n {{namespace}} exec deploy/{{name}} -- {pid.BINARY} {pid.KEY_ROTATE_COMMAND} "
    "--new-key <the new key> --yes (then let the sync restart the pod). On an empty volume "
    "nothing else is needed. Backups taken before the rotation still need the old key: "
    "keep it."
)


class Scope(StrEnum):
    """Where the sealed value may be decrypted: the wire names kubeseal uses."""

    STRICT = "strict"
    NAMESPACE_WIDE = "namespace-wide"
    CLUSTER_WIDE = "cluster-wide"


class CertificateError(PocketIdK8sError):
    """The controller's certificate is missing, unreadable or unfit for sealing."""


class KeyFileError(PocketIdK8sError):
    """The key given with --from-file is missing, unreadable or too short."""


def encryption_label(namespace: str, name: str, scope: Scope) -> bytes:
    """The OAEP label that binds a sealed value to its place (EncryptionLabel upstream)."""
    if scope is Scope.CLUSTER_WIDE:
        return b""
    if scope is Scope.NAMESPACE_WIDE:
        return namespace.encode()
    return f"{namespace}/{name}".encode()


def hybrid_encrypt(public_key: rsa.RSAPublicKey, plaintext: bytes, label: bytes) -> bytes:
    """sealed-secrets' HybridEncrypt: RSA-OAEP-wrapped session key + AES-256-GCM."""
    session_key = secrets.token_bytes(SESSION_KEY_BYTES)
    wrapped = public_key.encrypt(
        session_key,
        padding.OAEP(
            mgf=padding.MGF1(algorithm=hashes.SHA256()),
            algorithm=hashes.SHA256(),
            label=label or None,
        ),
    )
    sealed = AESGCM(session_key).encrypt(NONCE, plaintext, None)
    return struct.pack(">H", len(wrapped)) + wrapped + sealed


@dataclass(frozen=True)
class ControllerCertificate:
    """The sealed-secrets controller's public certificate, checked for sealing."""

    public_key: rsa.RSAPublicKey
    not_after: datetime
    fingerprint: str
    """SHA256:<base64>, as sealed-secrets names its keys (an SSH public-key fingerprint)."""
    sha256: str
    """Lowercase hex SHA-256 of the certificate's DER (recorded on the SealedSecret)."""
    warnings: tuple[str, ...] = ()


def load_certificate(path: Path, now: datetime | None = None) -> ControllerCertificate:
    """Read and check the PEM that ``kubeseal --fetch-cert`` prints."""
    fetch = (
        f"fix: fetch it with 'kubeseal --fetch-cert --controller-name {ss.CONTROLLER_NAME} "
        f"--controller-namespace {ss.CONTROLLER_NAMESPACE} > sealed-secrets.pem'"
    )
    try:
        data = read_capped(path, MAX_PEM_BYTES)
    except TooLarge:
        raise CertificateError(
            f"{path}: larger than {size_text(MAX_PEM_BYTES)}, so not the certificate "
            f"'kubeseal --fetch-cert' prints (about 2 KiB); it was not read further; {fetch}"
        ) from None
    except FileNotFoundError:
        raise CertificateError(f"{path}: no such file; {fetch}") from None
    except IsADirectoryError:
        raise CertificateError(f"{path}: is a folder, not a certificate file; {fetch}") from None
    except OSError as exc:
        raise CertificateError(f"{path}: cannot be read ({exc.strerror}); {fetch}") from None
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise CertificateError(
            f"{path}: not a PEM certificate (no '-----BEGIN CERTIFICATE-----' line); {fetch}"
        )
    try:
        cert = x509.load_pem_x509_certificate(data)
        key = cert.public_key()
        not_after = cert.not_valid_after_utc
    except (ValueError, TypeError, x509.InvalidVersion, UnsupportedAlgorithm) as exc:
        # cryptography parses lazily: a key or version it cannot decode fails only when read
        what = "'s public key" if isinstance(exc, UnsupportedAlgorithm) else ""
        raise CertificateError(
            f"{path}: the PEM certificate{what} cannot be parsed; {fetch}"
        ) from None
    if not isinstance(key, rsa.RSAPublicKey):
        kind = (
            "an elliptic-curve (EC)" if isinstance(key, ec.EllipticCurvePublicKey) else "a non-RSA"
        )
        raise CertificateError(
            f"{path}: holds {kind} key, but sealed-secrets seals with RSA-OAEP; fix: use "
            "the sealed-secrets controller's own certificate"
        )
    if key.key_size < MIN_RSA_BITS:
        raise CertificateError(
            f"{path}: its RSA key has {key.key_size} bits, too weak to protect the key "
            f"(at least {MIN_RSA_BITS}); fix: use the sealed-secrets controller's own "
            "certificate (its keys have 4096 bits)"
        )
    now = now or datetime.now(UTC)
    if not_after <= now:
        raise CertificateError(
            f"{path}: expired on {not_after:%Y-%m-%d}; the controller has renewed its key "
            f"since; {fetch}"
        )
    warnings = []
    if not_after - now < EXPIRY_WARNING:
        warnings.append(
            f"{path}: expires on {not_after:%Y-%m-%d}; sealing still works (the controller "
            "keeps old keys to decrypt), but fetch the renewed certificate soon"
        )
    return ControllerCertificate(
        key, not_after, _fingerprint(key), cert_sha256(cert), tuple(warnings)
    )


def cert_sha256(cert: x509.Certificate) -> str:
    """Lowercase hex SHA-256 of the certificate's DER encoding."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _fingerprint(key: rsa.RSAPublicKey) -> str:
    openssh = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    blob = base64.b64decode(openssh.split()[1])
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def generate_key() -> bytes:
    """32 random bytes as URL-safe base64 without padding or newline (43 ASCII bytes)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=")


_BOM: Final = b"\xef\xbb\xbf"
_ASSIGNMENT: Final = re.compile(rb"^(?:export[ \t]+)?([A-Z_][A-Z0-9_]*)[ \t]*=(?!=*$)")
"""``NAME=value`` as an env file writes it; base64 padding (``...==`` at the end) is not one."""


def read_key(data: bytes, source: str) -> tuple[bytes, list[str]]:
    """Check a key read from a file: strip a UTF-8 byte-order mark and exactly one trailing
    newline, each with a warning; refuse what is not one key (an env file, several lines).

    No message quotes the key or any part of it.
    """
    warnings = []
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
        warnings.append(
            f"{source}: a UTF-8 byte-order mark (added by some editors) was removed from the "
            "start of the key (Pocket-ID would take its 3 bytes as part of the key)"
        )
    ending = b"\r\n" if data.endswith(b"\r\n") else b"\n" if data.endswith(b"\n") else b""
    if ending:
        data = data[: -len(ending)]
        what = "line ending (CRLF)" if ending == b"\r\n" else "newline"
        warnings.append(
            f"{source}: one trailing {what} was removed from the key (Pocket-ID would take "
            "it as part of the key); if your running installation was given the key with "
            f"that {what}, seal the file unchanged another way"
        )
    assignment = _ASSIGNMENT.match(data)
    if assignment:
        name = assignment.group(1).decode()
        file = source if source != "standard input" else "FILE"
        raise KeyFileError(
            f"{source}: starts with '{name}=', as an env file does, so it is not the key alone "
            "(the key was not sealed and is not shown); fix: give only the value, e.g. "
            f"sed -n 's/^\\(export \\)*{name}=//p' {file} | "
            f"{PROG} seal --cert CERT.pem --from-file -"
        )
    if b"\n" in data or b"\r" in data:
        raise KeyFileError(
            f"{source}: holds more than one line (a line break inside the key, or a second one "
            "after it), but a key is one line (it was not sealed and is not shown); fix: put "
            "only the key in the file, on one line"
        )
    if len(data) < MIN_KEY_BYTES:
        raise KeyFileError(
            f"{source}: the key has {len(data)} bytes, but Pocket-ID needs at least "
            f"{MIN_KEY_BYTES}; fix: use the key your installation runs with, or omit "
            "--from-file to generate a new one"
        )
    return data, warnings


def sealed_secret(
    config: Config,
    cert: ControllerCertificate,
    key: bytes,
    scope: Scope = Scope.STRICT,
    settings: dict[str, str] | None = None,
) -> Manifest:
    """The SealedSecret holding ``key`` under ``[secret] key``, for the given scope, and the
    already sealed ``settings`` (Secret key -> sealed value, sealed with the same scope).

    It records the certificate it was sealed for (``pocketid-k8s/cert-sha256``), so
    that preflight can tell when the controller's key has changed since.
    """
    label = encryption_label(config.site.namespace, config.secret.name, scope)
    encrypted = base64.b64encode(hybrid_encrypt(cert.public_key, key, label)).decode()
    scope_annotations = {}
    if scope is not Scope.STRICT:
        scope_annotations[f"{ss.ANNOTATION_PREFIX}/{scope.value}"] = "true"
    return sealed_secret_object(
        config,
        encrypted,
        annotations={ss.CERT_SHA256_ANNOTATION: cert.sha256},
        scope_annotations=scope_annotations,
        settings=settings,
    )


def read_setting(data: bytes, source: str, name: str, row: Var) -> tuple[bytes, list[str]]:
    """Check a secret setting's value read from a file: a UTF-8 byte-order mark and one
    trailing newline are removed (each with a warning where Pocket-ID would keep it); an env
    file's ``NAME=`` line and an empty value are refused. No message quotes the value."""
    warnings = []
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
        warnings.append(
            f"{source}: a UTF-8 byte-order mark (added by some editors) was removed from the "
            f"start of {name} (Pocket-ID would take its 3 bytes as part of it)"
        )
    ending = b"\r\n" if data.endswith(b"\r\n") else b"\n" if data.endswith(b"\n") else b""
    if ending:
        data = data[: -len(ending)]
        if row.file is FileVariant.UNTRIMMED:
            warnings.append(
                f"{source}: one trailing newline was removed from {name} (Pocket-ID reads "
                f"{name}_FILE untrimmed and would take it as part of the value)"
            )
    file = source if source != "standard input" else "FILE"
    if re.match(rb"^(?:export[ \t]+)?" + re.escape(name.encode()) + rb"[ \t]*=", data):
        raise KeyFileError(
            f"{source}: starts with '{name}=', as an env file does, so it is not the value "
            "alone (it was not sealed and is not shown); fix: give only the value, e.g. "
            f"sed -n 's/^\\(export \\)*{name}=//p' {file} | "
            f"{PROG} seal --cert CERT.pem --set {name} --from-file -"
        )
    if not data.strip():
        raise KeyFileError(
            f"{source}: holds no value for {name} (empty or blank), so nothing was sealed; "
            f"fix: put the value in the file, or remove {name} from [secret] settings"
        )
    if row.min_bytes is not None and len(data) < row.min_bytes:
        raise KeyFileError(
            f"{source}: {name} has {len(data)} bytes, but Pocket-ID needs at least "
            f"{row.min_bytes}; nothing was sealed; fix: use a longer value, e.g. "
            "openssl rand -base64 32"
        )
    return data, warnings


def scope_of(annotations: dict[str, str]) -> Scope:
    """The scope a SealedSecret was sealed with, from its annotations (strict without)."""
    if annotations.get(ss.CLUSTER_WIDE) == "true":
        return Scope.CLUSTER_WIDE
    if annotations.get(ss.NAMESPACE_WIDE) == "true":
        return Scope.NAMESPACE_WIDE
    return Scope.STRICT


def with_setting(
    manifest: Manifest,
    config: Config,
    cert: ControllerCertificate,
    key: str,
    value: bytes,
    scope: Scope,
) -> Manifest:
    """``manifest`` (a sealed SealedSecret) with ``value`` sealed under ``key``, added or
    replacing that key alone: sealed-secrets decrypts each key on its own, so the encryption
    key and the other values stay as they were. ``scope`` must be the one the file was
    sealed with (:func:`scope_of` its annotations)."""
    label = encryption_label(config.site.namespace, config.secret.name, scope)
    encrypted = base64.b64encode(hybrid_encrypt(cert.public_key, value, label)).decode()
    spec = dict(manifest["spec"])
    spec["encryptedData"] = {**spec["encryptedData"], key: encrypted}
    return {**manifest, "spec": spec}
