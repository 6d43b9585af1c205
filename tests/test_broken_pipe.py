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
