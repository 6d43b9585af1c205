"""Properties of rehearse against misbehaving programs and interrupts (issue 17, family 2):
whatever the program does and whenever Ctrl-C comes, the run ends in bounded time with a
documented exit code, no traceback, no process and no sandbox left."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pocketid_k8s.errors import PocketIdK8sError
from pocketid_k8s.rehearse import Options, rehearse
from pocketid_k8s.rehearse import run as run_module
from pocketid_k8s.rehearse.tree import cgroup_base
from tests.conftest import ROOT
from tests.pocket_id_double import MISBEHAVIOURS, write_double
from tests.test_rehearse_process import leftovers, python, quick

SUITE: Final = (
    settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite")).max_examples <= 25
)
"""Each example runs the program several times (seconds): a few in the suite, more in fuzz."""
RUNS: Final = 4 if SUITE else 60
INTERRUPTS: Final = 4 if SUITE else 60
RUN_BOUND_SECONDS: Final = 30.0
"""A misbehaving program's whole rehearsal (grace periods of 1 s, waits bounded)."""
INTERRUPT_BOUND_SECONDS: Final = 5.0


@contextmanager
def private_folder() -> Iterator[Path]:
    """A fresh folder, open to the pod's user so that the sandbox is made in it: its path is
    the marker of everything the run starts."""
    folder = Path(tempfile.mkdtemp(prefix="rehearse-fuzz-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@settings(max_examples=RUNS, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    misbehave=st.sampled_from(("", *MISBEHAVIOURS)),
    delay=st.floats(0.0, 1.0),
    session=st.booleans(),
)
@example(misbehave="daemon", delay=0.0, session=True)
@example(misbehave="fork", delay=0.3, session=False)
def test_fuzz_a_misbehaving_program_ends_with_the_run(
    misbehave: str,
    delay: float,
    session: bool,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Any misbehaviour at any time: exit 0, 1 or 2, no traceback, nothing left, bounded."""
    with monkeypatch.context() as patch:
        if session or cgroup_base() is None:
            patch.setattr(run_module, "cgroup_base", lambda: None)
        with private_folder() as work:
            program = write_double(work / "pocket-id", python(), misbehave, delay)
            sandboxes = work / "sandboxes"
            sandboxes.mkdir()
            options = Options(
                program, quick(), "x", stay_up=0.2, probe_window=0.5, workdir=sandboxes
            )
            start = time.monotonic()
            try:
                code = int(rehearse(options).outcome.exit_code)
            except PocketIdK8sError as exc:
                code = int(exc.exit_code)
            took = time.monotonic() - start
            assert code in (0, 1, 2)
            assert took < RUN_BOUND_SECONDS
            assert leftovers(str(work)) == []
            assert list(sandboxes.iterdir()) == []
    assert "Traceback" not in capfd.readouterr().err


INTERPRETER_UP_SECONDS: Final = 0.25
"""Moments start here: a signal in the first few milliseconds reaches Python itself before
it has read the command's first line (killed by SIGINT, or "Fatal Python error" while it
imports site; the same for any Python program), which no code of the command can change.
Found by this property at moments 0.0 and 0.016."""


@settings(max_examples=INTERRUPTS)
@given(
    moment=st.floats(INTERPRETER_UP_SECONDS, 2.5),
    signum=st.sampled_from((signal.SIGINT, signal.SIGTERM)),
    login=st.booleans(),
)
@example(moment=1.2, signum=signal.SIGINT, login=True)
def test_fuzz_an_interrupt_at_any_moment_ends_everything_within_5_s(
    moment: float, signum: signal.Signals, login: bool
) -> None:
    """Ctrl-C (or SIGTERM) to pocketid-k8s rehearse at a random moment: exit 130 within 5 s,
    the interrupt message, no traceback, no process, no sandbox left."""
    with private_folder() as work:
        program = write_double(work / "pocket-id", python())
        tmp = work / "tmp"
        tmp.mkdir()
        command = [sys.executable, str(ROOT / "scripts/pocketid-k8s"), "rehearse"]
        command += ["--binary", str(program), *(["--login"] if login else [])]
        running = subprocess.Popen(
            command,
            env={**os.environ, "TMPDIR": str(tmp)},
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(moment)
        finished_first = running.poll() is not None
        sent = time.monotonic()
        running.send_signal(signum)
        try:
            _, err = running.communicate(timeout=INTERRUPT_BOUND_SECONDS)
        except subprocess.TimeoutExpired:
            running.kill()
            running.communicate()
            pytest.fail(f"still running {INTERRUPT_BOUND_SECONDS} s after the interrupt")
        took = time.monotonic() - sent
        assert "Traceback" not in err
        if not finished_first:
            assert running.returncode == 130, err
            assert "interrupted" in err
        assert took < INTERRUPT_BOUND_SECONDS
        assert leftovers(str(work)) == []
        assert [p for p in tmp.iterdir() if p.name.startswith("pocketid-rehearse-")] == []
