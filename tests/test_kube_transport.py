"""The Kubernetes client's transport (live/kube.py on remote.fetch): 429/503 with Retry-After
retried a bounded number of times as client-go does, the deadline held against a dripping
"API server", hostile JSON answered as a could-not-run (exit 2)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pocketid_k8s.live import kube
from pocketid_k8s.live.kube import KubeAnswerError, KubeError, connect
from tests.hostile_http import Behaviour, HostileServer
from tests.test_kubeconfig_input import _loopback_kubeconfig


class Flaky(ThreadingHTTPServer):
    """A stand-in API server (a test double): the first ``failures`` GETs are answered with
    ``status`` and Retry-After: 0, the rest with a Namespace."""

    daemon_threads = True

    def __init__(self, failures: int, status: int = 503, retry_after: str = "0") -> None:
        self.failures = failures
        self.status = status
        self.retry_after = retry_after
        self.seen = 0
        super().__init__(("127.0.0.1", 0), _FlakyHandler)


class _FlakyHandler(BaseHTTPRequestHandler):
    server: Flaky

    def do_GET(self) -> None:
        self.server.seen += 1
        if self.server.seen <= self.server.failures:
            body = b'{"kind":"Status","message":"storage is (re)initializing"}'
            self.send_response(self.server.status)
            self.send_header("retry-after", self.server.retry_after)
        else:
            body = b'{"kind":"Namespace","metadata":{"name":"pocket-id"}}'
            self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def serve(httpd: ThreadingHTTPServer) -> Iterator[str]:
    serving = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02})
    serving.daemon = True
    serving.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def client_for(server: str, tmp_path: Path, timeout: float = 5.0) -> kube.Kube:
    path = tmp_path / "config"
    _loopback_kubeconfig(path, server, "token: t")
    return connect(path, None, timeout)


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_retried(status: int, tmp_path: Path) -> None:
    """A 429 or 503 with Retry-After is asked again; the object is read on the third try."""
    flaky = Flaky(failures=2, status=status)
    for server in serve(flaky):
        with client_for(server, tmp_path) as client:
            found = client.get("/api/v1/namespaces/pocket-id")
        assert found == {"kind": "Namespace", "metadata": {"name": "pocket-id"}}
        assert flaky.seen == 3


def test_retries_are_bounded(tmp_path: Path) -> None:
    """An API server that always answers 503 with Retry-After is asked RETRIES + 1 times,
    then its answer is the error."""
    flaky = Flaky(failures=100)
    for server in serve(flaky):
        with client_for(server, tmp_path) as client, pytest.raises(KubeAnswerError) as caught:
            client.get("/api/v1/namespaces/pocket-id")
        assert flaky.seen == kube.RETRIES + 1
        assert str(caught.value) == (
            "the API server answered 503 for /api/v1/namespaces/pocket-id: storage is "
            "(re)initializing"
        )


@pytest.mark.parametrize("retry_after", ["soon", "\u00b9"])
def test_no_retry_without_retry_after(retry_after: str, tmp_path: Path) -> None:
    """A 503 whose Retry-After is not a number of seconds is not retried (as client-go): not
    'soon', nor '¹', a digit to str.isdigit that float() refuses (it raised ValueError)."""
    flaky = Flaky(failures=1, retry_after=retry_after)
    for server in serve(flaky):
        with client_for(server, tmp_path) as client, pytest.raises(KubeAnswerError):
            client.get("/api/v1/namespaces/pocket-id")
        assert flaky.seen == 1


def test_retry_after_wait_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry-After: 3600 waits RETRY_WAIT_CAP seconds, not an hour."""
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    flaky = Flaky(failures=1, retry_after="3600")
    for server in serve(flaky):
        with client_for(server, tmp_path) as client:
            client.get("/api/v1/namespaces/pocket-id")
    assert waits == [kube.RETRY_WAIT_CAP]


@pytest.mark.parametrize("behaviour", [Behaviour.DRIP_BODY, Behaviour.DRIP_HEADERS])
def test_dripping_api_server_is_a_timeout(behaviour: Behaviour, tmp_path: Path) -> None:
    """An "API server" dripping its answer (headers or body) a byte at a time ends by the
    timeout (lightkube's httpx2 pool is armed too), exit 2."""
    with HostileServer(behaviour, interval=0.02) as hostile:
        start = time.monotonic()
        with client_for(hostile.url, tmp_path, timeout=0.5) as client, pytest.raises(KubeError):
            client.get("/version")
        assert time.monotonic() - start < 2.5  # the timeout, and a loaded machine's margin


@pytest.mark.parametrize("behaviour", [Behaviour.DEEP_JSON, Behaviour.HUGE_INT])
def test_hostile_json_from_the_api_server_could_not_run(
    behaviour: Behaviour, tmp_path: Path
) -> None:
    """Deep or huge-integer JSON in a 200 answer is a KubeAnswerError naming the limit."""
    with (
        HostileServer(behaviour, size=5000) as hostile,
        client_for(hostile.url, tmp_path) as client,
        pytest.raises(KubeAnswerError) as caught,
    ):
        client.get("/version")
    assert str(caught.value).startswith(
        f"the API server at {hostile.url} answered GET /version with JSON "
    )
