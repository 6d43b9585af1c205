"""Output for scripts: into a pipe whose reader has gone (``| head -c0``, ``| grep -q``), the
verdict cannot be delivered, so the command does not claim success; with --format json, stdout
is JSON even when the command could not run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_cli import run


def run_into_closed_pipe(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader left before the first byte
    try:
        return subprocess.run(
            [sys.executable, str(ROOT / "scripts/pocketid-k8s"), *argv],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
            check=False,
        )
    finally:
        os.close(write_end)


def test_stale_render_check_into_a_closed_pipe_is_not_success(tmp_path: Path) -> None:
    """render --check on a folder that was never rendered prints a diff: stale, not 0."""
    done = run_into_closed_pipe("render", "--check", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "stdout: the reader closed the pipe" in done.stderr


def test_check_with_errors_into_a_closed_pipe_is_not_success(tmp_path: Path) -> None:
    (tmp_path / "d.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: 7\n"
    )
    done = run_into_closed_pipe("check", "d.yaml", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ("preflight", "--kubeconfig", "missing", "--format", "json"),
        ("verify", "--inside-only", "--kubeconfig", "missing", "--format", "json"),
        ("verify", "ftp://x", "--format", "json"),
        ("rehearse", "--binary", "missing", "--format", "json"),
    ],
)
def test_could_not_run_with_format_json_still_writes_json(
    argv: tuple[str, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A script that parses stdout gets verify's shape with 'stopped', not an empty stdout
    (which some could-not-run paths gave and others did not)."""
    (tmp_path / "pocket-id.toml").write_text("")
    code, out, err = run(capsys, *argv, cwd=tmp_path)
    assert code == 2
    doc = json.loads(out)
    assert doc["exit_code"] == 2
    assert doc["checks"] == []
    assert doc["stopped"] in err


# --- stdout that cannot be written (> /dev/full): an output error, exit 74 (issue 18, 10/11) --


def run_into_full_device(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    with open("/dev/full", "wb") as full:
        return subprocess.run(
            [sys.executable, str(ROOT / "scripts/pocketid-k8s"), *argv],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
            check=False,
        )


OUTPUT_ERROR = "error: stdout: the output could not be written (No space left on device)"


@pytest.mark.parametrize(
    "argv",
    [
        ("--version",),
        ("--help",),
        ("init",),
        ("render",),
        ("render", "--check"),
        ("check", "."),
        ("verify", "https://127.0.0.1:1", "--timeout", "1", "--http-port", "1"),
        ("verify", "https://127.0.0.1:1", "--timeout", "1", "--http-port", "1", "--format", "json"),
    ],
)
def test_stdout_on_a_full_device_is_an_output_error(argv: tuple[str, ...], tmp_path: Path) -> None:
    """'> /dev/full' is exit 74 with one message saying so, never an internal error (70)."""
    (tmp_path / "d.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    done = run_into_full_device(*argv, cwd=tmp_path)
    assert done.returncode == 74, done.stderr
    assert OUTPUT_ERROR in done.stderr
    assert "internal error" not in done.stderr
    assert "Traceback" not in done.stderr


def test_render_into_a_full_device_says_its_files_are_complete(tmp_path: Path) -> None:
    """The files render wrote are in place; only the summary was lost, and it says so."""
    done = run_into_full_device("render", cwd=tmp_path)
    assert done.returncode == 74
    assert "the files it wrote (16 changes) are complete" in done.stderr
    assert (tmp_path / "k8s-apps/utilities/pocket-id/deployment.yaml").is_file()


@pytest.mark.parametrize(
    "argv",
    [
        ("preflight", "--kubeconfig", "missing", "--format", "json"),
        ("preflight", "--kubeconfig", "missing"),
        ("rehearse", "--binary", "missing", "--format", "json"),
    ],
)
def test_could_not_run_then_stdout_full_has_no_traceback(
    argv: tuple[str, ...], tmp_path: Path
) -> None:
    """The reason it could not run, then the output error: two messages, exit 74 or 2."""
    (tmp_path / "pocket-id.toml").write_text("")
    done = run_into_full_device(*argv, cwd=tmp_path)
    assert "Traceback" not in done.stderr
    assert "internal error" not in done.stderr
    assert "missing" in done.stderr
    if "json" in argv:  # the JSON report could not be written
        assert done.returncode == 74, done.stderr
        assert OUTPUT_ERROR in done.stderr
    else:  # nothing for stdout: the could-not-run code
        assert done.returncode == 2, done.stderr


def test_stderr_on_a_full_device_does_not_change_the_verdict(tmp_path: Path) -> None:
    """2>/dev/full: the notes cannot be shown, but render still writes and exits 0 (it was a
    traceback and exit 1), and a bad path is still exit 2."""
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [sys.executable, str(ROOT / "scripts/pocketid-k8s"), "render"],
            stdout=subprocess.PIPE, stderr=full, text=True, cwd=tmp_path, check=False,
        )  # fmt: skip
        missing = subprocess.run(
            [sys.executable, str(ROOT / "scripts/pocketid-k8s"), "check", "missing"],
            stdout=subprocess.DEVNULL, stderr=full, cwd=tmp_path, check=False,
        )  # fmt: skip
    assert done.returncode == 0
    assert done.stdout.endswith("16 files, 16 changed\n")
    assert missing.returncode == 2


@pytest.mark.parametrize("argv", [("check", "."), ("--version",)], ids=["check", "version"])
def test_stdout_closed_at_start_is_an_output_error(argv: tuple[str, ...], tmp_path: Path) -> None:
    """Started with stdout closed ('>&-'): exit 74 with one message, never an internal error."""
    (tmp_path / "d.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts/pocketid-k8s"), *argv],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        check=False,
        preexec_fn=lambda: os.close(1),  # the child's stdout, closed as '>&-' closes it
    )
    assert done.returncode == 74, done.stderr
    assert "stdout: the output could not be written (stdout is closed)" in done.stderr
    assert "internal error" not in done.stderr
    assert "Traceback" not in done.stderr
