"""Ctrl-C and SIGTERM: files all old or all new, a message that says which, no temp file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pocketid_k8s import atomic
from tests.conftest import ROOT
from tests.test_cli import APP, run


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A rendered site whose config then changes, so that the next render rewrites files."""
    assert run(capsys, "render", cwd=tmp_path)[0] == 0
    (tmp_path / "pocket-id.toml").write_text("[pocket_id]\napp_url = 'https://login.example'\n")
    return tmp_path


def test_interrupt_during_the_renames_says_every_file_is_new(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C arriving while files are renamed: all are new, and the message says so."""
    real_replace = os.replace

    def replace_and_interrupt(source: Path, target: Path) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # held back until every rename is done
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace_and_interrupt)
    code, _, err = run(capsys, "render", cwd=site)
    assert code == 130
    assert "interrupted after the change was complete" in err
    assert "every file is new" in err
    assert "nothing was changed" not in err
    assert "https://login.example" in (site / APP / "configmap.yaml").read_text()
    assert not list(site.rglob("*.tmp"))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_just_after_a_temporary_file_is_created_removes_it(
    site: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    signum: signal.Signals,
) -> None:
    """Ctrl-C or SIGTERM right after a temporary file exists: removed, old files kept."""
    before = snapshot(site)
    real_write = atomic._write_new

    def write_then_signal(path: Path, text: str, mode: int | None = None) -> None:
        real_write(path, text, mode)
        os.kill(os.getpid(), signum)

    monkeypatch.setattr(atomic, "_write_new", write_then_signal)
    code, _, err = run(capsys, "render", cwd=site)
    assert code == 130
    assert "interrupted; nothing was changed" in err
    assert snapshot(site) == before


def test_interrupt_during_start_up_prints_no_traceback(tmp_path: Path) -> None:
    """Ctrl-C while the command's modules load: one line, exit 130, no traceback."""
    stand_in = tmp_path / "stand-in" / "pocketid_k8s"  # a test double: its import is Ctrl-C'd
    stand_in.mkdir(parents=True)
    (stand_in / "__init__.py").write_text("")
    (stand_in / "cli.py").write_text("import os, signal\nos.kill(os.getpid(), signal.SIGINT)\n")
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/pocketid-k8s"), "render"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(stand_in.parent)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 130
    assert result.stderr == "pocketid-k8s: interrupted during start-up; nothing was changed\n"


def test_the_installed_command_is_the_start_up_script() -> None:
    """The venv's pocketid-k8s is scripts/pocketid-k8s (which guards start-up), not a wrapper."""
    installed = Path(sys.executable).parent / "pocketid-k8s"
    script = (ROOT / "scripts/pocketid-k8s").read_text()
    assert installed.read_text().split("\n", 1)[1] == script.split("\n", 1)[1]


def test_an_error_caused_by_ctrl_c_is_reported_as_the_interrupt(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C inside an import can surface as another error (once a RuntimeError): exit 130,
    not 'internal error' 70."""
    from pocketid_k8s import cli

    def render_interrupted_in_an_import(args: object) -> int:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise RuntimeError("partially initialised module") from None

    monkeypatch.setattr(cli, "_render", render_interrupted_in_an_import)
    code, _, err = run(capsys, "render")
    assert code == 130
    assert "interrupted; nothing was changed" in err
    assert "internal error" not in err
