"""Property: the files the tool reads back, mutated any way, never crash a command.

Site configs (TOML), the app folder's sealedsecret.yaml, AppProject files and the
controller's certificate are mutated structurally (a value replaced by one of another
type, deleted, huge numbers, deep nesting, odd tags, anchors, NUL, unicode, BOM, CRLF)
and fed to the command line. Each run must end with exit 0, 1 or 2 (never 70, a bug),
print no traceback, take bounded time, and leave a file it refused byte for byte as it
was. Inputs that once failed are kept as ``@example``s.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import io
import json
import re
import time
import tomllib
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID
from hypothesis import example, given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from pocketid_k8s.cli import main
from tests.conftest import Controller

SECONDS = 10.0
"""Bound on one command's time on a shared, slow machine (each takes well under one)."""
ALLOWED = {0, 1, 2}
STARTER = tomllib.loads((files("pocketid_k8s") / "starter.toml").read_text(encoding="utf-8"))
APP = Path("k8s-apps/utilities/pocket-id")


def cli(*argv: str) -> tuple[int, str]:
    """Run the command line in this process: (exit code, stdout + stderr), time-bounded."""
    out, err = io.StringIO(), io.StringIO()
    start = time.monotonic()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    elapsed = time.monotonic() - start
    text = out.getvalue() + err.getvalue()
    assert elapsed < SECONDS, f"took {elapsed:.1f} s: {text[-500:]}"
    assert "Traceback" not in text, text
    assert code in ALLOWED, text
    return code, text


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


# --- values of every type, as TOML and YAML write them -------------------------------------

TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from("\x00\r\n\t\ufeff"),
    max_size=40,
)
HUGE = st.integers(min_value=-(10**400), max_value=10**400) | st.sampled_from(
    [2**63, -(2**63) - 1, 10**400, 10**4200, 0, -1]
)
SCALARS = (
    TEXT
    | HUGE
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.booleans()
    | st.datetimes(timezones=st.none() | st.just(dt.UTC))
    | st.dates()
    | st.sampled_from(
        ["9" * 400, "9" * 400 + "Gi", "1e400", "0.0000001", "-1", "/data", "é.example"]
    )
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def toml_value(value: Any) -> str:  # noqa: PLR0911 - the test's own TOML writer
    """``value`` as a TOML value (tests have no TOML writer; tomllib only reads)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, float):
        return {"inf": "inf", "-inf": "-inf", "nan": "nan"}.get(str(value), repr(value))
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def toml_text(data: dict[str, dict[str, Any]]) -> str:
    lines = []
    for section, table in data.items():
        lines.append(f"[{json.dumps(section)}]")
        lines += [f"{json.dumps(key)} = {toml_value(value)}" for key, value in table.items()]
    return "\n".join(lines) + "\n"


TEXT_MUTATIONS: dict[str, Callable[[str, int], str]] = {
    "none": lambda text, _: text,
    "bom": lambda text, _: "\ufeff" + text,
    "crlf": lambda text, _: text.replace("\n", "\r\n"),
    "nul": lambda text, at: text[:at] + "\x00" + text[at:],
    "cut": lambda text, at: text[:at],
    "deep": lambda text, at: text[:at] + "[" * 300 + "]" * 300 + text[at:],
}


@st.composite
def site_configs(draw: st.DrawFn) -> bytes:
    """The starter config with a few values replaced, deleted or added, then a text change."""
    data = {section: dict(table) for section, table in STARTER.items()}
    for _ in range(draw(st.integers(1, 3))):
        section = draw(st.sampled_from(sorted(data)))
        key = draw(st.sampled_from(sorted(data[section])) | TEXT)
        if draw(st.booleans()) and key in data[section]:
            del data[section][key]
        else:
            data[section][key] = draw(VALUES)
    text = toml_text(data)
    mutate = draw(st.sampled_from(sorted(TEXT_MUTATIONS)))
    text = TEXT_MUTATIONS[mutate](text, draw(st.integers(0, len(text))))
    return text.encode("utf-8", "surrogatepass")


@given(config=site_configs())
@example(config=b'[deployment]\nmemory_limit = "' + b"9" * 400 + b'"\n')
@example(config=b'[deployment]\ncpu_request = "' + b"9" * 400 + b'"\n')
@example(config=b'[site]\napp_dir = "apps/\\u0000pid"\n')
@example(config=b'[deployment]\ndata_mount_path = "/app/\\u0000data"\n')
@example(config=b"[pocket_id]\nenv = {A = " + b"[" * 900 + b"]" * 900 + b"}\n")
@example(config=b"[deployment]\nreplicas = " + b"1" * 5000 + b"\n")
@example(config=b"[deployment]\nreplicas = " + b"1" * 4000 + b"\n")
def test_fuzz_render_any_config(tmp_path_factory: pytest.TempPathFactory, config: bytes) -> None:
    """render on a mutated config: exit 0/1/2, no traceback, nothing written when refused."""
    root = tmp_path_factory.mktemp("render")
    path = root / "pocket-id.toml"
    path.write_bytes(config)
    out = root / "out"
    code, text = cli("render", "--config", str(path), "--out", str(out))
    if code != 0:
        assert not out.exists() or snapshot(out) == {}, text
    assert path.read_bytes() == config


# --- sealedsecret.yaml ------------------------------------------------------------------------

YAML_VALUES = st.recursive(
    st.none() | st.booleans() | HUGE | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
YAML_TEXT_MUTATIONS: dict[str, Callable[[str, int], str]] = {
    **TEXT_MUTATIONS,
    "deep": lambda text, _: text + "deep: " + "[" * 500 + "]" * 500 + "\n",
    "tag-float": lambda text, _: text.replace("spec:", "spec: !!float x\nold:", 1),
    "tag-int": lambda text, _: text.replace("kind:", "count: !!int x\nkind:", 1),
    "merge-self": lambda text, _: text.replace("metadata:", "metadata: &a\n  <<: *a", 1),
    "laughs": lambda text, _: (
        text
        + "l0: &l0 [1, 2, 3, 4, 5, 6, 7, 8, 9]\n"
        + "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 9))
    ),
    "document": lambda text, _: text + "---\n" + text,
    "tab": lambda text, at: text[:at] + "\t" + text[at:],
}


def _paths(node: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _replace(node: Any, path: tuple[object, ...], value: object) -> Any:
    if not path:
        return value
    node[path[0]] = _replace(node[path[0]], path[1:], value)
    return node


@st.composite
def mutated_yaml(draw: st.DrawFn, text: str) -> str:
    """``text`` with one value replaced (or deleted) through a round trip, then a text change."""
    yaml = YAML(typ="rt")
    document = yaml.load(text)
    paths = _paths(document)[1:]
    if draw(st.booleans()) and paths:
        path = draw(st.sampled_from(paths))
        if draw(st.booleans()) and path:
            parent = document
            for part in path[:-1]:
                parent = parent[part]
            del parent[path[-1]]
        else:
            document = _replace(document, path, draw(YAML_VALUES))
    out = io.StringIO()
    with contextlib.suppress(Exception):  # a value ruamel cannot write: mutate the text only
        yaml.dump(document, out)
        text = out.getvalue()
    mutate = draw(st.sampled_from(sorted(YAML_TEXT_MUTATIONS)))
    return YAML_TEXT_MUTATIONS[mutate](text, draw(st.integers(0, len(text))))


def _rendered_site(root: Path) -> Path:
    code, text = cli("render", "--out", str(root))
    assert code == 0, text
    return root / APP / "sealedsecret.yaml"


SEALED_TEMPLATE = """\
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: pocket-id-secrets
  namespace: pocket-id
  annotations:
    pocketid-k8s/cert-sha256: abc
spec:
  encryptedData:
    encryption-key: AgBy3i4OJSWK+PiTySYZZA==
  template:
    metadata:
      name: pocket-id-secrets
      namespace: pocket-id
    type: Opaque
"""


def _render_and_seal(root: Path, sealed: Path, cert: Path, text: str) -> tuple[int, int]:
    """Exit codes of render and of seal on ``text`` as sealedsecret.yaml; each refusal leaves
    the file byte for byte as it was."""
    sealed.write_bytes(text.encode("utf-8", "surrogatepass"))
    before = sealed.read_bytes()
    rendered, _ = cli("render", "--out", str(root))
    if rendered != 0:
        assert sealed.read_bytes() == before
    sealed.write_bytes(before)
    sealed_code, _ = cli("seal", "--cert", str(cert), "--out", str(sealed))
    if sealed_code != 0:
        assert sealed.read_bytes() == before
    return rendered, sealed_code


@given(data=st.data())
def test_fuzz_sealed_secret_file(
    tmp_path_factory: pytest.TempPathFactory, controller: Controller, data: st.DataObject
) -> None:
    """render and seal on a mutated sealedsecret.yaml: exit 0/1/2; a refused file unchanged."""
    root = tmp_path_factory.mktemp("sealed")
    sealed = _rendered_site(root)
    start = data.draw(st.sampled_from([SEALED_TEMPLATE, sealed.read_text()]))
    _render_and_seal(root, sealed, controller.cert, data.draw(mutated_yaml(start)))


@pytest.mark.parametrize(
    "text",
    [
        SEALED_TEMPLATE.replace("spec:\n", "spec: x\nold:\n"),
        SEALED_TEMPLATE.replace("  annotations:\n", "  annotations: 5\n  old:\n"),
        SEALED_TEMPLATE.replace("spec:\n", "spec: !!float x\nold:\n"),
        SEALED_TEMPLATE + "deep: " + "[" * 500 + "]" * 500 + "\n",
    ],
    ids=["spec-x", "annotations-5", "float-tag", "deep"],
)
def test_the_issues_sealed_secret_files_are_refused_unchanged(
    tmp_path: Path, controller: Controller, text: str
) -> None:
    """Issue 17's sealedsecret.yaml inputs: render exits 2 and seal 1, the file unchanged."""
    sealed = _rendered_site(tmp_path)
    assert _render_and_seal(tmp_path, sealed, controller.cert, text) == (2, 1)


# --- AppProject files ------------------------------------------------------------------------

PROJECT = """\
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: utilities  # the project
spec:
  sourceRepos:
  - '*'
  destinations:
  - namespace: paperless
    server: https://kubernetes.default.svc
  clusterResourceWhitelist:
  - group: ''
    kind: Namespace
  namespaceResourceBlacklist:
  - group: ''
    kind: ResourceQuota
"""


@given(text=mutated_yaml(PROJECT))
@example(text=PROJECT.replace("spec:", "deep: " + "[" * 250 + "]" * 250 + "\nspec:"))
@example(text=PROJECT.replace("  sourceRepos:", "  count: !!int x\n  sourceRepos:"))
@example(text=PROJECT.replace("  destinations:\n", "  destinations: 5\n  old:\n"))
def test_fuzz_allow_namespace(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    """argocd allow-namespace on a mutated AppProject: exit 0/1/2; a refused file unchanged."""
    root = tmp_path_factory.mktemp("project")
    path = root / "project.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    before = path.read_bytes()
    code, _ = cli("argocd", "allow-namespace", str(path), "--check")
    assert path.read_bytes() == before
    code, _ = cli("argocd", "allow-namespace", str(path))
    if code != 0:
        assert path.read_bytes() == before


# --- certificates ----------------------------------------------------------------------------


def _certificate(key: Any) -> bytes:
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sealed-secret")])
    now = dt.datetime.now(dt.UTC)
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, algorithm)
    )
    return cert.public_bytes(serialization.Encoding.DER)


DERS = {
    "rsa": _certificate(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    "ec": _certificate(ec.generate_private_key(ec.SECP256R1())),
    "ed25519": _certificate(ed25519.Ed25519PrivateKey.generate()),
}


def pem(der: bytes, label: str = "CERTIFICATE") -> bytes:
    body = base64.encodebytes(der).decode()
    return f"-----BEGIN {label}-----\n{body}-----END {label}-----\n".encode()


def version_five(der: bytes) -> bytes:
    """The certificate with its version field set to 5 (x509.InvalidVersion when read)."""
    return der.replace(b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x05", 1)


def broken_key(der: bytes) -> bytes:
    """The RSA key's algorithm identifier changed to an unknown one (decoded lazily)."""
    rsa_oid = bytes.fromhex("2a864886f70d010101")
    return der.replace(rsa_oid, bytes.fromhex("2a864886f70d01017f"), 1)


@st.composite
def certificates(draw: st.DrawFn) -> bytes:
    der = bytearray(DERS[draw(st.sampled_from(sorted(DERS)))])
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(der) - 1))
        der[at] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        der = der[: draw(st.integers(0, len(der)))]
    text = pem(bytes(der), draw(st.sampled_from(["CERTIFICATE", "PUBLIC KEY", "X509 CRL"])))
    if draw(st.booleans()):
        text = text.replace(b"\n", b"\r\n")
    if draw(st.booleans()):
        text = b"\xef\xbb\xbf" + text
    return text


@given(cert=certificates())
@example(cert=pem(version_five(DERS["rsa"])))
@example(cert=pem(broken_key(DERS["rsa"])))
@example(cert=pem(DERS["ed25519"]))
def test_fuzz_seal_certificate(tmp_path_factory: pytest.TempPathFactory, cert: bytes) -> None:
    """seal --cert with a mutated certificate: exit 0/1/2, no traceback, nothing else written."""
    root = tmp_path_factory.mktemp("cert")
    path = root / "cert.pem"
    path.write_bytes(cert)
    out = root / "sealed.yaml"
    code, _ = cli("seal", "--cert", str(path), "--out", str(out))
    assert out.exists() == (code == 0)


def test_the_regressions_are_the_issues_examples() -> None:
    """The kept examples still hold the shapes issue 17 named (a guard against edits)."""
    assert re.search(rb"\xa0\x03\x02\x01\x05", version_five(DERS["rsa"]))
    assert broken_key(DERS["rsa"]) != DERS["rsa"]


@pytest.mark.parametrize(
    ("der", "problem"),
    [
        (version_five(DERS["rsa"]), "the PEM certificate cannot be parsed"),
        (broken_key(DERS["rsa"]), "the PEM certificate's public key cannot be parsed"),
    ],
    ids=["invalid-version", "undecodable-key"],
)
def test_the_issues_certificates_are_one_message(tmp_path: Path, der: bytes, problem: str) -> None:
    """Issue 17's certificates (decoded lazily by cryptography): exit 2, one message."""
    path = tmp_path / "cert.pem"
    path.write_bytes(pem(der))
    code, text = cli("seal", "--cert", str(path), "--out", str(tmp_path / "sealed.yaml"))
    assert code == 2
    assert f"{path}: {problem}; fix: fetch it with 'kubeseal --fetch-cert" in text
    assert not (tmp_path / "sealed.yaml").exists()
