"""rehearse enforces the container's limits as the kubelet does: OOMKilled at the memory limit,
throttled by the CPU limit's CFS quota, and says so where the machine cannot.

The Pocket-ID test double (tests/pocket_id_double.py) stands in for the program: one that
``allocate``s past its memory limit once it runs, one that ``spin``s on the CPU at start.
The tests that need the limits enforced skip on a machine that cannot enforce them, and
fail there in CI (POCKETID_K8S_REQUIRE_PEERS=1), as every test that needs a peer does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pocketid_k8s.check.model import Resource
from pocketid_k8s.contract import kubelet
from pocketid_k8s.live.report import Row, Status
from pocketid_k8s.rehearse import Options, limits, rehearse
from pocketid_k8s.rehearse import run as run_module
from pocketid_k8s.rehearse.limits import Limits, Wanted, remove_left, support
from pocketid_k8s.rehearse.run import Rehearsal
from tests.conftest import skip_or_fail
from tests.pocket_id_double import write_double
from tests.test_rehearse import ROOT_USER, bundle, interpreter, open_dir

__all__ = ["open_dir"]  # the fixture, shared with tests/test_rehearse.py

MIB = 2**20


def needs_enforcement(wanted: Wanted) -> None:
    """Skip, or fail in CI, with the reason when this machine cannot enforce ``wanted``."""
    said = support(wanted)
    if not said.startswith("limits enforced"):
        skip_or_fail(
            f"this machine cannot enforce the limits ({said}); run the tests as root where "
            "the memory and cpu controllers are writable (cgroup v1 hierarchies or cgroup v2)"
        )


def double_with(folder: Path, misbehave: str, delay: float, env: dict[str, str]) -> Path:
    python = interpreter() if ROOT_USER else sys.executable
    return write_double(folder / "pocket-id-test-double", python, misbehave, delay, env)


def with_limits(**wanted: str) -> list[Resource]:
    """The bundle with the Deployment's container limited to ``wanted`` (no other limit)."""
    resources = bundle()
    for resource in resources:
        doc: Any = resource.doc  # the rendered dict, edited as YAML data
        if doc.get("kind") == "Deployment":
            container = doc["spec"]["template"]["spec"]["containers"][0]
            container["resources"]["limits"] = dict(wanted)
    return [Resource(r.doc, r.file, r.lines) for r in resources]  # views read anew


def row(rows: list[Row], check: str) -> Row:
    return next(r for r in rows if r.check == check)


# --- the kubelet's figures and the cgroup files, alone ---------------------------------------


def test_cpu_limit_becomes_the_kubelets_cfs_quota() -> None:
    """250m: 25 ms per 100 ms period; a tiny limit gets the kubelet's 1 ms floor."""
    assert (kubelet.cfs_quota_us(250), kubelet.cfs_quota_us(5)) == (25_000, 1_000)


def test_cgroup_v2_files_get_the_kubelets_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where v2 has the controllers: memory.max, memory.swap.max 0 and cpu.max are written."""
    if not ROOT_USER:
        pytest.skip("only root makes cgroups: the v2 files are written as root")
    base = tmp_path / "base"
    child = base / "pocketid-rehearse-x-pod-1"
    child.mkdir(parents=True)
    (base / "cgroup.subtree_control").write_text("cpu memory\n")
    for name in ("memory.max", "memory.swap.max", "cpu.max"):
        (child / name).touch()  # a real cgroup file takes each write whole
    monkeypatch.setattr(limits, "CGROUP_ROOT", tmp_path)
    monkeypatch.setattr(limits, "cgroup_base", lambda: base)
    held = Limits.make(Wanted.of({"memory": "64Mi", "cpu": "250m"}), "x-pod-1", child)
    written = {n: (child / n).read_text() for n in ("memory.max", "memory.swap.max", "cpu.max")}
    assert written == {
        "memory.max": str(64 * MIB),
        "memory.swap.max": "0",
        "cpu.max": "25000 100000",
    }
    assert held.enforced == ["memory", "cpu"]


def test_without_root_the_limits_are_compared_and_the_reason_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not root: nothing enforced, and the phrase for the pod row says why."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert support(Wanted.of({"memory": "256Mi"})) == (
        "limits compared, not enforced: memory (not root: only root may make the cgroups "
        "that limit a program)"
    )


def test_cgroups_of_an_instance_are_removed_with_it() -> None:
    """The limiting cgroups hold the program from its start and are gone after close."""
    wanted = Wanted.of({"memory": "64Mi", "cpu": "100m"})
    needs_enforcement(wanted)
    held = Limits.make(wanted, f"test-{os.getpid()}-pod-1", None)
    with held.placed():
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        folders = [g.folder for g in held.groups]
        placed = Path(f"/proc/{child.pid}/cgroup").read_text()
        assert all(f"/{f.name}\n" in placed for f in folders), placed
        assert f"/{folders[0].name}" not in Path("/proc/self/cgroup").read_text()
    finally:
        child.kill()
        child.wait()
        held.close()
    assert [f for f in folders if f.exists()] == []


def test_sweep_removes_the_cgroups_a_dead_run_left() -> None:
    """A run killed before it closed its limits: the next run's sweep removes them."""
    wanted = Wanted.of({"memory": "64Mi", "cpu": "100m"})
    needs_enforcement(wanted)
    suffix = f"dead{os.getpid()}{threading.get_native_id()}"
    left = Limits.make(wanted, f"{suffix}-pod-1", None)
    folders = [g.folder for g in left.groups]
    assert all(f.is_dir() for f in folders)
    remove_left(suffix)
    assert [f for f in folders if f.exists()] == []


# --- the rehearsal ---------------------------------------------------------------------------


def test_program_past_its_memory_limit_is_oomkilled_and_restarted(open_dir: Path) -> None:
    """64Mi limit, the double takes 512 MiB once ready: OOMKilled (137), then the restart."""
    needs_enforcement(Wanted.of({"memory": "64Mi"}))
    program = double_with(open_dir, "allocate", 0.5, {"POCKET_ID_DOUBLE_ALLOCATE_MIB": "512"})
    result = rehearse(
        Options(program, with_limits(memory="64Mi"), "bundle", stay_up=3.0, workdir=open_dir)
    )
    start, kill = row(result.outcome.rows, "start"), row(result.outcome.rows, "kill")
    assert start.status is Status.FAIL, result.outcome.rows
    assert "then OOMKilled (exit code 137): the kernel's OOM killer ended it at its memory " in (
        start.detail
    )
    assert kill.detail.startswith("pod-1 was OOMKilled (exit code 137) at its memory limit 64Mi")
    assert "the kubelet would see it Ready again" in kill.detail
    assert result.figures["oom_kills"] >= 1
    assert result.outcome.exit_code == 1


def test_cpu_bound_start_is_throttled_by_the_cfs_quota(open_dir: Path) -> None:
    """100m limit, 0.5 s of CPU before it listens: the kernel counts throttled time."""
    needs_enforcement(Wanted.of({"cpu": "100m"}))
    program = double_with(open_dir, "spin", 0.0, {"POCKET_ID_DOUBLE_SPIN_SECONDS": "0.5"})
    result = rehearse(
        Options(program, with_limits(cpu="100m"), "bundle", stay_up=0.2, workdir=open_dir)
    )
    resources = row(result.outcome.rows, "resources")
    assert "limits enforced as the kubelet does: CFS quota 10000 us per 100000 us" in (
        resources.detail
    )
    assert result.figures["startup_throttled_s"] > 0.0, resources
    assert result.figures["startup_cpu_s"] >= 0.5


def test_without_the_controllers_the_limits_are_compared_not_enforced(
    open_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No hierarchy under the cgroup root (an empty folder): the rows say so, all else runs."""
    empty = open_dir / "no-cgroups"
    empty.mkdir()
    monkeypatch.setattr(limits, "CGROUP_ROOT", empty)
    program = double_with(open_dir, "", 0.0, {})
    result = rehearse(Options(program, bundle(), "bundle", stay_up=0.2, workdir=open_dir))
    pod, resources = row(result.outcome.rows, "pod"), row(result.outcome.rows, "resources")
    assert "limits compared, not enforced: memory (" in pod.detail
    assert "compared, not enforced (memory: " in resources.detail
    assert "enforced as the kubelet does" not in resources.detail
    assert resources.status is Status.PASS, resources


def _slow_on_call(monkeypatch: pytest.MonkeyPatch, name: str, call: int, seconds: float) -> None:
    """run.``name`` waits ``seconds`` before its ``call``-th call (a step that takes a while,
    so that the double's allocation comes during it)."""
    real = getattr(run_module, name)
    calls = 0

    def slow(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == call:
            time.sleep(seconds)
        return real(*args)

    monkeypatch.setattr(run_module, name, slow)


def _allocating_later(open_dir: Path) -> Path:
    """The double takes 512 MiB 1.5 s after it answered healthy: after the start step."""
    return double_with(open_dir, "allocate", 1.5, {"POCKET_ID_DOUBLE_ALLOCATE_MIB": "512"})


def _oom_options(program: Path, open_dir: Path) -> Options:
    return Options(
        program,
        with_limits(memory="64Mi"),
        "bundle",
        stay_up=0.2,
        probe_window=0.0,
        workdir=open_dir,
    )


def _oom_during_discovery(open_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Rehearsal:
    """A rehearsal whose pod (a 64Mi limit) is OOM-killed while discovery is asked."""
    needs_enforcement(Wanted.of({"memory": "64Mi"}))
    _slow_on_call(monkeypatch, "_get_json", 1, 4.0)
    return rehearse(_oom_options(_allocating_later(open_dir), open_dir))


def test_oom_during_discovery_is_that_rows_reason_and_the_restart_is_played(
    open_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OOMKilled while discovery is asked: its row says so, the kill row restarts it."""
    result = _oom_during_discovery(open_dir, monkeypatch)
    rows = result.outcome.rows
    assert row(rows, "start").status is Status.PASS, rows
    discovery = row(rows, "oidc-discovery")
    assert discovery.status is Status.FAIL
    assert "pod-1 was OOMKilled (exit code 137): the kernel's OOM killer ended it at its " in (
        discovery.detail
    )
    assert row(rows, "kill").detail.startswith("pod-1 was OOMKilled (exit code 137)"), rows


def test_oom_during_discovery_leaves_the_later_steps_named_as_not_played(
    open_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After that OOM the shutdown, restart and surge rows say why they were not played."""
    result = _oom_during_discovery(open_dir, monkeypatch)
    later = {r.check: r for r in result.outcome.rows if r.check in ("shutdown", "restart", "surge")}
    assert {c: r.status for c, r in later.items()} == dict.fromkeys(
        ("shutdown", "restart", "surge"), Status.SKIP
    ), result.outcome.rows
    assert "not played: pod-1 was OOMKilled during oidc-discovery" in later["surge"].detail


def test_oom_of_the_replacement_during_restart_is_played_as_a_restart(
    open_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pod-2 OOMKilled while the restart step reads its keys: its row and the kill row say so."""
    needs_enforcement(Wanted.of({"memory": "64Mi"}))
    _slow_on_call(monkeypatch, "_kids", 2, 4.0)  # the first is the jwks step's, on pod-1
    result = rehearse(_oom_options(_allocating_later(open_dir), open_dir))
    rows = result.outcome.rows
    restart = row(rows, "restart")
    assert restart.status is Status.FAIL, rows
    assert "pod-2 was OOMKilled (exit code 137)" in restart.detail
    assert row(rows, "kill").detail.startswith("pod-2 was OOMKilled"), rows
    assert row(rows, "surge").status is Status.SKIP
