"""rehearse owns what the program starts: every process ends with the run, a dead run's sandbox
is swept by the next, and the pod's user reaches the program from any folder (issues 17, 24)."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pocketid_k8s.check.model import Resource
from pocketid_k8s.rehearse import Options, Rehearsal, rehearse
from pocketid_k8s.rehearse import run as run_module
from pocketid_k8s.rehearse.identity import Identity
from pocketid_k8s.rehearse.owner import KEPT, LOCK, PREFIX, Owned, own_sandbox, sweep
from pocketid_k8s.rehearse.process import free_port
from pocketid_k8s.rehearse.tree import MARKER_ENV, Tree, cgroup_base
from tests.conftest import ROOT
from tests.pocket_id_double import write_double
from tests.test_rehearse import ROOT_USER, bundle, interpreter, statuses

NUL = b"\0"
MODES = ["cgroup", "session"]
"""How the tree is held: a cgroup (as root where cgroup v2 is writable), or a session with a
child subreaper and a marker."""


def leftovers(marker: str) -> list[str]:
    """Live processes (other than this one) whose command line or environment holds ``marker``."""
    found = []
    wanted = marker.encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            state = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()[0]
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            environ = Path(f"/proc/{entry}/environ").read_bytes()
        except (OSError, IndexError):
            continue
        if state not in "ZX" and (wanted in cmdline or wanted in environ):
            found.append(f"{entry} {cmdline.replace(NUL, b' ').decode(errors='replace')}")
    return found


def quick(grace: int = 1) -> list[Resource]:
    """The rendered bundle with a short termination grace period (a program that ignores
    SIGTERM is killed after it)."""
    docs: list[Any] = [r.doc for r in bundle()]  # plain dicts, edited as YAML data
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = grace
    return [Resource(d, "x.yaml") for d in docs]


@pytest.fixture
def work() -> Iterator[Path]:
    """A fresh folder for the double and the sandbox, open to the pod's user so that the
    sandbox is made in it: its path is the marker of every process the run started."""
    folder = Path(tempfile.mkdtemp(prefix="rehearse-proc-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def python() -> str:
    return interpreter() if ROOT_USER else sys.executable


def use_mode(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if mode == "cgroup" and cgroup_base() is None:
        pytest.skip("no writable cgroup v2 here (it needs root and a cgroup2 mount)")
    if mode == "session":
        monkeypatch.setattr(run_module, "cgroup_base", lambda: None)


def rehearse_misbehaving(work: Path, misbehave: str, delay: float) -> Rehearsal:
    program = write_double(work / "pocket-id", python(), misbehave, delay)
    sandboxes = work / "sandboxes"
    sandboxes.mkdir(exist_ok=True)
    options = Options(program, quick(), "x", stay_up=0.2, probe_window=0.5, workdir=sandboxes)
    return rehearse(options)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("misbehave", ["fork", "daemon"])
def test_what_the_program_leaves_running_is_killed_and_named(
    work: Path, misbehave: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Children and a setsid grandchild outlive the program: killed at each stop, and said."""
    use_mode(mode, monkeypatch)
    result = rehearse_misbehaving(work, misbehave, 0.0)
    assert statuses(result.outcome.rows)["restart"] == "pass", result.outcome.rows
    left = [n for n in result.notes if "that the program started still ran after it ended" in n]
    assert [n.split(":")[0] for n in left] == ["1-pod-1", "3-pod-surge", "2-pod-2"]
    assert leftovers(str(work)) == []
    assert list((work / "sandboxes").iterdir()) == []


@pytest.mark.parametrize("mode", MODES)
def test_a_program_ignoring_sigterm_is_killed_after_the_grace_period(
    work: Path, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM ignored: SIGKILL after the pod's grace period, shutdown fails, nothing left."""
    use_mode(mode, monkeypatch)
    result = rehearse_misbehaving(work, "ignore-term", 0.0)
    shutdown = next(r for r in result.outcome.rows if r.check == "shutdown")
    assert shutdown.status.value == "fail"
    assert "SIGKILL after the 1 s grace period" in shutdown.detail
    assert leftovers(str(work)) == []


def test_a_program_flooding_its_output_ends_with_the_run(work: Path) -> None:
    """stdout and stderr flat out: the run ends, the log is cut, nothing is left."""
    result = rehearse_misbehaving(work, "flood", 0.0)
    assert result.outcome.exit_code in (0, 1)
    assert any("bytes of log; the file keeps the first" in n for n in result.notes)
    assert leftovers(str(work)) == []


def test_a_program_exiting_at_once_fails_start_and_leaves_nothing(work: Path) -> None:
    """Exit 3 at once: start fails with the exit code; no process, no sandbox."""
    result = rehearse_misbehaving(work, "exit", 0.0)
    start = next(r for r in result.outcome.rows if r.check == "start")
    assert start.status.value == "fail"
    assert "exited with code 3" in start.detail
    assert leftovers(str(work)) == []
    assert list((work / "sandboxes").iterdir()) == []


# --- a dead run's sandbox ------------------------------------------------------------------------


def dead_sandbox(parent: Path, name: str = "dead") -> tuple[Path, subprocess.Popen[bytes]]:
    """A sandbox whose owner is gone (its lock free) and a process it left, with its marker."""
    root = parent / f"{PREFIX}{name}"
    root.mkdir()
    (root / LOCK).touch()
    left = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], env={MARKER_ENV: f"{root}:pod-1"}
    )
    return root, left


def test_a_dead_runs_sandbox_and_processes_are_removed(tmp_path: Path) -> None:
    """Its lock free: the folder is removed and the process it left is ended, and said."""
    root, left = dead_sandbox(tmp_path)
    removed = sweep(tmp_path)
    assert removed == [f"{root.name} (1 process(es) it left were ended)"]
    assert not root.exists()
    assert leftovers(str(root)) == []
    left.wait(5)  # reaped already by the sweep (this process is its parent): no status


def test_a_live_runs_sandbox_is_left_alone(tmp_path: Path) -> None:
    """Its lock held: the folder stays."""
    root, left = dead_sandbox(tmp_path)
    fd = os.open(root / LOCK, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert sweep(tmp_path) == []
        assert root.is_dir()
        assert left.poll() is None
    finally:
        os.close(fd)
        left.kill()
        left.wait()


def test_a_kept_sandbox_a_symlink_and_other_names_are_never_swept(tmp_path: Path) -> None:
    """--keep's folder, a symbolic link with the name pattern, another name: all stay."""
    kept = tmp_path / f"{PREFIX}kept"
    kept.mkdir()
    (kept / LOCK).touch()
    (kept / KEPT).touch()
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / LOCK).touch()
    (tmp_path / f"{PREFIX}link").symlink_to(target)
    other = tmp_path / "other-folder"
    other.mkdir()
    (other / LOCK).touch()
    assert sweep(tmp_path) == []
    assert kept.is_dir()
    assert target.is_dir()
    assert other.is_dir()


@pytest.mark.skipif(not ROOT_USER, reason="only root can make a folder owned by another user")
def test_another_users_sandbox_is_never_swept(tmp_path: Path) -> None:
    """A folder with the name pattern owned by uid 1000: left alone."""
    root = tmp_path / f"{PREFIX}theirs"
    root.mkdir()
    (root / LOCK).touch()
    os.chown(root, 1000, 1000)
    assert sweep(tmp_path) == []
    assert root.is_dir()


def test_a_rehearse_that_was_killed_is_cleaned_up_by_the_next(work: Path) -> None:
    """SIGKILL to pocketid-k8s mid-run: the next run removes its sandbox and ends its program."""
    program = write_double(work / "pocket-id", python(), "fork", 0.0)
    tmp = Path(tempfile.mkdtemp(prefix="rehearse-killed-"))
    tmp.chmod(0o755)  # a TMPDIR the pod's user can enter: the sandbox is made there
    try:
        killed_then_cleaned(work, program, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def programs(tmp: Path) -> list[str]:
    """The copies of the program running from a sandbox in ``tmp``."""
    return [p for p in leftovers(str(tmp)) if "/bin/pocket-id" in p]


def killed_then_cleaned(work: Path, program: Path, tmp: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp)}
    command = [sys.executable, str(ROOT / "scripts/pocketid-k8s"), "rehearse", "--binary"]
    first = subprocess.Popen(
        [*command, str(program)], env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=None
    )
    deadline = time.monotonic() + 20
    while not programs(tmp) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert programs(tmp), "the program never started"
    first.kill()
    first.wait()
    (sandbox,) = tmp.iterdir()  # the killed run's sandbox, left behind
    assert programs(tmp)  # and its program, still running
    env["POCKET_ID_BINARY"] = str(write_double(work / "good", python()))
    second = subprocess.run(
        [*command[:-1], "--format", "json"], env=env, cwd=work, capture_output=True, check=False
    )
    assert second.returncode == 0, second.stderr
    assert b"removed 1 sandbox(es) left in" in second.stdout
    assert list(tmp.iterdir()) == []
    assert leftovers(str(tmp)) == []
    base = cgroup_base()
    if base is not None:  # and the cgroups it made are gone too
        assert list(base.glob(f"{PREFIX}{sandbox.name.removeprefix(PREFIX)}-*")) == []


@pytest.mark.skipif(cgroup_base() is None, reason="no writable cgroup v2 here (root, cgroup2)")
def test_as_root_the_program_and_what_it_forks_at_once_start_in_the_instances_cgroup() -> None:
    """Children forked before the first instruction of rehearse's are in the cgroup too."""
    tree = Tree("test:cgroup", cgroup_base(), f"test-{os.getpid()}")
    assert tree.how == "cgroup"
    started = tree.spawn(
        lambda: subprocess.Popen(["/bin/sh", "-c", "sleep 30 & sleep 30 & wait"]),
        lambda process: process.pid,
    )
    try:
        time.sleep(0.2)
        members = tree.members()
        assert started.pid in members
        assert len(members) == 3
        assert tree.describe(members) == "3 processes (sh, sleep x2)"
        assert f"{PREFIX}test-{os.getpid()}" not in Path("/proc/self/cgroup").read_text()
    finally:
        tree.close()
    assert started.wait(5) == -signal.SIGKILL
    assert tree.cgroup is None


# --- any folder (issue 24, issue 18 item 8) ------------------------------------------------------


@pytest.mark.skipif(not ROOT_USER, reason="only root runs the program as the pod's user")
def test_a_tmpdir_closed_to_the_pods_user_moves_the_sandbox_and_says_so(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TMPDIR of mode 700: the sandbox is made where uid 1000 can enter; start passes."""
    closed = work / "tmp"
    closed.mkdir(mode=0o700)
    monkeypatch.setattr(tempfile, "tempdir", str(closed))
    program = write_double(closed / "pocket-id", python())
    result = rehearse(Options(program, quick(), "x", stay_up=0.2, probe_window=0.5))
    assert statuses(result.outcome.rows)["start"] == "pass", result.outcome.rows
    note = f"the temporary folder {closed} (TMPDIR) is closed to uid 1000"
    assert any(note in n for n in result.notes), result.notes


SUITE_CASES = (
    "rehearses_clean_with_the_double or entrypoint_chowns or throwaway_key_never or "
    "closed_to_the_pods_user"
)


@pytest.mark.skipif(not ROOT_USER, reason="the wall of issue 24 is met only as root")
def test_the_suites_rehearse_cases_pass_from_a_private_folder_as_root(work: Path) -> None:
    """A checkout in a folder of mode 700 and a TMPDIR of mode 700 (issue 24): the suite's
    rehearse cases pass as they do from an open folder."""
    checkout = work / "clone"
    checkout.mkdir(mode=0o700)
    for part in ("src", "tests", "scripts"):
        shutil.copytree(ROOT / part, checkout / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", checkout)
    tmp = work / "tmp"
    tmp.mkdir(mode=0o700)
    assert checkout.stat().st_mode & 0o777 == 0o700
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(checkout / "src")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            SUITE_CASES,
            "tests/test_rehearse.py",
            "tests/test_rehearse_process.py",
        ],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "5 passed" in result.stdout, result.stdout[-3000:]


# --- the TLS front of --login, stopped at any moment --------------------------------------------


def test_closing_the_tls_front_never_waits_for_an_open_connection() -> None:
    """A browser side connected but silent (a kept-alive connection): close() returns at once."""
    import socket

    from pocketid_k8s.rehearse.front import Front
    from pocketid_k8s.rehearse.tls import ThrowawayCA

    front = Front(free_port(), ThrowawayCA(("id.example",)).server_context())
    front.start()
    with socket.create_connection(("127.0.0.1", front.port)):
        time.sleep(0.2)  # the front's thread is now waiting for the TLS handshake
        start = time.monotonic()
        front.close()
        assert time.monotonic() - start < 2.0


def test_a_request_cut_off_at_the_tls_front_prints_no_traceback(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """The program gone mid-sign-in (backend refused): the browser side gets the failure, the
    terminal no traceback."""
    import ssl
    import urllib.request

    from pocketid_k8s.rehearse.front import Front
    from pocketid_k8s.rehearse.tls import ThrowawayCA

    ca = ThrowawayCA(("id.example",))
    front = Front(free_port(), ca.server_context())  # nothing listens on the backend port
    front.start()
    try:
        request = urllib.request.Request(f"https://127.0.0.1:{front.port}/api/users/me")
        request.add_header("Host", "id.example")
        context = ca.client_context()
        context.check_hostname = False
        with pytest.raises((OSError, ssl.SSLError)):
            urllib.request.urlopen(request, context=context, timeout=5)  # noqa: S310 - loopback
    finally:
        front.close()
    assert "Traceback" not in capfd.readouterr().err


def test_a_second_ctrl_c_during_the_cleanup_still_leaves_nothing(work: Path) -> None:
    """Two Ctrl-C in a row: the first starts the cleanup, the second waits for it; exit 130."""
    program = write_double(work / "pocket-id", python(), "fork", 0.0)
    tmp = work / "tmp"
    tmp.mkdir()
    running = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts/pocketid-k8s"), "rehearse", "--binary", str(program)],
        env={**os.environ, "TMPDIR": str(tmp)},
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not programs(tmp) and time.monotonic() < deadline:
        time.sleep(0.05)
    running.send_signal(signal.SIGINT)
    time.sleep(0.02)
    running.send_signal(signal.SIGINT)
    _, err = running.communicate(timeout=5)
    assert running.returncode == 130
    assert "Traceback" not in err
    assert leftovers(str(work)) == []
    assert list(tmp.iterdir()) == []


def test_ctrl_c_while_the_sandbox_is_made_leaves_no_sandbox(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C held back while the sandbox is made and locked is raised after, and the
    sandbox is removed (found by the interrupt property at 0.42 s: it was left)."""

    def own_then_interrupt(workdir: Path | None, user: Identity | None) -> Owned:
        owned = own_sandbox(workdir, user)
        os.kill(os.getpid(), signal.SIGINT)
        return owned

    monkeypatch.setattr(run_module, "own_sandbox", own_then_interrupt)
    program = write_double(work / "pocket-id", python())
    sandboxes = work / "sandboxes"
    sandboxes.mkdir()
    with pytest.raises(KeyboardInterrupt):
        rehearse(Options(program, quick(), "x", workdir=sandboxes))
    assert list(sandboxes.iterdir()) == []
