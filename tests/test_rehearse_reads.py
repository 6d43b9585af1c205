"""rehearse's reads of the program's answers (probes, discovery, JWKS, sign-in) against the
hostile server double: each is bounded and ends as a failed probe or row, never a hang, a
traceback or exit 70 (issue 17, families 1 and 4)."""

from __future__ import annotations

import time

import pytest

from pocketid_k8s.live.report import Status
from pocketid_k8s.rehearse import probes, run
from pocketid_k8s.rehearse.browser import Response
from tests.hostile_http import Behaviour, HostileServer


def test_probe_slower_than_its_timeout_fails() -> None:
    """An answer dripped past timeoutSeconds is a failed probe, as the kubelet counts it."""
    with HostileServer(Behaviour.DRIP_BODY, interval=0.05) as server:
        start = time.monotonic()
        result = probes.attempt(server.port, "/healthz", 0.3)
        took = time.monotonic() - start
    assert (result.ok, result.status, result.error) == (False, None, "no answer within 0.3 s")
    assert took < 2.0  # the timeout, and a loaded machine's margin


def test_probe_reads_at_most_10_kib_and_ignores_the_rest() -> None:
    """An endless 200 answer is read to 10 KiB, the rest ignored: the probe succeeds, as the
    kubelet's does (it held 1.5 GB before)."""
    with HostileServer(Behaviour.ENDLESS_BODY) as server:
        result = probes.attempt(server.port, "/healthz", 1.0)
    assert (result.ok, result.status) == (True, 200)


@pytest.mark.parametrize(
    ("behaviour", "error"),
    [
        (Behaviour.BAD_STATUS, "not a valid HTTP answer"),
        (Behaviour.LONG_STATUS, "not a valid HTTP answer (Receive buffer too long)"),
        (Behaviour.HANG_UP, "not a valid HTTP answer"),
        (Behaviour.CUT_BODY, "not a valid HTTP answer"),
        (Behaviour.SILENT, "no answer within 0.3 s"),
    ],
)
def test_probe_on_broken_http_fails_saying_why(behaviour: Behaviour, error: str) -> None:
    """A bad or 200 KB status line, a dropped connection, a cut body or silence is a failed
    probe with a reason (BadStatusLine, LineTooLong, RemoteDisconnected and IncompleteRead
    were uncaught: exit 70 with a thread traceback)."""
    with HostileServer(behaviour, size=200_000) as server:
        result = probes.attempt(server.port, "/healthz", 0.3)
    assert not result.ok
    assert result.error.startswith(error)


def test_probe_on_a_closed_port_says_connection_failed() -> None:
    """Nothing listening: 'connection failed (Connection refused)'."""
    with HostileServer(Behaviour.SILENT) as server:
        port = server.port
    result = probes.attempt(port, "/healthz", 0.3)
    assert result.error == "connection failed (Connection refused)"


@pytest.mark.parametrize(
    ("behaviour", "problem"),
    [
        (Behaviour.DEEP_JSON, "JSON nested deeper than 100 levels"),
        (Behaviour.HUGE_INT, "JSON with a number beyond the limits (an integer over 100 digits"),
    ],
)
def test_hostile_discovery_json_is_a_reason(behaviour: Behaviour, problem: str) -> None:
    """Discovery nested 100,000 deep or with a 5000-digit integer gives a reason, not a
    RecursionError or ValueError."""
    with HostileServer(behaviour, size=100_000 if behaviour is Behaviour.DEEP_JSON else 5000) as s:
        status, doc, found = run._get_json(s.port, "/.well-known/openid-configuration")
    assert (status, doc) == (200, None)
    assert found.startswith(problem)


def test_endless_discovery_is_cut_at_the_cap() -> None:
    """An endless discovery answer is read to 1 MiB, then refused with the cap (it read
    1.5 GB)."""
    with HostileServer(Behaviour.ENDLESS_BODY) as server:
        status, doc, problem = run._get_json(server.port, "/.well-known/openid-configuration")
    assert (status, doc, problem) == (None, None, "the answer is larger than 1 MiB")


def test_jwks_that_is_not_a_key_set_has_no_kid() -> None:
    """A JWKS answer beyond the limits gives no key ids (the jwks row fails)."""
    with HostileServer(Behaviour.DEEP_JSON, size=100_000) as server:
        assert run._kids(server.port) == set()


def test_sign_in_answer_of_another_shape_fails_the_step() -> None:
    """A sign-in step whose answer is JSON of another shape (a list where an object was
    expected) fails its row naming that, instead of an AttributeError (exit 70)."""
    from pocketid_k8s.rehearse.login import LoginRun

    rows: list[tuple[str, Status, str]] = []
    login = LoginRun.__new__(LoginRun)  # only step() is exercised: no front, no program
    login.report = lambda name, status, detail, ms: rows.append((name, status, detail))

    def action() -> str:
        return str(Response(200, {}, b"[1, 2]").json().get("username"))

    assert not login.step("login-sign-in", action)
    assert rows == [
        (
            "login-sign-in",
            Status.FAIL,
            "the program's answer does not have Pocket-ID's shape (AttributeError: 'list' "
            "object has no attribute 'get')",
        )
    ]


def test_sign_in_answer_beyond_json_limits_fails_the_step() -> None:
    """A sign-in answer nested 100,000 deep fails its row with the limit, not a crash."""
    from pocketid_k8s.rehearse.login import LoginRun

    rows: list[tuple[str, Status, str]] = []
    login = LoginRun.__new__(LoginRun)
    login.report = lambda name, status, detail, ms: rows.append((name, status, detail))
    deep = Response(200, {}, b"[" * 100_000 + b"]" * 100_000)
    assert not login.step("login-admin", lambda: str(deep.json()))
    assert rows == [
        (
            "login-admin",
            Status.FAIL,
            "the program's answer: JSON nested deeper than 100 levels",
        )
    ]
