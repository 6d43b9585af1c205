"""Sealing: compatible with sealed-secrets (three independent openers), and bad certificates."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pocketid_k8s.config import Config
from pocketid_k8s.sealing import (
    CertificateError,
    KeyFileError,
    Scope,
    encryption_label,
    generate_key,
    load_certificate,
    read_key,
    sealed_secret,
)
from tests.conftest import Controller, skip_or_fail
from tests.oracles import kubeseal, unseal_cryptography, unseal_pycryptodome

KEY = b"0123456789abcdef0123456789abcdef-key"


def sealed_value(manifest: dict[str, Any]) -> str:
    value: str = manifest["spec"]["encryptedData"]["encryption-key"]
    return value


def seal(controller: Controller, scope: Scope) -> dict[str, Any]:
    return sealed_secret(Config(), load_certificate(controller.cert), KEY, scope)


LABELS = {
    Scope.STRICT: b"pocket-id/pocket-id-secrets",
    Scope.NAMESPACE_WIDE: b"pocket-id",
    Scope.CLUSTER_WIDE: b"",
}


@pytest.mark.parametrize("scope", list(Scope))
def test_labels_follow_the_scope(scope: Scope) -> None:
    """strict: namespace/name; namespace-wide: namespace; cluster-wide: empty."""
    assert encryption_label("pocket-id", "pocket-id-secrets", scope) == LABELS[scope]


@pytest.mark.parametrize("scope", list(Scope))
def test_round_trip(controller: Controller, scope: Scope) -> None:
    """Our test unsealer gets the key back with the scope's label."""
    value = sealed_value(seal(controller, scope))
    assert unseal_cryptography(controller.key, value, LABELS[scope]) == KEY


def test_layout_is_length_rsa_aes(controller: Controller) -> None:
    """2-byte big-endian length (512 for RSA-4096), then RSA, then AES-GCM with its tag."""
    blob = base64.b64decode(sealed_value(seal(controller, Scope.STRICT)))
    assert blob[:2] == (512).to_bytes(2, "big")
    assert len(blob) == 2 + 512 + len(KEY) + 16


def test_each_seal_uses_a_fresh_session_key(controller: Controller) -> None:
    """Sealing the same key twice gives different ciphertexts."""
    first = sealed_value(seal(controller, Scope.STRICT))
    assert first != sealed_value(seal(controller, Scope.STRICT))


def test_wrong_label_does_not_decrypt(controller: Controller) -> None:
    """A strict value cannot be opened as namespace-wide (moved to another name)."""
    value = sealed_value(seal(controller, Scope.STRICT))
    with pytest.raises(ValueError, match="Decryption failed"):
        unseal_cryptography(controller.key, value, b"pocket-id")


def test_wrong_private_key_does_not_decrypt(controller: Controller) -> None:
    """Another cluster's key cannot open it."""
    value = sealed_value(seal(controller, Scope.STRICT))
    other = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    with pytest.raises(ValueError, match="Decryption failed"):
        unseal_cryptography(other, value, LABELS[Scope.STRICT])


def test_tampered_ciphertext_does_not_decrypt(controller: Controller) -> None:
    """AES-GCM authenticates the value: one flipped bit fails."""
    blob = bytearray(base64.b64decode(sealed_value(seal(controller, Scope.STRICT))))
    blob[-1] ^= 1
    with pytest.raises(InvalidTag):
        unseal_cryptography(controller.key, base64.b64encode(blob).decode(), LABELS[Scope.STRICT])


@pytest.mark.parametrize("scope", list(Scope))
def test_pycryptodome_opens_it(controller: Controller, scope: Scope) -> None:
    """A second implementation (another crypto library) decrypts our output."""
    value = sealed_value(seal(controller, scope))
    assert unseal_pycryptodome(controller.private_pem.read_bytes(), value, LABELS[scope]) == KEY


@pytest.mark.parametrize("scope", list(Scope))
def test_kubeseal_recovery_unseal_opens_it(controller: Controller, scope: Scope) -> None:
    """The real kubeseal, with the controller's private key, opens our SealedSecret."""
    manifest = yaml.safe_dump(seal(controller, scope)).encode()
    out = kubeseal(
        "--recovery-unseal", "--recovery-private-key", str(controller.private_pem), stdin=manifest
    )
    secret = json.loads(out)
    assert base64.b64decode(secret["data"]["encryption-key"]) == KEY
    assert (secret["metadata"]["name"], secret["metadata"]["namespace"]) == (
        "pocket-id-secrets",
        "pocket-id",
    )


@pytest.mark.parametrize("scope", list(Scope))
def test_our_unsealer_opens_what_kubeseal_seals(controller: Controller, scope: Scope) -> None:
    """Compatibility the other way: kubeseal's output opens with upstream's algorithm."""
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "pocket-id-secrets", "namespace": "pocket-id"},
        "data": {"encryption-key": base64.b64encode(KEY).decode()},
    }
    out = kubeseal(
        "--cert",
        str(controller.cert),
        "--format",
        "yaml",
        "--scope",
        scope.value,
        stdin=yaml.safe_dump(secret).encode(),
    )
    sealed = yaml.safe_load(out)
    assert unseal_cryptography(controller.key, sealed_value(sealed), LABELS[scope]) == KEY
    annotations = sealed["metadata"].get("annotations") or {}
    ours = seal(controller, scope)["metadata"].get("annotations") or {}
    ours.pop("pocketid-k8s/cert-sha256")  # our own record of the certificate, not kubeseal's
    assert annotations == ours


@pytest.mark.parametrize("scope", list(Scope))
def test_scope_annotations_inside_and_out(controller: Controller, scope: Scope) -> None:
    """The scope annotation sits on the SealedSecret and on the Secret's template."""
    manifest = seal(controller, scope)
    expected = {} if scope is Scope.STRICT else {f"sealedsecrets.bitnami.com/{scope}": "true"}
    outer = manifest["metadata"].get("annotations", {})
    assert {k: v for k, v in outer.items() if k != "pocketid-k8s/cert-sha256"} == expected
    assert manifest["spec"]["template"]["metadata"].get("annotations", {}) == expected


def test_no_creation_timestamp(controller: Controller) -> None:
    """No creationTimestamp anywhere (Argo CD would show a permanent diff)."""
    text = yaml.safe_dump(seal(controller, Scope.STRICT))
    assert "creationTimestamp" not in text


def test_sealed_secret_validates_against_its_crd(controller: Controller, crd_schemas: Path) -> None:
    """The produced SealedSecret matches bitnami.com/sealedsecret_v1alpha1.json."""
    schema = json.loads((crd_schemas / "bitnami.com/sealedsecret_v1alpha1.json").read_text())
    for scope in Scope:
        jsonschema.validate(seal(controller, scope), schema)


def test_fingerprint_matches_ssh_keygen(controller: Controller, tmp_path: Path) -> None:
    """The key fingerprint is the SSH SHA256 fingerprint sealed-secrets uses."""
    public = controller.key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    path = tmp_path / "key.pub"
    path.write_bytes(public + b" controller\n")
    ssh_keygen = shutil.which("ssh-keygen")
    if ssh_keygen is None:
        skip_or_fail("ssh-keygen is not installed: the fingerprint has no second opinion here")
        return
    listed = subprocess.run(
        [ssh_keygen, "-l", "-E", "sha256", "-f", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert load_certificate(controller.cert).fingerprint == listed.split()[1]


def test_sealed_secret_records_the_certificate_it_was_sealed_for(
    controller: Controller,
) -> None:
    """pocketid-k8s/cert-sha256 is openssl's SHA-256 fingerprint of the certificate, lowercase."""
    openssl = shutil.which("openssl")
    if openssl is None:
        skip_or_fail("openssl is not installed: the certificate digest has no second opinion")
        return
    shown = subprocess.run(
        [openssl, "x509", "-noout", "-fingerprint", "-sha256", "-in", str(controller.cert)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    expected = shown.strip().split("=", 1)[1].replace(":", "").lower()
    for scope in Scope:
        annotations = seal(controller, scope)["metadata"]["annotations"]
        assert annotations["pocketid-k8s/cert-sha256"] == expected
        template = seal(controller, scope)["spec"]["template"]["metadata"]
        assert "pocketid-k8s/cert-sha256" not in template.get("annotations", {})


# --- keys -----------------------------------------------------------------------------------


def test_generated_key_is_43_url_safe_characters() -> None:
    """32 random bytes as unpadded URL-safe base64, no newline, different every time."""
    keys = {generate_key() for _ in range(20)}
    assert len(keys) == 20
    for key in keys:
        assert re.fullmatch(rb"[A-Za-z0-9_-]{43}", key)
        assert len(base64.urlsafe_b64decode(key + b"=")) == 32


def test_one_trailing_newline_is_stripped_with_a_warning() -> None:
    """Exactly one: the rest of the key is left as it is."""
    key, warnings = read_key(KEY + b"\n", "k.txt")
    assert key == KEY
    assert warnings[0].startswith("k.txt: one trailing newline was removed from the key")
    assert read_key(KEY, "k.txt") == (KEY, [])


def test_a_byte_order_mark_is_stripped_with_a_warning() -> None:
    """A UTF-8 BOM an editor added is not sealed into the key (issue 18 item 1)."""
    key, warnings = read_key(b"\xef\xbb\xbf" + KEY + b"\n", "k.txt")
    assert key == KEY
    assert warnings[0] == (
        "k.txt: a UTF-8 byte-order mark (added by some editors) was removed from the start of "
        "the key (Pocket-ID would take its 3 bytes as part of the key)"
    )


@pytest.mark.parametrize(
    "data",
    [KEY + b"\n\n", b"# the key\n" + KEY + b"\n", KEY[:20] + b"\r\n" + KEY[20:]],
    ids=["two-newlines", "comment-line", "inner-crlf"],
)
def test_a_key_of_several_lines_is_refused_unshown(data: bytes) -> None:
    """A line break inside or after the key is refused with the fix, the key never quoted."""
    with pytest.raises(KeyFileError) as caught:
        read_key(data, "k.txt")
    assert caught.value.message == (
        "k.txt: holds more than one line (a line break inside the key, or a second one after "
        "it), but a key is one line (it was not sealed and is not shown); fix: put only the key "
        "in the file, on one line"
    )


@pytest.mark.parametrize(
    "data",
    [b"ENCRYPTION_KEY=" + KEY + b"\n", b"export ENCRYPTION_KEY=" + KEY + b"\nLOG_LEVEL=info\n"],
    ids=["one-line", "env-file"],
)
def test_an_env_file_line_is_refused_unshown(data: bytes) -> None:
    """NAME=value is refused naming the variable and the fix, never the key (item 2)."""
    with pytest.raises(KeyFileError) as caught:
        read_key(data, "k.env")
    assert caught.value.message == (
        "k.env: starts with 'ENCRYPTION_KEY=', as an env file does, so it is not the key alone "
        "(the key was not sealed and is not shown); fix: give only the value, e.g. "
        "sed -n 's/^\\(export \\)*ENCRYPTION_KEY=//p' k.env | pocketid-k8s seal --cert "
        "CERT.pem --from-file -"
    )
    assert KEY.decode() not in caught.value.message


def test_base64_padding_is_not_an_assignment() -> None:
    """A padded base64 key ends in '=', which is not NAME=value."""
    padded = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVg=="
    assert read_key(padded, "k.txt") == (padded, [])


def test_short_key_is_rejected() -> None:
    """Pocket-ID needs at least 16 bytes."""
    with pytest.raises(KeyFileError) as caught:
        read_key(b"short-key-15byt\n", "k.txt")
    assert caught.value.message == (
        "k.txt: the key has 15 bytes, but Pocket-ID needs at least 16; fix: use the key your "
        "installation runs with, or omit --from-file to generate a new one"
    )


# --- certificates ---------------------------------------------------------------------------


FETCH = (
    "fix: fetch it with 'kubeseal --fetch-cert --controller-name sealed-secrets "
    "--controller-namespace kube-system > sealed-secrets.pem'"
)


@pytest.mark.parametrize(
    ("which", "message"),
    [
        ("missing", "{path}: no such file; " + FETCH),
        (
            "garbage",
            "{path}: not a PEM certificate (no '-----BEGIN CERTIFICATE-----' line); " + FETCH,
        ),
        ("broken", "{path}: the PEM certificate cannot be parsed; " + FETCH),
        (
            "ec",
            "{path}: holds an elliptic-curve (EC) key, but sealed-secrets seals with RSA-OAEP; "
            "fix: use the sealed-secrets controller's own certificate",
        ),
        (
            "rsa1024",
            "{path}: its RSA key has 1024 bits, too weak to protect the key (at least 2048); "
            "fix: use the sealed-secrets controller's own certificate (its keys have 4096 bits)",
        ),
        (
            "expired",
            "{path}: expired on {day}; the controller has renewed its key since; " + FETCH,
        ),
    ],
)
def test_bad_certificates(bad_certs: dict[str, Path], which: str, message: str) -> None:
    """Each unfit certificate gets one clear message."""
    path = bad_certs[which]
    with pytest.raises(CertificateError) as caught:
        load_certificate(path)
    day = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
    assert caught.value.message == message.format(path=path, day=day)


def test_expiring_certificate_warns(bad_certs: dict[str, Path]) -> None:
    """Within 30 days of expiry: a warning, and sealing still works."""
    cert = load_certificate(bad_certs["expiring"])
    assert len(cert.warnings) == 1
    assert "fetch the renewed certificate soon" in cert.warnings[0]
