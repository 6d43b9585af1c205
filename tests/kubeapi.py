"""A real Kubernetes API server for the tests: kine (etcd's API over SQLite) and
kube-apiserver, both built at pinned versions by ``make peers``, on free loopback
ports with a fresh PKI, the real CRDs of ../shared/crds/ loaded.

There is no controller-manager and no kubelet: namespaces never finish deleting,
Deployments never make Pods, nothing writes status. Tests write status through the
status subresource, as the controllers would, and use a namespace of their own.
"""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import os
import secrets
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

KUBE_APISERVER_VERSION = "v1.35.4"
KINE_VERSION = "v0.17.5"
FIELD_MANAGER = "tests"
APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"
READY_TIMEOUT = 90.0
"""Seconds to wait for /readyz: about 3 s here, more on a loaded CI machine."""


def tool(name: str, root: Path) -> Path | None:
    """A pinned peer, e.g. kine-v0.17.5: in $POCKETID_K8S_TOOLS or .tools/bin (make peers)."""
    for folder in (os.environ.get("POCKETID_K8S_TOOLS"), str(root / ".tools/bin")):
        if folder and (Path(folder) / name).is_file():
            return Path(folder) / name
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- PKI ------------------------------------------------------------------------------------


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
) -> x509.Certificate:
    now = datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer[0].subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=2))
    )
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            False,
        )
    return builder.sign(issuer[1] if issuer else key, hashes.SHA256())


def write_pki(folder: Path) -> dict[str, str]:
    """A CA, the server's certificate, the service-account keys, two static tokens."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, server_key, sa_key = _key(), _key(), _key()
    ca = _cert("test-ca", ca_key, None)
    server = _cert("kube-apiserver", server_key, (ca, ca_key))
    pem = serialization.Encoding.PEM
    (folder / "ca.crt").write_bytes(ca.public_bytes(pem))
    (folder / "ca.key").write_bytes(_pem_key(ca_key))  # to sign client certificates
    (folder / "apiserver.crt").write_bytes(server.public_bytes(pem))
    (folder / "apiserver.key").write_bytes(_pem_key(server_key))
    (folder / "sa.key").write_bytes(_pem_key(sa_key))
    (folder / "sa.pub").write_bytes(
        sa_key.public_key().public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    tokens = {"admin": secrets.token_hex(16), "reader": secrets.token_hex(16)}
    (folder / "tokens.csv").write_text(
        f'{tokens["admin"]},admin,admin-uid,"system:masters"\n'
        f"{tokens['reader']},reader,reader-uid\n"
    )
    return tokens


def client_certificate(ca: Path, user: str) -> tuple[bytes, bytes]:
    """A client certificate (PEM) for ``user``, signed by the test CA (``ca`` is its
    certificate; its key lies beside it), and its key (PEM): the API server's
    --client-ca-file accepts it as ``user``."""
    ca_cert = x509.load_pem_x509_certificate(ca.read_bytes())
    ca_key = serialization.load_pem_private_key(ca.with_suffix(".key").read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = _key()
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _pem_key(key)


def kubeconfig(path: Path, server: str, ca: Path, token: str, user: str) -> Path:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "test", "cluster": {"server": server, "certificate-authority": str(ca)}}
        ],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": user, "context": {"cluster": "test", "user": user}}],
        "current-context": user,
    }
    path.write_text(yaml.safe_dump(doc))
    return path


# --- the servers ----------------------------------------------------------------------------


@dataclass
class KubeAPI:
    """A running API server: its URL, kubeconfigs, and a raw admin HTTP client."""

    url: str
    ca: Path
    kubeconfig: Path
    """Admin (system:masters)."""
    reader_kubeconfig: Path
    """A user with no rights until a test binds some."""
    http: httpx.Client
    started_s: float
    """Seconds from launching kine to the CRDs Established."""
    _names: Iterator[int]

    def unique(self, prefix: str) -> str:
        """A name no other test on this server uses (namespaces never finish deleting)."""
        return f"{prefix}-{next(self._names)}"

    # Raw REST, so tests say exactly what they send.

    def apply(self, obj: dict[str, Any]) -> Any:
        """Server-side apply ``obj`` as the tests' field manager; the stored object."""
        response = self.apply_response(obj)
        _ok(response)
        return response.json()

    def apply_response(self, obj: dict[str, Any], *, dry_run: bool = False) -> httpx.Response:
        """The server's answer to a server-side apply of ``obj`` (warnings in its headers)."""
        params = {"fieldManager": FIELD_MANAGER, "force": "true"}
        if dry_run:
            params["dryRun"] = "All"
        return self.http.patch(
            self.path_of(obj),
            params=params,
            headers={"Content-Type": APPLY_PATCH},
            content=yaml.safe_dump(obj).encode(),
        )

    def set_status(self, obj: dict[str, Any], status: dict[str, Any]) -> Any:
        """Write ``status`` through the status subresource, as a controller does."""
        response = self.http.patch(
            self.path_of(obj) + "/status",
            headers={"Content-Type": MERGE_PATCH},
            json={"status": status},
        )
        _ok(response)
        return response.json()

    def get(self, path: str) -> Any:
        response = self.http.get(path)
        if response.status_code == 404:
            return None
        _ok(response)
        return response.json()

    def wait_allowed(
        self, user: str, verb: str, resource: str, namespace: str, group: str = ""
    ) -> None:
        """Until the API server's authorizer lets ``user`` do ``verb`` on ``resource``: RBAC
        objects reach it through an informer, a moment after they are created (a test that
        went on at once saw a refusal under load)."""
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": user,
                "resourceAttributes": {
                    "verb": verb,
                    "resource": resource,
                    "group": group,
                    "namespace": namespace,
                },
            },
        }
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            response = self.http.post(
                "/apis/authorization.k8s.io/v1/subjectaccessreviews", json=review
            )
            _ok(response)
            if response.json().get("status", {}).get("allowed"):
                return
            time.sleep(0.1)
        raise AssertionError(f"{user} may still not {verb} {resource} in {namespace} after 30 s")

    def delete(self, obj: dict[str, Any]) -> None:
        response = self.http.delete(self.path_of(obj))
        if response.status_code != 404:
            _ok(response)

    def path_of(self, obj: dict[str, Any]) -> str:
        """The REST path of ``obj``, from the server's discovery."""
        api_version, kind = obj["apiVersion"], obj["kind"]
        base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        discovery = self.get(base)
        for resource in discovery["resources"]:
            if resource["kind"] == kind and "/" not in resource["name"]:
                meta = obj["metadata"]
                ns = f"/namespaces/{meta['namespace']}" if resource["namespaced"] else ""
                return f"{base}{ns}/{resource['name']}/{meta['name']}"
        raise AssertionError(f"{kind} is not served at {api_version}")

    def namespace(self, name: str, labels: dict[str, str] | None = None) -> str:
        self.apply(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": name, "labels": labels or {}},
            }
        )
        return name


def _ok(response: httpx.Response) -> None:
    if response.is_error:
        raise AssertionError(
            f"{response.request.method} {response.request.url.path}: "
            f"{response.status_code} {response.text[:800]}"
        )


def _wait_ready(http: httpx.Client, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"kube-apiserver exited: {log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if http.get("/readyz").status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"kube-apiserver not ready in {READY_TIMEOUT} s: {log.read_text()[-2000:]}")


def load_crds(api: KubeAPI, folder: Path) -> None:
    """Server-side apply every CRD in ``folder``; wait until each is Established and listable
    (the first lists answer 429 "storage is (re)initializing" for a moment)."""
    crds = []
    for path in sorted(folder.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                api.apply(doc)
                crds.append(doc)
    for doc in crds:
        wait_established(api, doc)


def _listing(doc: dict[str, Any]) -> str:
    spec = doc["spec"]
    version = next(v["name"] for v in spec["versions"] if v.get("served", True))
    return f"/apis/{spec['group']}/{version}/{spec['names']['plural']}"


def wait_established(api: KubeAPI, doc: dict[str, Any]) -> None:
    """Wait until the CRD ``doc`` is Established and its resources can be listed."""
    name = doc["metadata"]["name"]
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        crd = api.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
        found = (crd.get("status") or {}).get("conditions") or []
        conditions = {c["type"]: c["status"] for c in found}
        if (
            conditions.get("Established") == "True"
            and api.http.get(_listing(doc)).status_code == 200
        ):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"CRD {name} not Established in {READY_TIMEOUT} s")
        time.sleep(0.05)


def remove_crd(api: KubeAPI, doc: dict[str, Any]) -> None:
    """Delete the CRD ``doc`` (the API server's own finalizer deletes its objects) and wait
    until it is gone and no longer in discovery, so later tests see the server as before."""
    name = doc["metadata"]["name"]
    spec = doc["spec"]
    version = next(v["name"] for v in spec["versions"] if v.get("served", True))
    api.delete(doc)
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        gone = api.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}") is None
        served = api.get(f"/apis/{spec['group']}/{version}") or {"resources": []}
        if gone and all(r["kind"] != spec["names"]["kind"] for r in served["resources"]):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"CRD {name} not removed in {READY_TIMEOUT} s")
        time.sleep(0.05)


APPLICATIONSET_STAND_IN: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "applicationsets.argoproj.io"},
    "spec": {
        "group": "argoproj.io",
        "scope": "Namespaced",
        "names": {
            "kind": "ApplicationSet",
            "listKind": "ApplicationSetList",
            "plural": "applicationsets",
            "singular": "applicationset",
        },
        "versions": [
            {
                "name": "v1alpha1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            },
                            "status": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            },
                        },
                    }
                },
            }
        ],
    },
}
"""A STAND-IN for Argo CD's ApplicationSet CRD, which ../shared/crds/ lacks: the same
group, version, kind, plural, scope and status subresource, but no schema of the spec
(kept as written). It lets the API server store and serve ApplicationSets the way a
cluster with Argo CD does; it validates nothing of them. Not Argo CD's CRD text."""


@contextlib.contextmanager
def running(folder: Path, apiserver: Path, kine: Path, crds: Path) -> Iterator[KubeAPI]:
    """Start kine and kube-apiserver in ``folder``; stop both and remove the state after."""
    start = time.monotonic()
    tokens = write_pki(folder / "pki")
    pki = folder / "pki"
    kine_port, api_port = free_port(), free_port()
    processes: list[subprocess.Popen[bytes]] = []
    logs = [(folder / "kine.log").open("wb"), (folder / "apiserver.log").open("wb")]
    try:
        endpoint = (
            f"sqlite://{folder}/state.db?_journal=WAL&cache=shared&_busy_timeout=30000"
            "&_txlock=immediate"
        )
        processes.append(
            subprocess.Popen(
                [
                    str(kine),
                    f"--endpoint={endpoint}",
                    f"--listen-address=127.0.0.1:{kine_port}",
                    "--metrics-bind-address=0",
                ],
                stdout=logs[0],
                stderr=subprocess.STDOUT,
            )
        )
        processes.append(
            subprocess.Popen(
                [
                    str(apiserver),
                    f"--etcd-servers=http://127.0.0.1:{kine_port}",
                    "--bind-address=127.0.0.1",
                    "--advertise-address=127.0.0.1",
                    f"--secure-port={api_port}",
                    f"--tls-cert-file={pki}/apiserver.crt",
                    f"--tls-private-key-file={pki}/apiserver.key",
                    f"--client-ca-file={pki}/ca.crt",
                    "--service-account-issuer=https://kubernetes.default.svc",
                    f"--service-account-key-file={pki}/sa.pub",
                    f"--service-account-signing-key-file={pki}/sa.key",
                    "--service-cluster-ip-range=10.96.0.0/16",
                    f"--token-auth-file={pki}/tokens.csv",
                    "--authorization-mode=RBAC",
                    "--enable-priority-and-fairness=false",
                    "--profiling=false",
                    "--endpoint-reconciler-type=none",
                    f"--cert-dir={folder}/certs",
                ],
                stdout=logs[1],
                stderr=subprocess.STDOUT,
            )
        )
        url = f"https://127.0.0.1:{api_port}"
        http = httpx.Client(
            base_url=url,
            verify=ssl.create_default_context(cafile=str(pki / "ca.crt")),
            headers={"Authorization": f"Bearer {tokens['admin']}"},
            timeout=30,
        )
        with http:
            _wait_ready(http, processes[1], folder / "apiserver.log")
            api = KubeAPI(
                url=url,
                ca=pki / "ca.crt",
                kubeconfig=kubeconfig(
                    folder / "admin.kubeconfig", url, pki / "ca.crt", tokens["admin"], "admin"
                ),
                reader_kubeconfig=kubeconfig(
                    folder / "reader.kubeconfig", url, pki / "ca.crt", tokens["reader"], "reader"
                ),
                http=http,
                started_s=0.0,
                _names=itertools.count(1),
            )
            load_crds(api, crds)
            api.started_s = time.monotonic() - start
            yield api
    finally:
        for process in reversed(processes):  # the state is thrown away: no graceful shutdown
            process.kill()
            process.wait()
        for log in logs:
            log.close()
