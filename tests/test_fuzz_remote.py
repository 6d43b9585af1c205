"""Property-based tests (issue 17, item 4): Hypothesis chooses a hostile server's behaviour
and its parameters (tests/hostile_http.py); every remote reader must end by its deadline
plus a small margin, hold no more memory than its cap plus a margin, and fail only in the
project's own terms: the reader, the schema fetch, rehearse's probes, discovery and JWKS at
the library level, and ``verify`` through the command line (text and json)."""

from __future__ import annotations

import json
import ssl
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest
import trustme
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pocketid_k8s import remote
from tests.hostile_http import BEHAVIOURS, Behaviour, HostileServer, gzip_bomb

T = TypeVar("T")

DEADLINE = 0.3
TIME_MARGIN = 2.0
"""Seconds past the deadline a request may take: thread scheduling on a loaded machine."""
MEMORY_MARGIN = 32 * 1024 * 1024
"""Bytes past the cap: httpcore's 64 KiB reads, headers, the server double's own buffers,
and h11's status-line regex, whose match of a line near its 100 KiB limit peaks at 25 MB
(found by make fuzz; measured alone). The faults this guards against held 1.5 to 8 GB."""
BOMB_MIB = (1, 16, 64)

Hostile = tuple[Behaviour, int, float]

_PROFILE = settings().max_examples
"""Examples per property in this profile: 25 in the suite, 2000 under make fuzz. A hostile
example waits up to a deadline, so the properties take a share of it (the reader the most)."""
READER_EXAMPLES = max(25, _PROFILE // 4)
LIBRARY_EXAMPLES = max(10, _PROFILE // 10)
CLI_EXAMPLES = max(3, _PROFILE // 20)


@st.composite
def hostile(draw: st.DrawFn) -> Hostile:
    """A misbehaviour, its size (bytes, digits, levels, or MiB of a bomb) and drip interval."""
    behaviour = draw(st.sampled_from(BEHAVIOURS))
    if behaviour is Behaviour.GZIP_BOMB:
        size = draw(st.sampled_from(BOMB_MIB)) * 1000
    else:
        size = draw(st.integers(min_value=1, max_value=200_000))
    interval = draw(st.floats(min_value=0.005, max_value=0.2))
    return behaviour, size, interval


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    return context


@pytest.fixture(scope="module")
def client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@contextmanager
def bounded(seconds: float, cap: int) -> Iterator[None]:
    """Assert the block ends within ``seconds`` + TIME_MARGIN and allocates at most ``cap``
    + MEMORY_MARGIN bytes at its peak (tracemalloc: every thread)."""
    for mib in BOMB_MIB:  # the server double's bombs are made outside the measure
        gzip_bomb(mib)
    remote.parse_json(b"{}")  # msgspec's first import is not a request's memory
    tracemalloc.start()
    start = time.monotonic()
    try:
        yield
    finally:
        took = time.monotonic() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert took < seconds + TIME_MARGIN, f"took {took:.2f} s"
    assert peak < cap + MEMORY_MARGIN, f"peak {peak / 1e6:.1f} MB"


def outcome(action: Callable[[], T]) -> T | remote.RemoteError:
    """What ``action`` gives, or the RemoteError it raises (any other exception fails)."""
    try:
        return action()
    except remote.RemoteError as exc:
        return exc


# --- the reader -------------------------------------------------------------------------


@given(case=hostile(), tls=st.booleans())
@example(case=(Behaviour.DRIP_BODY, 1, 0.05), tls=True)
@example(case=(Behaviour.GZIP_BOMB, 64_000, 0.01), tls=False)
@example(case=(Behaviour.DEEP_JSON, 100_000, 0.01), tls=False)
@example(case=(Behaviour.HUGE_INT, 5000, 0.01), tls=True)
@example(case=(Behaviour.LONG_STATUS, 99_000, 0.01), tls=False)
@settings(max_examples=READER_EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzz_reader_is_bounded(
    case: Hostile, tls: bool, server_context: ssl.SSLContext, client_context: ssl.SSLContext
) -> None:
    """fetch (and its JSON) ends by the deadline, under the cap, with an Answer or a
    RemoteError, whatever the server does."""
    behaviour, size, interval = case
    cap = 256 * 1024
    with (
        HostileServer(behaviour, size, interval, server_context if tls else None) as server,
        remote.http_client(verify=client_context) as client,
        bounded(DEADLINE, cap),
    ):
        found = outcome(
            lambda: remote.fetch(
                client, "GET", server.url + "/", deadline=DEADLINE, max_body=cap, max_redirects=3
            )
        )
        if isinstance(found, remote.Answer):
            outcome(found.json)
    assert isinstance(found, remote.Answer | remote.RemoteError)


# --- the schema fetch -------------------------------------------------------------------


@given(case=hostile())
@settings(
    max_examples=LIBRARY_EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_fuzz_schema_fetch_is_bounded(
    case: Hostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """check's schema download ends by FETCH_TIMEOUT, under MAX_SCHEMA_BYTES, with a schema,
    None, or a SchemaError (exit 2 in check)."""
    from pocketid_k8s.check import schema

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(schema, "FETCH_TIMEOUT", DEADLINE)
    monkeypatch.setattr(schema, "MAX_SCHEMA_BYTES", 256 * 1024)
    behaviour, size, interval = case
    with HostileServer(behaviour, size, interval) as server, bounded(DEADLINE, 256 * 1024 * 2):
        try:
            found = schema._fetch(f"{server.url}/traefik.io/middleware_v1alpha1.json")
        except schema.SchemaError:
            found = None
    assert found is None or isinstance(found, str)


# --- rehearse's reads of the program ----------------------------------------------------


@given(case=hostile(), timeout=st.floats(min_value=0.1, max_value=0.5))
@example(case=(Behaviour.DRIP_BODY, 1, 0.05), timeout=0.3)
@example(case=(Behaviour.SILENT, 1, 0.05), timeout=0.2)
@settings(max_examples=LIBRARY_EXAMPLES)
def test_fuzz_probe_is_bounded(case: Hostile, timeout: float) -> None:
    """A probe ends by its timeoutSeconds (a slower answer fails it), whatever the program
    answers, and a failure says why."""
    from pocketid_k8s.rehearse import probes

    behaviour, size, interval = case
    with HostileServer(behaviour, size, interval) as server, bounded(timeout, 1024 * 1024):
        result = probes.attempt(server.port, "/healthz", timeout)
    assert result.ok == (result.status is not None and 200 <= result.status < 400)
    assert result.status is not None or result.error


@given(case=hostile())
@example(case=(Behaviour.DEEP_JSON, 100_000, 0.01))
@example(case=(Behaviour.HUGE_INT, 5000, 0.01))
@example(case=(Behaviour.LONG_STATUS, 65698, 0.125))
@settings(max_examples=LIBRARY_EXAMPLES)
def test_fuzz_discovery_and_jwks_reading_is_bounded(case: Hostile) -> None:
    """rehearse's discovery and JWKS reads give a document or a reason, never an exception,
    within their deadline (shortened here) and the 1 MiB cap."""
    from pocketid_k8s.rehearse import run

    behaviour, size, interval = case
    with (
        pytest.MonkeyPatch.context() as patch,
        HostileServer(behaviour, size, interval) as server,
        bounded(2 * DEADLINE, 2 << 20),
    ):
        patch.setattr(run, "PROGRAM_DEADLINE", DEADLINE)
        status, doc, problem = run._get_json(server.port, "/.well-known/openid-configuration")
        kids = run._kids(server.port)
    if status is None:  # no answer: the reason is given
        assert problem
    if problem:  # no document beside a reason
        assert doc is None
    assert isinstance(kids, set)


# --- verify, through the command line ---------------------------------------------------


@given(case=hostile(), as_json=st.booleans())
@example(case=(Behaviour.GZIP_BOMB, 64_000, 0.01), as_json=True)
@example(case=(Behaviour.DRIP_HEADERS, 1, 0.01), as_json=False)
@settings(
    max_examples=CLI_EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_fuzz_verify_cli_is_bounded(
    case: Hostile,
    as_json: bool,
    server_context: ssl.SSLContext,
    ca: trustme.CA,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """verify against a hostile instance (HTTPS and plain HTTP): exit 1 or 2, no traceback,
    each of its six requests ended by --timeout, memory under its caps."""
    from tests.test_cli import run

    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    (tmp_path / "pocket-id.toml").write_text("")
    behaviour, size, interval = case
    _warm(capsys, tmp_path)
    with (
        HostileServer(behaviour, size, interval, server_context) as https,
        HostileServer(behaviour, size, interval) as http,
        bounded(6 * DEADLINE, 4 << 20),
    ):
        code, out, err = run(
            capsys,
            "verify",
            https.url,
            "--ca-bundle",
            str(ca_file),
            "--http-port",
            str(http.port),
            "--timeout",
            str(DEADLINE),
            *(["--format", "json"] if as_json else []),
            cwd=tmp_path,
        )
    assert code in (1, 2), out + err
    assert "Traceback" not in out + err
    if as_json and code == 1:
        assert {c["check"] for c in json.loads(out)["checks"]} >= {"tls", "healthz", "jwks"}


_warmed: list[bool] = []


def _warm(capsys: pytest.CaptureFixture[str], cwd: Path) -> None:
    """One verify run before any is measured: its modules' import is not its memory."""
    if _warmed:
        return
    from tests.test_cli import run

    with HostileServer(Behaviour.HANG_UP) as closed:
        url = closed.url
    run(capsys, "verify", url.replace("http:", "https:"), "--timeout", "0.2", cwd=cwd)
    _warmed.append(True)
