"""Test-only peers that open sealed values, each sharing no code with the project.

- :func:`unseal_cryptography`: a straight reading of upstream's ``singleDecrypt``;
- :func:`unseal_pycryptodome`: the same with another crypto library (PyCryptodome);
- :func:`kubeseal`: the controller project's own command, built by ``make peers``.
"""

from __future__ import annotations

import base64
import os
import shutil
import struct
import subprocess
from pathlib import Path

from Crypto.Cipher import AES, PKCS1_OAEP
from Crypto.Hash import SHA256
from Crypto.PublicKey import RSA
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tests.conftest import ROOT, skip_or_fail

KUBESEAL_VERSION = "v0.36.6"


def split(sealed_b64: str) -> tuple[bytes, bytes]:
    blob = base64.b64decode(sealed_b64, validate=True)
    (length,) = struct.unpack(">H", blob[:2])
    return blob[2 : 2 + length], blob[2 + length :]


def unseal_cryptography(key: rsa.RSAPrivateKey, sealed_b64: str, label: bytes) -> bytes:
    wrapped, body = split(sealed_b64)
    session = key.decrypt(
        wrapped,
        padding.OAEP(
            mgf=padding.MGF1(algorithm=hashes.SHA256()),
            algorithm=hashes.SHA256(),
            label=label or None,
        ),
    )
    return AESGCM(session).decrypt(bytes(12), body, None)


def unseal_pycryptodome(private_pem: bytes, sealed_b64: str, label: bytes) -> bytes:
    wrapped, body = split(sealed_b64)
    rsa_key = RSA.import_key(private_pem)
    session = PKCS1_OAEP.new(rsa_key, hashAlgo=SHA256, label=label).decrypt(wrapped)
    cipher = AES.new(session, AES.MODE_GCM, nonce=bytes(12))
    plaintext: bytes = cipher.decrypt_and_verify(body[:-16], body[-16:])
    return plaintext


def kubeseal_path() -> Path:
    """The pinned kubeseal: $KUBESEAL, .tools/bin (make peers), or PATH."""
    candidates = [os.environ.get("KUBESEAL"), str(ROOT / ".tools/bin/kubeseal")]
    candidates.append(shutil.which("kubeseal"))
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            version = subprocess.run(
                [candidate, "--version"], capture_output=True, text=True, check=False
            ).stdout
            if KUBESEAL_VERSION in version:
                return Path(candidate)
    skip_or_fail(
        f"kubeseal {KUBESEAL_VERSION} not found (run 'make peers', which needs Go and the Go "
        "module proxy); the comparison with the real sealed-secrets is not run"
    )
    raise AssertionError("unreachable")


def kubeseal(*args: str, stdin: bytes) -> bytes:
    result = subprocess.run(
        [str(kubeseal_path()), *args], input=stdin, capture_output=True, check=False
    )
    if result.returncode != 0:
        raise AssertionError(f"kubeseal {args[0]} failed: {result.stderr.decode()[:500]}")
    return result.stdout
