"""verify against a hostile instance (the server double of tests/hostile_http.py): each
fault of issue 17's families 1 and 4 is a failing row within --timeout and the 1 MiB cap,
through the library and the installed command (exit 1, no traceback)."""

from __future__ import annotations

import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from pocketid_k8s.live.report import Outcome, Status
from pocketid_k8s.live.verify import Target, verify
from tests.conftest import ROOT
from tests.hostile_http import Behaviour, HostileServer

TIMEOUT = 0.5


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    return context


def rows(outcome: Outcome) -> dict[str, tuple[Status, str]]:
    return {row.check: (row.status, row.detail) for row in outcome.rows}


@pytest.fixture
def hostile(
    request: pytest.FixtureRequest, server_context: ssl.SSLContext
) -> Iterator[tuple[HostileServer, HostileServer]]:
    """The same misbehaviour (the test's parameter) over HTTPS and plain HTTP."""
    behaviour, size = request.param
    with (
        HostileServer(behaviour, size, 0.05, server_context) as https,
        HostileServer(behaviour, size, 0.05) as http,
    ):
        yield https, http


def run_verify(
    servers: tuple[HostileServer, HostileServer], ca_file: Path
) -> tuple[Outcome, float]:
    https, http = servers
    target = Target(app_url=https.url, ca_bundle=ca_file, timeout=TIMEOUT, http_port=http.port)
    start = time.monotonic()
    outcome = verify(target)
    return outcome, time.monotonic() - start


@pytest.mark.parametrize("hostile", [(Behaviour.ENDLESS_BODY, 0)], indirect=True)
def test_endless_plain_http_body_is_cut(
    hostile: tuple[HostileServer, HostileServer], ca_file: Path
) -> None:
    """The plain-HTTP redirect check reads an endless body to the 1 MiB cap, then fails the
    row (it read 8 GB)."""
    outcome, _ = run_verify(hostile, ca_file)
    status, detail = rows(outcome)["http-redirect"]
    assert status is Status.FAIL
    assert detail == f"http://localhost:{hostile[1].port}/: the answer is larger than 1 MiB"


@pytest.mark.parametrize(
    "hostile", [(Behaviour.DRIP_BODY, 0), (Behaviour.DRIP_HEADERS, 0)], indirect=True
)
def test_dripped_answers_end_by_the_timeout(
    hostile: tuple[HostileServer, HostileServer], ca_file: Path
) -> None:
    """A body or headers dripped a byte at a time, over TLS and plain HTTP, fail each row by
    --timeout: six requests take at most six timeouts (it held verify forever)."""
    outcome, took = run_verify(hostile, ca_file)
    found = rows(outcome)
    assert found["healthz"] == (
        Status.FAIL,
        f"no answer from {hostile[0].url}/healthz within {TIMEOUT:g}s",
    )
    assert found["http-redirect"][0] is Status.FAIL
    assert took < 6 * TIMEOUT + 2


@pytest.mark.parametrize(
    ("hostile", "reason"),
    [
        ((Behaviour.DEEP_JSON, 100_000), "JSON nested deeper than 100 levels"),
        ((Behaviour.HUGE_INT, 5000), "JSON with a number beyond the limits"),
    ],
    indirect=["hostile"],
)
def test_hostile_discovery_and_jwks_json_fail_their_rows(
    hostile: tuple[HostileServer, HostileServer], ca_file: Path, reason: str
) -> None:
    """Discovery and JWKS nested 100,000 deep or holding a 5000-digit integer fail their
    rows naming the limit (RecursionError and ValueError were exit 70)."""
    outcome, _ = run_verify(hostile, ca_file)
    found = rows(outcome)
    assert found["oidc-discovery"][0] is Status.FAIL
    assert found["oidc-discovery"][1].startswith(f"the answer is {reason}")
    assert found["jwks"][0] is Status.FAIL
    assert f"without a JSON key set ({reason}" in found["jwks"][1]


_PEAK_REPORTING: str = """
import runpy, sys
script, sys.argv = sys.argv[1], sys.argv[1:]
try:
    runpy.run_path(script, run_name="__main__")
finally:
    with open("/proc/self/status") as status:
        peak = next(line for line in status if line.startswith("VmHWM"))
    sys.stderr.write(f"\\n{peak}")
"""
"""Runs the installed script, then writes its peak RSS (VmHWM: this program's own, not the
forked test runner's, which ru_maxrss would count) as the last line of stderr."""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc")
@pytest.mark.parametrize("hostile", [(Behaviour.GZIP_BOMB, 64_000)], indirect=True)
def test_installed_command_on_a_gzip_bomb_exits_1(
    hostile: tuple[HostileServer, HostileServer], ca_file: Path, tmp_path: Path
) -> None:
    """The installed command against a 64 MiB gzip bomb: exit 1, rows naming the cap, no
    traceback, and a peak RSS below the bomb's size (it was 175 MiB; now about 48)."""
    https, http = hostile
    (tmp_path / "pocket-id.toml").write_text("")
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _PEAK_REPORTING,
            str(ROOT / "scripts/pocketid-k8s"),
            "verify",
            https.url,
            "--ca-bundle",
            str(ca_file),
            "--http-port",
            str(http.port),
            "--timeout",
            "5",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert f'"detail": "{https.url}/healthz: the answer is larger than 1 MiB' in done.stdout
    peak_kib = int(done.stderr.splitlines()[-1].split()[1])
    assert peak_kib < 64 * 1024
