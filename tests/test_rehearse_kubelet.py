"""rehearse as the kubelet would: a network of its own, and the restart after a SIGKILL.

The Pocket-ID test double (tests/pocket_id_double.py) stands in for the program: one that
answers healthy only in a network namespace holding nothing but loopback, and one whose
instance lock outlives a SIGKILL for a few seconds (Pocket-ID's: 30 s, 90 s from v2.12).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from pocketid_k8s.check.model import Resource
from pocketid_k8s.contract import kubelet
from pocketid_k8s.live.report import Row, Status
from pocketid_k8s.rehearse import Options, rehearse
from pocketid_k8s.rehearse.kill import expected_back
from pocketid_k8s.rehearse.netns import interfaces, own_network
from pocketid_k8s.rehearse.process import free_port
from pocketid_k8s.rehearse.run import Rehearsal
from tests.pocket_id_double import write_double
from tests.test_rehearse import ROOT_USER, bundle, interpreter, kept, open_dir, statuses

__all__ = ["kept", "open_dir"]  # the fixtures, shared with tests/test_rehearse.py

LOOPBACK_ONLY = {"POCKET_ID_DOUBLE_LOOPBACK_ONLY": "true"}
LOCK_TTL = {"POCKET_ID_DOUBLE_LOCK_TTL": "2"}
needs_root = pytest.mark.skipif(not ROOT_USER, reason="a network namespace needs root")


def double_with(folder: Path, env: dict[str, str]) -> Path:
    """The test double, its variables ``env`` written in."""
    python = interpreter() if ROOT_USER else sys.executable
    return write_double(folder / "pocket-id-test-double", python, env=env)


def row(rows: list[Row], check: str) -> Row:
    return next(r for r in rows if r.check == check)


def with_startup(resources: list[Resource], period: int, failures: int) -> list[Resource]:
    """The bundle with the Deployment's startupProbe every ``period`` s, ``failures`` times."""
    for resource in resources:
        doc: Any = resource.doc  # the rendered dict, edited as YAML data
        if doc.get("kind") == "Deployment":
            container = doc["spec"]["template"]["spec"]["containers"][0]
            container["startupProbe"].update(periodSeconds=period, failureThreshold=failures)
    return [Resource(r.doc, r.file, r.lines) for r in resources]  # views read anew


# --- the back-off and the network, alone -----------------------------------------------------


def test_kubelet_restarts_at_once_then_doubles_to_the_cap() -> None:
    """The kubelet's waits: 0, 10, 20, 40, ... seconds, never more than 300."""
    delays = list(itertools.islice(kubelet.restart_delays(), 9))
    assert delays == [0, 10, 20, 40, 80, 160, 300, 300, 300]


def test_expected_return_is_the_first_try_after_the_window() -> None:
    """30 s window: back at the try 30 s after the kill; 90 s: at 150 s (70 s is refused)."""
    assert (expected_back(30), expected_back(90)) == (30, 150)


@needs_root
def test_own_network_holds_only_loopback_and_goes_back() -> None:
    """Inside: only lo, and loopback connects; after: the machine's interfaces again."""
    before = interfaces()
    with own_network() as network:
        assert network.isolated
        assert interfaces() == ["lo"]
        read = "print(open('/proc/self/net/dev').read(), end='')"
        child = subprocess.run(
            [sys.executable, "-c", read], check=True, capture_output=True, text=True
        )
        assert [ln.partition(":")[0].strip() for ln in child.stdout.splitlines()[2:]] == ["lo"]
    assert interfaces() == before


def test_without_root_the_network_is_the_machines(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not root and not one-way (a test run): nothing is unshared, and the detail says so."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    before = interfaces()
    with own_network() as network:
        assert interfaces() == before
    assert not network.isolated
    assert network.detail.startswith("network: the machine's (not root, and this caller cannot")


def test_loopback_only_double_is_not_ready_in_the_machines_network(open_dir: Path) -> None:
    """The double outside a namespace of its own: /healthz answers 503 (the test can fail)."""
    if interfaces() == ["lo"]:
        pytest.skip("this machine's network holds only loopback already")
    program = double_with(open_dir, {**LOOPBACK_ONLY, "ENCRYPTION_KEY": "k" * 32})
    port = free_port()
    env = {"PORT": str(port), "HOST": "127.0.0.1", "PATH": os.environ.get("PATH", "")}
    env["DB_CONNECTION_STRING"] = str(open_dir / "data" / "pocket-id.db")
    process = subprocess.Popen([str(program)], env=env, stdout=subprocess.DEVNULL)
    try:
        status = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    status = 204
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                time.sleep(0.05)
                continue
            break
        assert status == 503
    finally:
        process.kill()
        process.wait()


# --- the rehearsal ---------------------------------------------------------------------------


@needs_root
def test_rehearsal_runs_in_a_loopback_only_namespace(open_dir: Path) -> None:
    """The double that is ready only with nothing but lo: every step passes, the pod says so."""
    program = double_with(open_dir, LOOPBACK_ONLY)
    result = rehearse(
        Options(program, bundle(), "bundle", stay_up=0.2, workdir=open_dir, kill=True)
    )
    got = statuses(result.outcome.rows)
    assert set(got.values()) == {"pass"}, result.outcome.rows
    assert (
        "network: a namespace of its own holding only loopback"
        in row(result.outcome.rows, "pod").detail
    )


def test_cli_as_another_user_runs_in_an_unprivileged_namespace(open_dir: Path) -> None:
    """Not root: the command line leaves the machine's network through a user namespace."""
    setpriv = shutil.which("setpriv")
    if ROOT_USER and setpriv is None:
        pytest.skip("no setpriv to run the command line as another user")
    open_dir.chmod(0o777)
    program = double_with(open_dir, LOOPBACK_ONLY)
    drop = [str(setpriv), "--reuid=65534", "--regid=65534", "--clear-groups"] if ROOT_USER else []
    result = subprocess.run(
        [*drop, sys.executable, "-m", "pocketid_k8s.cli", "rehearse", "--binary", str(program)],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(open_dir)},
        cwd=open_dir,
        check=False,
        timeout=300,
    )
    if "refused an unprivileged user namespace" in result.stdout:
        pytest.skip("this kernel refuses unprivileged user namespaces")
    if result.returncode == 2 and "ermission denied" in result.stderr:
        pytest.skip(f"the other user cannot run this Python: {result.stderr[-200:]}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "holding only loopback, in an unprivileged user namespace" in result.stdout


CLI = (sys.executable, "-m", "pocketid_k8s.cli")


def _cli_kill_rows(open_dir: Path, *flags: str) -> tuple[int, dict[str, Any]]:
    program = double_with(open_dir, {})
    result = subprocess.run(
        [*CLI, "rehearse", "--binary", str(program), "--format", "json", *flags],
        capture_output=True,
        text=True,
        cwd=open_dir,
        check=False,
        timeout=300,
    )
    assert result.returncode in (0, 1), result.stderr
    rows = {r["check"]: r for r in json.loads(result.stdout)["checks"]}
    return result.returncode, rows


def test_cli_plays_the_kill_step_by_default(open_dir: Path) -> None:
    """No flag: the command line SIGKILLs the instance and reports when it is Ready again."""
    code, rows = _cli_kill_rows(open_dir)
    assert rows["kill"]["status"] == "pass", rows["kill"]
    assert rows["kill"]["detail"].startswith("SIGKILL to ")
    assert "Ready again" in rows["kill"]["detail"]
    assert code == 0


def test_cli_no_kill_lists_the_step_as_skipped(open_dir: Path) -> None:
    """--no-kill: the kill row is a skip that says how to play it, and nothing else changes."""
    code, rows = _cli_kill_rows(open_dir, "--no-kill")
    assert rows["kill"]["status"] == "skip", rows["kill"]
    assert "--no-kill" in rows["kill"]["detail"]
    assert code == 0


def test_cli_refuses_kill_and_no_kill_together(open_dir: Path) -> None:
    """--kill with --no-kill is a usage error (exit 2), not a silent choice."""
    result = subprocess.run(
        [*CLI, "rehearse", "--kill", "--no-kill"],
        capture_output=True,
        text=True,
        cwd=open_dir,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert "not allowed with argument" in result.stderr


def at_version(resources: list[Resource], tag: str) -> list[Resource]:
    """The bundle with the Deployment's image at ``tag``."""
    for resource in resources:
        doc: Any = resource.doc  # the rendered dict, edited as YAML data
        if doc.get("kind") == "Deployment":
            container = doc["spec"]["template"]["spec"]["containers"][0]
            container["image"] = container["image"].rpartition(":")[0] + ":" + tag
    return [Resource(r.doc, r.file, r.lines) for r in resources]


def test_surge_refusal_is_read_in_the_versions_own_words(open_dir: Path) -> None:
    """A v2.8.0 pod whose second instance says v2.5.0+'s words: the surge row passes (found by
    running the real v2.8.0, which the row failed while looking for v2.2.0's words)."""
    program = double_with(open_dir, {"POCKET_ID_DOUBLE_VERSION": "2.8.0"})
    result = rehearse(Options(program, at_version(bundle(), "v2.8.0"), "bundle", stay_up=0.2))
    surge = row(result.outcome.rows, "surge")
    assert "it appears that there's already one instance" in surge.detail
    assert surge.status is Status.PASS, surge


def _killed(open_dir: Path, settings: dict[str, str]) -> tuple[Rehearsal, Row]:
    """A rehearsal with the kill step, of the double with ``settings``, and its kill row."""
    program = double_with(open_dir, settings)
    result = rehearse(
        Options(program, bundle(), "bundle", stay_up=0.2, workdir=open_dir, kill=True)
    )
    return result, row(result.outcome.rows, "kill")


def test_kill_step_waits_out_the_lock_on_the_kubelets_back_off(open_dir: Path) -> None:
    """Lock held 2 s after SIGKILL: the try at once is refused, the one 10 s later is Ready."""
    result, kill = _killed(open_dir, LOCK_TTL)
    assert kill.status is Status.PASS, kill
    assert "after 1 failed start(s)" in kill.detail
    assert '0.0 s exited with code 1: ERR error="failed to acquire application lock' in kill.detail
    assert "v2.2.0's restart window is 30 s (the stale instance lock)" in kill.detail
    assert "expect it back about 30 s after the kill" in kill.detail
    assert 10.0 <= result.figures["kill_back_s"] < 30.0
    assert result.figures["kill_restarts"] == 2


def test_kill_step_back_at_once_does_not_predict_the_window(open_dir: Path) -> None:
    """No start refused after the kill: the row says so, not 'expect it back about 30 s' (the
    real v2.2.0 with the spec's data in the writable layer was Ready 0.5 s after the kill)."""
    _, kill = _killed(open_dir, {})
    assert kill.status is Status.PASS, kill
    assert "after 0 failed start(s)" in kill.detail
    assert "but no start was refused here" in kill.detail
    assert "expect it back about" not in kill.detail


def test_kill_step_fails_a_startup_budget_smaller_than_the_window(open_dir: Path) -> None:
    """A 3 s startupProbe and a double that waits for the lock: killed once, fix given."""
    program = double_with(
        open_dir, {"POCKET_ID_DOUBLE_LOCK_TTL": "5", "POCKET_ID_DOUBLE_LOCK_WAIT": "true"}
    )
    resources = with_startup(bundle(), period=1, failures=3)
    result = rehearse(
        Options(program, resources, "bundle", stay_up=0.2, workdir=open_dir, kill=True)
    )
    kill = row(result.outcome.rows, "kill")
    assert kill.status is Status.FAIL, kill
    assert "killed by the kubelet: not ready within 3 s" in kill.detail
    assert "the startupProbe allows 3 s, less than the 30 s window" in kill.detail
    # 30 s window + the first start (under a second here, rounded up) at one try a second
    assert re.match(r"raise the startupProbe's failureThreshold to at least 3[1-3] ", kill.hint)
    assert result.outcome.exit_code == 1


def test_health_probe_says_what_the_versions_204_proves() -> None:
    """/healthz's meaning names the instance lock up to v2.11 and the actor-host place from
    v2.12 (the rows said 'instance lock' for every version)."""
    from pocketid_k8s.rehearse.pod import Probe
    from pocketid_k8s.rehearse.probes import Attempt, meaning

    probe = Probe("readinessProbe", "/healthz", 1411, 5, 2, 3, 1, 0)
    served = Attempt(True, 204, "", 1.0)
    assert meaning(probe, served, (2, 2, 0))[1].endswith("the instance lock held")
    assert meaning(probe, served, (2, 14, 0))[1].endswith("the one actor-host place held")
