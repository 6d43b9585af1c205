"""Shared fixtures: the repository, the shared reference data, the rendered bundle."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, settings

from pocketid_k8s.config import Config
from pocketid_k8s.render import Manifest, render
from tests.kubeapi import KubeAPI

ROOT = Path(__file__).resolve().parents[1]
BUNDLE_FILES = [
    "namespace.yaml",
    "serviceaccount.yaml",
    "configmap.yaml",
    "sealedsecret.yaml",
    "storage.yaml",
    "deployment.yaml",
    "service.yaml",
    "networkpolicy.yaml",
    "certificate.yaml",
    "ingress.yaml",
    "middleware.yaml",
    "public-certificate.yaml",
    "public-ingress.yaml",
    "recurringjob-snapshot.yaml",
    "recurringjob-backup.yaml",
]
"""The app folder's files for the spec's site, in kustomization order."""
SHARED = Path(os.environ.get("POCKETID_K8S_SHARED", ROOT.parent / "shared"))
"""Reference data outside the repository (CRD schemas, CRDs)."""
SPEC_SITE = ROOT / "tests/sites/spec"
"""The spec's site (pocket-id.toml = the starter) and the bundle it must render: the golden
files. The repository's own pocket-id.toml is the user's site, free to change (test_site.py)."""
REQUIRE_PEERS = os.environ.get("POCKETID_K8S_REQUIRE_PEERS") == "1"

# Property-based tests (Hypothesis): "suite" keeps `make test` to seconds; `make fuzz` runs
# the same properties under "fuzz" (about ten minutes). Inputs are generated, so no deadline
# per example: each property asserts its own bound on time and memory where that matters.
settings.register_profile(
    "suite",
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "fuzz",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))
"""Set by .ci/run: what a developer's machine may skip, CI must have."""


def skip_or_fail(reason: str) -> None:
    """Skip with ``reason``, or fail when CI requires every peer and data set."""
    if REQUIRE_PEERS:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


SHARED_CRD_SCHEMAS = SHARED / "crd-schemas"


@pytest.fixture(scope="session")
def _outside_tmp_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("schemas")


@pytest.fixture(autouse=True)
def _no_schema_downloads(monkeypatch: pytest.MonkeyPatch, _outside_tmp_path: Path) -> None:
    """Tests never fetch the public CRDs-catalog: check's default location is the shared copy
    (or an empty folder, where custom kinds are reported unvalidated), the cache a temp dir."""
    folder = SHARED_CRD_SCHEMAS
    if not folder.is_dir():
        folder = _outside_tmp_path / "none"
        folder.mkdir(exist_ok=True)
    monkeypatch.setenv("POCKETID_K8S_SCHEMA_LOCATION", str(folder))
    monkeypatch.setenv("XDG_CACHE_HOME", str(_outside_tmp_path / "cache"))


@pytest.fixture(scope="session")
def crd_schemas() -> Path:
    """The CRD schemas in ../shared (or $POCKETID_K8S_SHARED), in the CRDs-catalog layout."""
    folder = SHARED / "crd-schemas"
    if not folder.is_dir():
        skip_or_fail(f"no CRD schemas at {folder}: custom kinds cannot be validated here")
    return folder


@pytest.fixture
def objects() -> dict[str, Manifest]:
    """The default bundle's objects by file name."""
    return dict(render(Config()))


def config_with(**sections: dict[str, object]) -> Config:
    """The spec's config with some fields changed, e.g. ``deployment={"replicas": 0}``."""
    return Config.model_validate(sections)


# --- a stand-in sealed-secrets controller, and unfit certificates --------------------------


@dataclass(frozen=True)
class Controller:
    """A stand-in for the sealed-secrets controller's key pair and certificate."""

    key: rsa.RSAPrivateKey
    cert: Path
    private_pem: Path


def make_cert(
    folder: Path,
    name: str,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    not_after: datetime,
) -> Path:
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sealed-secret")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - timedelta(days=3650))
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    path = folder / name
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.fixture(scope="session")
def controller(tmp_path_factory: pytest.TempPathFactory) -> Controller:
    folder = tmp_path_factory.mktemp("controller")
    key = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    cert = make_cert(folder, "cert.pem", key, datetime.now(UTC) + timedelta(days=3650))
    private_pem = folder / "key.pem"
    private_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return Controller(key, cert, private_pem)


@pytest.fixture(scope="session")
def bad_certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("certs")
    now = datetime.now(UTC)
    rsa2048 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    garbage = folder / "garbage.pem"
    garbage.write_text("hello\n")
    broken = folder / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")
    return {
        "ec": make_cert(
            folder, "ec.pem", ec.generate_private_key(ec.SECP256R1()), now + timedelta(days=90)
        ),
        "rsa1024": make_cert(
            folder,
            "rsa1024.pem",
            rsa.generate_private_key(public_exponent=65537, key_size=1024),  # noqa: S505 - the weak key under test
            now + timedelta(days=90),
        ),
        "expired": make_cert(folder, "expired.pem", rsa2048, now - timedelta(days=1)),
        "expiring": make_cert(folder, "expiring.pem", rsa2048, now + timedelta(days=10)),
        "garbage": garbage,
        "broken": broken,
        "missing": folder / "missing.pem",
    }


# --- a real Kubernetes API server -----------------------------------------------------------


@pytest.fixture(scope="session")
def kube_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeAPI]:
    """kine + kube-apiserver on loopback, the real CRDs of ../shared/crds/ (tests/kubeapi.py)."""
    from tests import kubeapi

    apiserver = kubeapi.tool(f"kube-apiserver-{kubeapi.KUBE_APISERVER_VERSION}", ROOT)
    kine = kubeapi.tool(f"kine-{kubeapi.KINE_VERSION}", ROOT)
    if apiserver is None or kine is None:
        skip_or_fail(
            f"kube-apiserver {kubeapi.KUBE_APISERVER_VERSION} and kine {kubeapi.KINE_VERSION} "
            "not found (run 'make peers', which needs Go; the first build takes about 10 min)"
        )
    crds = SHARED / "crds"
    if not crds.is_dir():
        skip_or_fail(f"no CRDs at {crds}: the bundle's custom resources cannot be served")
    assert apiserver is not None
    assert kine is not None
    with kubeapi.running(tmp_path_factory.mktemp("kube-api"), apiserver, kine, crds) as api:
        yield api


@pytest.fixture
def applicationsets(kube_api: KubeAPI) -> Iterator[KubeAPI]:
    """The API server serving ApplicationSets (the stand-in CRD of tests/kubeapi.py) for one
    test; removed after it, with every ApplicationSet, so other tests see them unserved."""
    from tests import kubeapi

    kube_api.apply(kubeapi.APPLICATIONSET_STAND_IN)
    try:
        kubeapi.wait_established(kube_api, kubeapi.APPLICATIONSET_STAND_IN)
        yield kube_api
    finally:
        kubeapi.remove_crd(kube_api, kubeapi.APPLICATIONSET_STAND_IN)
