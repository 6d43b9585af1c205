"""`verify` against real local servers: HTTPS on 127.0.0.1 with trustme certificates,
serving what Pocket-ID serves on the checked paths (a stand-in for Pocket-ID: a correct
instance and broken variants), and for the inside checks a real kube-apiserver holding
the applied bundle, with statuses written the way their controllers write them."""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
import socket
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

from pocketid_k8s.config import Config
from pocketid_k8s.contract.pocketid import DB_PROBE_PATH
from pocketid_k8s.live.report import Outcome, Status, plain, table, to_json
from pocketid_k8s.live.verify import Target, verify
from pocketid_k8s.render import render
from tests.kubeapi import KubeAPI
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
    """A threaded HTTP(S) server on 127.0.0.1 (or ``host``) whose routes a test sets."""

    routes: dict[str, Route] = field(default_factory=dict)
    host: str = "127.0.0.1"
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

        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        server_class = type("Server", (ThreadingHTTPServer,), {"address_family": family})
        self.httpd = server_class((self.host, 0), Handler)
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
        DB_PROBE_PATH: (404, {"content-type": "application/json"}, b'{"error":"Record not found"}'),
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
        "database": Status.PASS,
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


def test_huge_answer_is_cut_and_fails(site: Site, ca_file: Path) -> None:
    """A body past the cap (here 3 MiB of key set) is not read whole: the row fails, saying so."""
    huge = b'{"keys": [' + b" " * (3 * 1024 * 1024) + b"]}"
    site.https.routes["/.well-known/jwks.json"] = (200, {"content-type": "application/json"}, huge)
    outcome = verify(site.target(ca_file))
    assert statuses(outcome)["jwks"] is Status.FAIL
    assert "the answer is larger than 1 MiB" in detail(outcome, "jwks")
    assert statuses(outcome)["oidc-discovery"] is Status.PASS  # the others are read as before


def test_ipv6_literal_url_is_verified(
    ca: trustme.CA, jwk: dict[str, str], ca_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """https://[::1]:PORT (issue 18, item 9): every outside row passes, JSON on stdout."""
    https = Server(host="::1").start(tls_context(ca, "::1"))
    url = f"https://[::1]:{https.port}"
    https.routes.update(pocket_id_routes(url, jwk))
    http = Server(host="::1", routes={"/": (301, {"location": f"{url}/"}, b"")}).start()
    try:
        code, out, err = run(
            capsys, "verify", url, "--ca-bundle", str(ca_file), "--http-port", str(http.port),
            "--format", "json", "--timeout", "2",
        )  # fmt: skip
    finally:
        https.stop()
        http.stop()
    doc = json.loads(out)
    assert code == 0, err
    assert {row["check"]: row["status"] for row in doc["checks"]} == dict.fromkeys(
        ("tls", "http-redirect", "healthz", "database", "oidc-discovery", "jwks"), "pass"
    )
    assert doc["app_url"] == url


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


def test_internal_host_is_checked_when_the_public_one_is_not_reached(
    ca: trustme.CA, ca_file: Path
) -> None:
    """DNS for APP_URL not propagated yet: its rows fail, and the internal host is still
    checked (README: the internal host is checked too), not silently dropped."""
    from tests.kubeapi import free_port

    internal = Server(routes={"/": (200, {"content-type": "text/html"}, b"<html/>")}).start(
        tls_context(ca, "127.0.0.1")
    )
    try:
        target = Target(
            app_url=f"https://127.0.0.1:{free_port()}",  # nothing listens there
            internal_url=f"https://127.0.0.1:{internal.port}",
            ca_bundle=ca_file,
            timeout=2.0,
            http_port=free_port(),
        )
        outcome = verify(target)
    finally:
        internal.stop()
    assert statuses(outcome)["healthz"] is Status.FAIL
    assert statuses(outcome)["internal-tls"] is Status.PASS
    assert statuses(outcome)["internal-redirect"] is Status.WARN


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


def test_nothing_listening_fails_the_outside_rows(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A refused connection: the outside rows fail with the reason (exit 1, not 2)."""
    (tmp_path / "pocket-id.toml").write_text("")
    code, out, err = run(
        capsys, "verify", "https://127.0.0.1:9", "--timeout", "1", "--http-port", "9", cwd=tmp_path
    )
    assert code == 1
    assert "127.0.0.1:9: cannot connect (Connection refused)" in out
    assert "healthz" in out
    assert "not reached: 127.0.0.1:9: cannot connect" in out
    assert "could not run" not in err


def test_unresolvable_name_fails_the_outside_rows() -> None:
    """DNS failure: a failing row, exit 1."""
    outcome = verify(Target(app_url="https://pocket-id.invalid", timeout=1))
    assert outcome.exit_code == 1
    assert statuses(outcome)["tls"] is Status.FAIL
    assert detail(outcome, "tls") == "pocket-id.invalid: the name does not resolve (DNS)"
    assert statuses(outcome)["jwks"] is Status.FAIL


@pytest.fixture
def hanging() -> Iterator[int]:
    """A TCP server that accepts connections and never answers (a hung TLS handshake)."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield int(server.getsockname()[1])
    server.close()


def test_hanging_handshake_is_reported_as_hung_with_progress(hanging: int) -> None:
    """One wait of --timeout (not three tries), reported as a hung handshake, with progress."""
    from tests.kubeapi import free_port

    said: list[str] = []
    start = time.perf_counter()
    outcome = verify(
        Target(app_url=f"https://127.0.0.1:{hanging}", timeout=4, http_port=free_port()),
        progress=said.append,
    )
    elapsed = time.perf_counter() - start
    assert detail(outcome, "tls") == (
        f"127.0.0.1:{hanging} accepted the connection, but the TLS handshake hung: no answer "
        "within 4 s (is a TLS server listening there?)"
    )
    assert said
    assert said[0].startswith(f"still waiting for the TLS handshake with 127.0.0.1:{hanging} (")
    assert said[0].endswith(" s of 4)")
    assert elapsed < 2 * 4  # three tries would take over 12 s
    assert outcome.exit_code == 1


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://[::1", "'https://[::1' is not a valid URL (Invalid IPv6 URL)"),
        ("https://a..b", "'a..b' is not a valid host name (empty or over-long label)"),
        ("https://127.0.0.1:99999", "is not a valid URL (Port out of range 0-65535)"),
        ("http://auth.example.com", "uses http://: Pocket-ID is verified over HTTPS"),
        ("not a url", "'not a url' is not an https:// URL with a host name"),
        ("https://auth.example.com/login", "has a path, query or fragment"),
    ],
)
def test_bad_urls_are_usage_errors(
    url: str, message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "pocket-id.toml").write_text("")
    code, out, err = run(capsys, "verify", url, cwd=tmp_path)
    assert (code, out) == (2, "")
    assert err.startswith("pocketid-k8s verify: error: URL ")
    assert message in err
    assert "fix:" in err


@pytest.mark.parametrize(
    "url",
    ["https://me:hunter2-pw@auth.example.com", "http://me:hunter2-pw@auth.example.com/x"],
)
def test_a_password_in_the_url_is_refused_and_never_repeated(
    url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "pocket-id.toml").write_text("")
    code, out, err = run(capsys, "verify", url, cwd=tmp_path)
    assert (code, out) == (2, "")
    assert "hunter2-pw" not in err
    assert "'https://***@auth.example.com' carries a user name or password" in err or (
        "'http://***@auth.example.com/x' carries a user name or password" in err
    )


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "0", "soon"])
def test_bad_timeouts_are_usage_errors(
    value: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "pocket-id.toml").write_text("")
    with pytest.raises(SystemExit) as exit_info:
        run(capsys, "verify", "https://auth.example.com", "--timeout", value, cwd=tmp_path)
    assert exit_info.value.code == 2
    assert "argument --timeout" in capsys.readouterr().err


def test_outputs(site: Site, ca_file: Path) -> None:
    """Plain text has one row per check and a summary; json has the same rows."""
    target = site.target(ca_file)
    outcome = verify(target)
    text = plain(outcome, target.app_url).splitlines()
    assert text[0].split() == ["check", "status", "time", "detail"]
    assert [line.split()[0] for line in text[1:-1]] == [row.check for row in outcome.rows]
    assert text[-1] == f"6 pass ({site.url})"
    data = json.loads(to_json(outcome, app_url=target.app_url))
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


# --- inside, against a real API server holding the applied bundle ----------------------------

SECRET_DATA = "c3VwZXItc2VjcmV0LWtleS1kby1ub3QtbGVhaw=="
READY = [{"type": "Ready", "status": "True", "reason": "Ready", "message": "ok"}]


@dataclass
class Cluster:
    """The bundle of one site applied to the API server, its statuses healthy."""

    api: KubeAPI
    config: Config
    objects: dict[str, dict[str, Any]]

    def target(self, **options: Any) -> Target:
        c = self.config
        return Target(
            outside=False,
            kube=True,
            kubeconfig=self.api.kubeconfig,
            namespace=c.site.namespace,
            name=c.site.name,
            claim=c.storage.claim_name,
            certificates=(c.certificates.public_secret, c.certificates.internal_secret),
            secret=c.secret.name,
            application=c.site.name,
            application_namespace=c.argocd.application_namespace,
            app_path=c.site.app_dir,
            timeout=5,
            **options,
        )


@pytest.fixture
def cluster(kube_api: KubeAPI) -> Cluster:
    api = kube_api
    ns = api.unique("verify")
    config = Config.model_validate(
        {
            "site": {"namespace": ns, "app_dir": f"k8s-apps/utilities/{ns}"},
            "backup": {"longhorn_namespace": api.unique("longhorn")},
        }
    )
    api.namespace(config.backup.longhorn_namespace)
    objects: dict[str, dict[str, Any]] = dict(render(config))
    for obj in objects.values():
        api.apply(obj)
    deployment = api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/{config.site.name}")
    api.set_status(
        objects["deployment.yaml"],
        {
            "observedGeneration": deployment["metadata"]["generation"],
            "replicas": 1,
            "updatedReplicas": 1,
            "readyReplicas": 1,
            "availableReplicas": 1,
        },
    )
    template = objects["deployment.yaml"]["spec"]["template"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{config.site.name}-6d4f9-abcde",
            "namespace": ns,
            "labels": template["metadata"]["labels"],
        },
        "spec": template["spec"],
    }
    api.apply(pod)
    objects["pod"] = pod
    set_pod(api, pod, restarts=0, state={"running": {"startedAt": "2026-11-26T01:00:00Z"}})
    api.set_status(
        objects["storage.yaml"],
        {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "2Gi"}},
    )
    for file in ("certificate.yaml", "public-certificate.yaml"):
        api.set_status(objects[file], {"conditions": READY, "notAfter": "2027-02-01T00:00:00Z"})
    api.set_status(
        objects["sealedsecret.yaml"],
        {"conditions": [{"type": "Synced", "status": "True", "message": "ok"}]},
    )
    api.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": config.secret.name, "namespace": ns},
            "data": {config.secret.key: SECRET_DATA},
        }
    )
    api.namespace(config.argocd.application_namespace)
    objects["application"] = application(config, healthy=True)
    api.apply(objects["application"])
    return Cluster(api, config, objects)


def set_pod(
    api: KubeAPI, pod: dict[str, Any], restarts: int, state: dict[str, Any], **last: Any
) -> None:
    """Write the pod's status as the kubelet would."""
    container = pod["spec"]["containers"][0]
    api.set_status(
        pod,
        {
            "phase": "Running",
            "containerStatuses": [
                {
                    "name": container["name"],
                    "image": container["image"],
                    "imageID": "",
                    "ready": "running" in state,
                    "restartCount": restarts,
                    "state": state,
                    **last,
                }
            ],
        },
    )


def application(config: Config, *, healthy: bool) -> dict[str, Any]:
    """The Application the user's ApplicationSet generates for the folder (a name of its own)."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": f"utilities-{config.site.namespace}",
            "namespace": config.argocd.application_namespace,
            "ownerReferences": [
                {
                    "apiVersion": "argoproj.io/v1alpha1",
                    "kind": "ApplicationSet",
                    "name": "utilities",
                    "uid": "5b0c7a8e-0000-4000-8000-000000000001",
                }
            ],
        },
        "spec": {
            "project": "utilities",
            "source": {"repoURL": "https://git.example.org/k8s.git", "path": config.site.app_dir},
            "destination": {
                "server": "https://kubernetes.default.svc",
                "namespace": config.site.namespace,
            },
        },
        "status": {
            "sync": {"status": "Synced" if healthy else "OutOfSync"},
            "health": {"status": "Healthy" if healthy else "Degraded"},
        },
    }


INSIDE = ("rollout", "pods", "volume", "certificates", "sealed-secret", "argocd")


def test_healthy_cluster(cluster: Cluster) -> None:
    """Every inside check passes; the Secret's data is never shown."""
    outcome = verify(cluster.target())
    assert statuses(outcome) == dict.fromkeys(INSIDE, Status.PASS)
    name = cluster.objects["application"]["metadata"]["name"]
    assert detail(outcome, "argocd") == (
        f"Application {name} (found by source path {cluster.config.site.app_dir}, destination "
        f"namespace {cluster.config.site.namespace}, generated by ApplicationSet utilities): "
        "Synced and Healthy"
    )
    shown = plain(outcome, "x") + to_json(outcome)
    assert SECRET_DATA not in shown
    assert "super-secret" not in shown


def test_secrets_are_read_as_metadata_only(cluster: Cluster) -> None:
    """The client refuses to read a Secret any other way (a bug would fail here, not leak)."""
    from pocketid_k8s.live.kube import connect

    path = (
        f"/api/v1/namespaces/{cluster.config.site.namespace}/secrets/{cluster.config.secret.name}"
    )
    with connect(cluster.api.kubeconfig, None, 5) as kube:
        meta = kube.get(path, metadata_only=True)
        assert meta is not None
        assert meta["kind"] == "PartialObjectMetadata"
        assert "data" not in meta
        with pytest.raises(AssertionError, match="Secrets are read as metadata only"):
            kube.get(path)
        with pytest.raises(AssertionError, match="Secrets are read as metadata only"):
            kube.get(f"/api/v1/namespaces/{cluster.config.site.namespace}/secrets")


def test_crash_looping_pod(cluster: Cluster) -> None:
    """A pod in CrashLoopBackOff fails, with its last termination reason."""
    set_pod(
        cluster.api,
        cluster.objects["pod"],
        restarts=7,
        state={"waiting": {"reason": "CrashLoopBackOff"}},
        lastState={"terminated": {"reason": "OOMKilled", "exitCode": 137}},
    )
    outcome = verify(cluster.target())
    pod = cluster.objects["pod"]["metadata"]["name"]
    assert detail(outcome, "pods") == f"pod {pod} is in CrashLoopBackOff (last ended OOMKilled)"
    assert outcome.exit_code == 1


def test_certificate_not_ready(cluster: Cluster) -> None:
    """A Certificate that is not Ready fails, with cert-manager's message."""
    cluster.api.set_status(
        cluster.objects["certificate.yaml"],
        {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "False",
                    "reason": "DoesNotExist",
                    "message": "Issuing certificate as Secret does not exist",
                }
            ]
        },
    )
    outcome = verify(cluster.target())
    assert detail(outcome, "certificates") == (
        "Certificate pocket-id-tls is not Ready: Issuing certificate as Secret does not exist; "
        "pocket-id-public-tls Ready until 2027-02-01"
    )


def test_rollout_not_finished(cluster: Cluster) -> None:
    cluster.api.set_status(
        cluster.objects["deployment.yaml"], {"availableReplicas": 0, "updatedReplicas": 1}
    )
    outcome = verify(cluster.target())
    assert detail(outcome, "rollout") == "0/1 available, 1 updated"


def test_application_out_of_sync(cluster: Cluster) -> None:
    cluster.api.apply(application(cluster.config, healthy=False))
    outcome = verify(cluster.target())
    assert statuses(outcome)["argocd"] is Status.FAIL
    assert detail(outcome, "argocd").endswith(": sync OutOfSync, health Degraded")


def test_application_without_status(cluster: Cluster) -> None:
    """An Application Argo CD has not reported on: said so, not 'sync None, health None'."""
    app = application(cluster.config, healthy=True)
    del app["status"]
    cluster.api.delete(app)
    cluster.api.apply(app)
    outcome = verify(cluster.target())
    assert detail(outcome, "argocd").endswith(
        ": Argo CD has not reported its sync or health yet (no status: is its application "
        "controller running, and does the project admit it?)"
    )


@pytest.mark.parametrize(("mode", "row"), [("WaitForFirstConsumer", "warn"), ("Immediate", "fail")])
def test_pending_claim_of_a_class_that_waits_for_its_pod(
    cluster: Cluster, mode: str, row: str
) -> None:
    """k3s's local-path binds only once a pod is scheduled: Pending with no pod scheduled is
    a warning that says why (the rollout and pods rows fail), not a volume fault."""
    api = cluster.api
    name = api.unique("local-path")
    api.apply(
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": name},
            "provisioner": "rancher.io/local-path",
            "volumeBindingMode": mode,
        }
    )
    claim = copy.deepcopy(cluster.objects["storage.yaml"])
    claim["metadata"]["name"] = name
    claim["spec"]["storageClassName"] = name
    api.apply(claim)
    outcome = verify(dataclasses.replace(cluster.target(), claim=name))
    assert statuses(outcome)["volume"].value == row
    if row == "warn":
        assert detail(outcome, "volume") == (
            f"{name} is Pending: its StorageClass {name} binds a volume only when a pod that "
            "uses it is scheduled (WaitForFirstConsumer), and none is yet (see rollout and pods)"
        )


def test_no_application_for_the_folder(cluster: Cluster) -> None:
    cluster.api.delete(cluster.objects["application"])
    outcome = verify(cluster.target())
    assert detail(outcome, "argocd") == (
        f"no Application in argocd deploys {cluster.config.site.app_dir} to namespace "
        f"{cluster.config.site.namespace}"
    )


def test_unreachable_outside_still_looks_inside(
    cluster: Cluster, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Issue 14: nothing listens outside; the outside rows fail, every inside check runs."""
    config = tmp_path / "pocket-id.toml"
    config.write_text(
        f"[site]\nnamespace = '{cluster.config.site.namespace}'\n"
        f"app_dir = '{cluster.config.site.app_dir}'\n"
        f"[backup]\nlonghorn_namespace = '{cluster.config.backup.longhorn_namespace}'\n"
    )
    code, out, err = run(
        capsys,
        "verify",
        "https://127.0.0.1:9",
        "--kube",
        "--kubeconfig",
        str(cluster.api.kubeconfig),
        "--timeout",
        "2",
        "--http-port",
        "9",
        "--format",
        "json",
        cwd=tmp_path,
    )
    doc = json.loads(out)
    rows = {c["check"]: c["status"] for c in doc["checks"]}
    assert code == 1
    assert doc["stopped"] is None
    assert rows["tls"] == rows["healthz"] == "fail"
    assert {rows[check] for check in INSIDE} == {"pass"}
    assert err == ""


def test_inside_only_needs_no_url(
    cluster: Cluster, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "pocket-id.toml").write_text(
        f"[site]\nnamespace = '{cluster.config.site.namespace}'\n"
        f"app_dir = '{cluster.config.site.app_dir}'\n"
    )
    code, out, _ = run(
        capsys,
        "verify",
        "--inside-only",
        "--kubeconfig",
        str(cluster.api.kubeconfig),
        cwd=tmp_path,
    )
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines[1:-1]] == list(INSIDE)
    assert lines[-1] == f"6 pass (inside, namespace {cluster.config.site.namespace})"


def test_no_kubeconfig_could_not_run(site: Site, ca_file: Path, tmp_path: Path) -> None:
    """--kube without a usable kubeconfig: exit 2 with the reason."""
    outcome = verify(site.target(ca_file, kube=True, kubeconfig=tmp_path / "missing"))
    assert statuses(outcome)["tls"] is Status.PASS  # the outside rows are kept
    assert outcome.exit_code == 2
    assert outcome.stopped is not None
    assert outcome.stopped == (
        f"kubeconfig {tmp_path / 'missing'}: no such file; fix: set KUBECONFIG, pass "
        "--kubeconfig (and --context), or run inside the cluster"
    )


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
    target = site.target(ca_file)
    outcome = verify(target)
    out = table(outcome, target.app_url, "Pocket-ID")
    for row in outcome.rows:
        assert row.check in out
    assert "\033[32mpass" in out  # green
    assert f"6 pass ({site.url})" in out


# --- the ApplicationSet that generates the Application (its CRD: a stand-in, tests/kubeapi.py) --


def applicationset(
    config: Config, name: str, directories: str, template: str, *, go: bool = False
) -> dict[str, Any]:
    """The user's ApplicationSet: a git directories generator over ``directories``, its
    Applications named by ``template`` (fasttemplate, or Go templates when ``go``)."""
    path = "{{.path.path}}" if go else "{{path}}"
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": name, "namespace": config.argocd.application_namespace},
        "spec": {
            "goTemplate": go,
            "generators": [
                {
                    "git": {
                        "repoURL": "https://git.example.org/k8s.git",
                        "revision": "HEAD",
                        "directories": [{"path": directories}],
                    }
                }
            ],
            "template": {
                "metadata": {"name": template},
                "spec": {
                    "project": "utilities",
                    "source": {"repoURL": "https://git.example.org/k8s.git", "path": path},
                    "destination": {"server": "https://kubernetes.default.svc"},
                },
            },
        },
    }


def generated(
    cluster: Cluster, appset: dict[str, Any], name: str, source_path: str
) -> dict[str, Any]:
    """The Application ``appset`` generated, owned by it, Synced and Healthy (Argo CD's
    Application CRD has no status subresource: its controller writes the whole object)."""
    owner = cluster.api.get(cluster.api.path_of(appset))
    app = application(cluster.config, healthy=True)
    app["metadata"]["name"] = name
    app["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "ApplicationSet",
            "name": appset["metadata"]["name"],
            "uid": owner["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    app["spec"]["source"]["path"] = source_path
    cluster.api.delete(cluster.objects["application"])
    cluster.api.apply(app)
    return app


def test_application_named_by_the_applicationset_pattern(
    cluster: Cluster, applicationsets: KubeAPI
) -> None:
    """Issue 14: the ApplicationSet over k8s-apps/utilities/* names the Application
    {{path.basename}}; the row finds it by its source path and says the name's template."""
    appset = applicationset(
        cluster.config, "utilities", "k8s-apps/utilities/*", "{{path.basename}}"
    )
    applicationsets.apply(appset)
    applicationsets.set_status(
        appset, {"conditions": [{"type": "ResourcesUpToDate", "status": "True"}]}
    )
    basename = cluster.config.site.app_dir.rpartition("/")[2]
    generated(cluster, appset, basename, cluster.config.site.app_dir)
    outcome = verify(cluster.target())
    assert statuses(outcome)["argocd"] is Status.PASS
    assert detail(outcome, "argocd") == (
        f"Application {basename} (found by source path {cluster.config.site.app_dir}, "
        f"destination namespace {cluster.config.site.namespace}, generated by ApplicationSet "
        "utilities under the name its template '{{path.basename}}' gives the folder): "
        "Synced and Healthy"
    )


def test_application_found_by_the_go_template_name_alone(
    cluster: Cluster, applicationsets: KubeAPI
) -> None:
    """A goTemplate ApplicationSet whose Applications deploy an overlay of the folder: the
    source path is not the folder, the name {{.path.basename}} finds the Application."""
    appset = applicationset(
        cluster.config, "apps", "k8s-apps/*/*", "home-{{ .path.basename }}", go=True
    )
    applicationsets.apply(appset)
    name = f"home-{cluster.config.site.app_dir.rpartition('/')[2]}"
    overlay = f"{cluster.config.site.app_dir}/overlays/home"
    generated(cluster, appset, name, overlay)
    outcome = verify(cluster.target())
    assert statuses(outcome)["argocd"] is Status.PASS
    assert detail(outcome, "argocd") == (
        f"Application {name} (found by the name ApplicationSet apps's template "
        f"'home-{{{{ .path.basename }}}}' gives the folder; its source path is {overlay}): "
        "Synced and Healthy"
    )


def test_applicationset_not_generating_for_the_folder(
    cluster: Cluster, applicationsets: KubeAPI
) -> None:
    """The only ApplicationSet covers another folder: the row fails and says so."""
    applicationsets.apply(
        applicationset(cluster.config, "media", "k8s-apps/media/*", "{{path.basename}}")
    )
    cluster.api.delete(cluster.objects["application"])
    outcome = verify(cluster.target())
    assert statuses(outcome)["argocd"] is Status.FAIL
    assert detail(outcome, "argocd") == (
        f"no Application in argocd deploys {cluster.config.site.app_dir} to namespace "
        f"{cluster.config.site.namespace}; the git directories generators of ApplicationSet "
        f"media do not match {cluster.config.site.app_dir}"
    )


def test_applicationset_has_not_generated_it_yet(
    cluster: Cluster, applicationsets: KubeAPI
) -> None:
    """The ApplicationSet matches the folder but no Application exists: the row fails and
    names the Application it would generate."""
    applicationsets.apply(
        applicationset(
            cluster.config,
            "utilities",
            "k8s-apps/utilities/*",
            "{{path[1]}}-{{path.basenameNormalized}}",
        )
    )
    cluster.api.delete(cluster.objects["application"])
    outcome = verify(cluster.target())
    basename = cluster.config.site.app_dir.rpartition("/")[2]
    assert statuses(outcome)["argocd"] is Status.FAIL
    assert detail(outcome, "argocd") == (
        f"no Application in argocd deploys {cluster.config.site.app_dir} to namespace "
        f"{cluster.config.site.namespace}; ApplicationSet utilities would generate one (its git "
        "directories generator matches k8s-apps/utilities/*, named "
        f"utilities-{basename} by '{{{{path[1]}}}}-{{{{path.basenameNormalized}}}}') but it "
        "does not exist yet: the ApplicationSet controller has not made it (has it seen the "
        "commit?)"
    )


def test_a_row_our_identity_may_not_read_is_skipped(cluster: Cluster) -> None:
    """A kubeconfig that may read the app's namespace but not Argo CD's: the argocd row is
    skipped, saying what was refused; the app's own rows still run (the run used to stop)."""
    api, ns = cluster.api, cluster.config.site.namespace
    rule = {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list"]}
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role"}
    api.apply({**role, "metadata": {"name": "read-all", "namespace": ns}, "rules": [rule]})
    api.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "reader-reads", "namespace": ns},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "read-all",
            },
            "subjects": [
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "reader"}
            ],
        }
    )
    api.wait_allowed("reader", "list", "pods", ns)
    target = dataclasses.replace(cluster.target(), kubeconfig=api.reader_kubeconfig)
    outcome = verify(target)
    assert outcome.stopped is None
    found = statuses(outcome)
    assert found.pop("argocd") is Status.SKIP
    assert set(found.values()) == {Status.PASS}
    assert detail(outcome, "argocd").startswith("not verified: the API server refused to show ")


def test_an_identity_that_may_read_nothing_could_not_run(cluster: Cluster) -> None:
    """Every row refused: that is a could-not-run (exit 2), not a run of skipped rows."""
    target = dataclasses.replace(
        cluster.target(), kubeconfig=cluster.api.reader_kubeconfig, namespace="kube-public"
    )
    outcome = verify(target)
    assert outcome.stopped is not None
    assert outcome.exit_code == 2
