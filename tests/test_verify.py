"""`verify` against real local servers: HTTPS on 127.0.0.1 with trustme certificates,
serving what Pocket-ID serves on the checked paths (a correct instance and broken
variants), and a stand-in for the Kubernetes API (not a cluster: an HTTP server that
answers with the API's shapes for the objects read)."""

from __future__ import annotations

import base64
import json
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography.hazmat.primitives.asymmetric import rsa

from pocketid_k8s.verify import Outcome, Status, Target, plain, to_json, verify
from tests.test_cli import run

Route = tuple[int, dict[str, str], bytes]


def b64url(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture(scope="session")
def jwk() -> dict[str, str]:
    numbers = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    public = numbers.public_numbers()
    return {
        "kid": "k1",
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "n": b64url(public.n),
        "e": b64url(public.e),
    }


@dataclass
class Server:
    """A threaded HTTP(S) server on 127.0.0.1 whose routes a test sets."""

    routes: dict[str, Route] = field(default_factory=dict)
    delay: dict[str, float] = field(default_factory=dict)
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    httpd: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self.httpd is not None
        return int(self.httpd.server_address[1])

    def start(self, context: ssl.SSLContext | None = None) -> Server:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path
                server.seen.append((path, dict(self.headers)))
                time.sleep(server.delay.get(path, 0))
                status, headers, body = server.routes.get(
                    path, (200, {"content-type": "text/html"}, b"<html>fallback</html>")
                )
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if context is not None:
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def tls_context(ca: trustme.CA, *names: str, not_after: datetime | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names, not_after=not_after).configure_cert(context)
    return context


def json_route(doc: object) -> Route:
    return 200, {"content-type": "application/json"}, json.dumps(doc).encode()


@dataclass
class Site:
    https: Server
    http: Server
    url: str

    def target(self, ca_file: Path, **options: Any) -> Target:
        options = {"http_port": self.http.port, "timeout": 2.0, **options}
        return Target(app_url=self.url, ca_bundle=ca_file, **options)


def pocket_id_routes(url: str, jwk: dict[str, str]) -> dict[str, Route]:
    return {
        "/healthz": (204, {}, b""),
        "/.well-known/openid-configuration": json_route(
            {
                "issuer": url,
                "authorization_endpoint": f"{url}/authorize",
                "token_endpoint": f"{url}/api/oidc/token",
                "userinfo_endpoint": f"{url}/api/oidc/userinfo",
                "jwks_uri": f"{url}/.well-known/jwks.json",
            }
        ),
        "/.well-known/jwks.json": json_route({"keys": [jwk]}),
    }


@pytest.fixture
def site(ca: trustme.CA, jwk: dict[str, str]) -> Iterator[Site]:
    """A correct instance at https://localhost:PORT, plain HTTP redirecting to it."""
    https = Server().start(tls_context(ca, "localhost"))
    url = f"https://localhost:{https.port}"
    https.routes.update(pocket_id_routes(url, jwk))
    http = Server(routes={"/": (301, {"location": f"{url}/"}, b"")}).start()
    yield Site(https, http, url)
    https.stop()
    http.stop()


def statuses(outcome: Outcome) -> dict[str, Status]:
    return {row.check: row.status for row in outcome.rows}


def detail(outcome: Outcome, check: str) -> str:
    return next(row.detail for row in outcome.rows if row.check == check)


def test_correct_instance_passes(site: Site, ca_file: Path) -> None:
    """Every outside check passes, and the run exits 0."""
    outcome = verify(site.target(ca_file))
    assert statuses(outcome) == {
        "tls": Status.PASS,
        "http-redirect": Status.PASS,
        "healthz": Status.PASS,
        "oidc-discovery": Status.PASS,
        "jwks": Status.PASS,
    }
    assert outcome.exit_code == 0
    assert detail(outcome, "jwks") == "1 key: k1 (RS256)"
    assert detail(outcome, "tls").startswith("TLSv1.3, valid for localhost, expires ")
    assert all(row.ms is not None and row.ms >= 0 for row in outcome.rows)


def test_wrong_issuer(site: Site, ca_file: Path) -> None:
    """An issuer other than APP_URL fails discovery."""
    doc = json.loads(site.https.routes["/.well-known/openid-configuration"][2])
    doc["issuer"] = "https://auth.example.com"
    site.https.routes["/.well-known/openid-configuration"] = json_route(doc)
    outcome = verify(site.target(ca_file))
    assert statuses(outcome)["oidc-discovery"] is Status.FAIL
    assert detail(outcome, "oidc-discovery").startswith(
        f"issuer is 'https://auth.example.com', not APP_URL '{site.url}'"
    )
    assert outcome.exit_code == 1


def test_health_200_html_is_the_fallback(site: Site, ca_file: Path) -> None:
    """/healthz answering 200 with HTML is the UI's fallback page, not health."""
    site.https.routes["/healthz"] = (200, {"content-type": "text/html"}, b"<html></html>")
    outcome = verify(site.target(ca_file))
    assert detail(outcome, "healthz") == (
        "200 with an HTML page: that is the web UI's fallback, not health (is this Pocket-ID v2?)"
    )


def test_empty_jwks(site: Site, ca_file: Path) -> None:
    """No key, no verifiable token."""
    site.https.routes["/.well-known/jwks.json"] = json_route({"keys": []})
    outcome = verify(site.target(ca_file))
    assert detail(outcome, "jwks") == "the key set is empty: no token can be verified"


def test_broken_key_in_jwks(site: Site, ca_file: Path, jwk: dict[str, str]) -> None:
    """A key that is not a valid RSA public key fails."""
    site.https.routes["/.well-known/jwks.json"] = json_route({"keys": [{**jwk, "n": "AA"}]})
    assert detail(verify(site.target(ca_file)), "jwks") == "key k1 is not a valid RSA public key"


def test_garbage_json(site: Site, ca_file: Path) -> None:
    """Discovery that is not JSON fails."""
    site.https.routes["/.well-known/openid-configuration"] = (
        200,
        {"content-type": "application/json"},
        b"{not json",
    )
    assert detail(verify(site.target(ca_file)), "oidc-discovery") == "the answer is not JSON"


def test_missing_redirect(site: Site, ca_file: Path) -> None:
    """Plain HTTP serving a page instead of redirecting fails."""
    site.http.routes["/"] = (200, {"content-type": "text/html"}, b"hello")
    outcome = verify(site.target(ca_file))
    assert statuses(outcome)["http-redirect"] is Status.FAIL
    assert "answered 200, not a redirect to https://localhost" in detail(outcome, "http-redirect")


def test_closed_http_port_is_reported_not_failed(site: Site, ca_file: Path) -> None:
    """Nothing on port 80 is a warning: no plain HTTP is served at all."""
    port = site.http.port
    site.http.stop()
    outcome = verify(site.target(ca_file, http_port=port))
    assert statuses(outcome)["http-redirect"] is Status.WARN
    assert outcome.exit_code == 0


def test_slow_answer_times_out(site: Site, ca_file: Path) -> None:
    """An answer beyond the timeout fails that check, and nothing hangs."""
    site.https.delay["/healthz"] = 1.5
    start = time.perf_counter()
    outcome = verify(site.target(ca_file, timeout=0.5))
    assert time.perf_counter() - start < 5
    assert detail(outcome, "healthz") == f"no answer from {site.url}/healthz within 0.5s"


def test_wrong_host_name(ca: trustme.CA, ca_file: Path, jwk: dict[str, str]) -> None:
    """A certificate for another name fails TLS."""
    https = Server().start(tls_context(ca, "other.test"))
    try:
        https.routes.update(pocket_id_routes(f"https://localhost:{https.port}", jwk))
        outcome = verify(
            Target(
                app_url=f"https://localhost:{https.port}", ca_bundle=ca_file, http_port=1, timeout=2
            )
        )
    finally:
        https.stop()
    assert statuses(outcome)["tls"] is Status.FAIL
    assert "Hostname mismatch" in detail(outcome, "tls")


@pytest.mark.parametrize(
    ("days", "status", "fragment"),
    [
        (-1, Status.FAIL, "certificate has expired"),
        (2, Status.FAIL, "under 3 days"),
        (10, Status.WARN, "under 14 days"),
    ],
    ids=["expired", "two-days", "ten-days"],
)
def test_certificate_expiry(
    ca: trustme.CA, ca_file: Path, days: int, status: Status, fragment: str
) -> None:
    """Expired: the chain fails; under 3 days an error, under 14 a warning."""
    context = tls_context(
        ca, "localhost", not_after=datetime.now(UTC) + timedelta(days=days, hours=1)
    )
    https = Server().start(context)
    try:
        outcome = verify(
            Target(
                app_url=f"https://localhost:{https.port}", ca_bundle=ca_file, http_port=1, timeout=2
            )
        )
    finally:
        https.stop()
    assert statuses(outcome)["tls"] is status
    assert fragment in detail(outcome, "tls")


def test_untrusted_chain_without_the_ca(site: Site) -> None:
    """Without --ca-bundle the test CA is unknown: the chain does not verify."""
    outcome = verify(Target(app_url=site.url, http_port=site.http.port, timeout=2))
    assert statuses(outcome)["tls"] is Status.FAIL
    assert "unable to get local issuer certificate" in detail(outcome, "tls")


def test_internal_host_redirect(site: Site, ca: trustme.CA, ca_file: Path) -> None:
    """The internal host redirecting to APP_URL passes; serving the app is a warning."""
    internal = Server(routes={"/": (308, {"location": f"{site.url}/"}, b"")}).start(
        tls_context(ca, "127.0.0.1")
    )
    try:
        target = site.target(ca_file, internal_url=f"https://127.0.0.1:{internal.port}")
        good = verify(target)
        internal.routes["/"] = (200, {"content-type": "text/html"}, b"<html>login</html>")
        served = verify(target)
    finally:
        internal.stop()
    assert statuses(good)["internal-redirect"] is Status.PASS
    assert statuses(served)["internal-redirect"] is Status.WARN
    assert "passkey login fails there" in detail(served, "internal-redirect")


def test_nothing_listening_could_not_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A refused connection: exit 2 with the reason, after a bounded retry."""
    (tmp_path / "pocket-id.toml").write_text("")
    code, out, err = run(capsys, "verify", "https://127.0.0.1:9", "--timeout", "1", cwd=tmp_path)
    assert (code, out) == (2, "")
    assert err.endswith("could not run: 127.0.0.1:9: cannot connect (Connection refused)\n")


def test_unresolvable_name_could_not_run() -> None:
    """DNS failure: exit 2."""
    outcome = verify(Target(app_url="https://pocket-id.invalid", timeout=1))
    assert outcome.exit_code == 2
    assert outcome.stopped == "pocket-id.invalid: the name does not resolve (DNS)"


def test_outputs(site: Site, ca_file: Path) -> None:
    """Plain text has one row per check and a summary; json has the same rows."""
    target = site.target(ca_file)
    outcome = verify(target)
    text = plain(outcome, target).splitlines()
    assert text[0].split() == ["check", "status", "time", "detail"]
    assert [line.split()[0] for line in text[1:-1]] == [row.check for row in outcome.rows]
    assert text[-1] == f"5 pass ({site.url})"
    data = json.loads(to_json(outcome, target))
    assert data["exit_code"] == 0
    assert [c["check"] for c in data["checks"]] == [row.check for row in outcome.rows]


def test_command_line(
    site: Site, ca_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The command prints the rows and exits 0 on a correct instance."""
    (tmp_path / "pocket-id.toml").write_text("")
    code, out, _ = run(
        capsys,
        "verify",
        site.url,
        "--ca-bundle",
        str(ca_file),
        "--http-port",
        str(site.http.port),
        "--format",
        "json",
        cwd=tmp_path,
    )
    assert code == 0
    assert {c["status"] for c in json.loads(out)["checks"]} == {"pass"}


# --- inside, against a stand-in API server -----------------------------------------------------

SECRET_DATA = "c3VwZXItc2VjcmV0LWtleS1kby1ub3QtbGVhaw=="


def conditions(kind: str) -> dict[str, Any]:
    return {"conditions": [{"type": kind, "status": "True"}]}


SELECTOR = "app.kubernetes.io/name=pocket-id,app.kubernetes.io/instance=pocket-id"
CORE = "/api/v1/namespaces/pocket-id"
CERTS = "/apis/cert-manager.io/v1/namespaces/pocket-id/certificates"
SEALED = "/apis/bitnami.com/v1alpha1/namespaces/pocket-id/sealedsecrets"
APPS = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications"
PODS = f"{CORE}/pods?labelSelector={SELECTOR}"


def healthy_api() -> dict[str, Route]:
    running = {"restartCount": 0, "state": {"running": {}}}
    return {
        "/apis/apps/v1/namespaces/pocket-id/deployments/pocket-id": json_route(
            {
                "metadata": {"generation": 2},
                "spec": {"replicas": 1},
                "status": {"observedGeneration": 2, "updatedReplicas": 1, "availableReplicas": 1},
            }
        ),
        PODS: json_route(
            {
                "items": [
                    {
                        "metadata": {"name": "pocket-id-abc"},
                        "status": {"containerStatuses": [running]},
                    }
                ]
            }
        ),
        f"{CORE}/persistentvolumeclaims/pocket-id-data": json_route(
            {"status": {"phase": "Bound", "capacity": {"storage": "2Gi"}}}
        ),
        f"{CERTS}/pocket-id-public-tls": json_route(
            {"status": {**conditions("Ready"), "notAfter": "2027-02-01T00:00:00Z"}}
        ),
        f"{CERTS}/pocket-id-tls": json_route(
            {"status": {**conditions("Ready"), "notAfter": "2027-02-02T00:00:00Z"}}
        ),
        f"{SEALED}/pocket-id-secrets": json_route({"status": conditions("Synced")}),
        f"{CORE}/secrets/pocket-id-secrets": json_route(
            {"metadata": {"name": "pocket-id-secrets"}, "data": {"encryption-key": SECRET_DATA}}
        ),
        f"{APPS}/pocket-id": json_route(
            {"status": {"sync": {"status": "Synced"}, "health": {"status": "Healthy"}}}
        ),
    }


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    """A stand-in Kubernetes API on plain HTTP, and a kubeconfig pointing at it."""
    server = Server(routes=healthy_api()).start()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "lab",
                "clusters": [
                    {"name": "lab", "cluster": {"server": f"http://127.0.0.1:{server.port}"}}
                ],
                "users": [{"name": "me", "user": {"token": "t0ken"}}],
                "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "me"}}],
            }
        )
    )
    yield server, kubeconfig
    server.stop()


def test_healthy_cluster(site: Site, ca_file: Path, api: tuple[Server, Path]) -> None:
    """Every inside check passes; the Secret is asked for as metadata only."""
    server, kubeconfig = api
    target = site.target(ca_file, kube=True, kubeconfig=kubeconfig)
    outcome = verify(target)
    inside = {
        k: v
        for k, v in statuses(outcome).items()
        if k in ("rollout", "pods", "volume", "certificates", "sealed-secret", "argocd")
    }
    assert inside == dict.fromkeys(inside, Status.PASS)
    assert len(inside) == 6
    secret_requests = [h for path, h in server.seen if path.endswith("/secrets/pocket-id-secrets")]
    assert secret_requests[0]["Accept"].startswith("application/json;as=PartialObjectMetadata")
    assert all(h.get("Authorization") == "Bearer t0ken" for _, h in server.seen)
    shown = plain(outcome, target) + to_json(outcome, target)
    assert SECRET_DATA not in shown
    assert "super-secret" not in shown


def test_crash_looping_pod(site: Site, ca_file: Path, api: tuple[Server, Path]) -> None:
    """A pod in CrashLoopBackOff fails, with its last termination reason."""
    server, kubeconfig = api
    server.routes[PODS] = json_route(
        {
            "items": [
                {
                    "metadata": {"name": "pocket-id-abc"},
                    "status": {
                        "containerStatuses": [
                            {
                                "restartCount": 7,
                                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                                "lastState": {"terminated": {"reason": "OOMKilled"}},
                            }
                        ]
                    },
                }
            ]
        }
    )
    outcome = verify(site.target(ca_file, kube=True, kubeconfig=kubeconfig))
    assert (
        detail(outcome, "pods") == "pod pocket-id-abc is in CrashLoopBackOff (last ended OOMKilled)"
    )
    assert outcome.exit_code == 1


def test_certificate_not_ready(site: Site, ca_file: Path, api: tuple[Server, Path]) -> None:
    """A Certificate that is not Ready fails, with cert-manager's message."""
    server, kubeconfig = api
    server.routes[f"{CERTS}/pocket-id-tls"] = json_route(
        {
            "status": {
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "False",
                        "message": "Issuing certificate as Secret does not exist",
                    }
                ]
            }
        }
    )
    outcome = verify(site.target(ca_file, kube=True, kubeconfig=kubeconfig))
    assert detail(outcome, "certificates") == (
        "Certificate pocket-id-tls is not Ready: Issuing certificate as Secret does not exist"
    )


def test_no_kubeconfig_could_not_run(site: Site, ca_file: Path, tmp_path: Path) -> None:
    """--kube without a usable kubeconfig: exit 2 with the reason."""
    outcome = verify(site.target(ca_file, kube=True, kubeconfig=tmp_path / "missing"))
    assert outcome.exit_code == 2
    assert outcome.stopped is not None
    assert outcome.stopped.startswith("no usable kubeconfig")


def test_bad_ca_bundle_is_a_usage_error(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CA bundle that is not PEM: one message naming it, exit 2."""
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not a certificate\n")
    (tmp_path / "pocket-id.toml").write_text("")
    code, _, err = run(capsys, "verify", site.url, "--ca-bundle", str(bundle), cwd=tmp_path)
    assert code == 2
    assert f"pocketid-k8s verify: error: {bundle}: not a usable CA bundle" in err
    assert "fix: give a PEM file of CA certificates" in err


def test_terminal_table(site: Site, ca_file: Path) -> None:
    """On a terminal: a rich table with a row per check, coloured statuses and the summary."""
    from pocketid_k8s.verify import table

    target = site.target(ca_file)
    outcome = verify(target)
    out = table(outcome, target)
    for row in outcome.rows:
        assert row.check in out
    assert "\033[32mpass" in out  # green
    assert f"5 pass ({site.url})" in out
