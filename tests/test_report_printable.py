"""What a row quotes from others (a program's log, a server's answer) cannot drive the user's
terminal: control characters are shown as escapes, in every rendering."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pocketid_k8s.live import report
from pocketid_k8s.live.report import Outcome, Row, Status, plain, table
from pocketid_k8s.rehearse import Options, rehearse
from tests.test_rehearse import bundle

HOSTILE = "boom \x1b]0;pwned\x07\x1b[2J\x1b[31mRED\r\nsecond line \u202etxt"


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A folder the pod's user can traverse (tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="rehearse-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_printable_escapes_controls_and_keeps_text() -> None:
    printable = report.printable
    assert printable("plain text, é, ü, 日本") == "plain text, é, ü, 日本"
    assert printable(HOSTILE) == (
        "boom \\x1b]0;pwned\\x07\\x1b[2J\\x1b[31mRED\\r\\nsecond line \\u202etxt"
    )


def test_rows_render_no_escape_sequence() -> None:
    outcome = Outcome([Row("start", Status.FAIL, HOSTILE, hint=HOSTILE)])
    for text in (plain(outcome, "x"), table(outcome, "x", "t")):
        body = text.replace("\x1b[", "")  # rich's own colour codes, stripped below
        assert "\x1b]" not in body
        assert "\x07" not in body
        assert "pwned" in body
    assert "\x1b" not in plain(outcome, "x")


def test_rehearse_quotes_a_programs_escape_sequences_harmlessly(open_dir: Path) -> None:
    """A 'binary' that prints terminal escapes and exits: the start row quotes it, escaped."""
    program = open_dir / "hostile"
    program.write_bytes(b"#!/bin/sh\nprintf 'error \\033]0;pwned\\007\\033[2J gone\\n'\nexit 3\n")
    program.chmod(0o755)
    result = rehearse(Options(program, bundle(), "bundle", workdir=open_dir))
    start = next(row for row in result.outcome.rows if row.check == "start")
    assert start.status is Status.FAIL
    assert start.detail == "exited with code 3: error \\x1b]0;pwned\\x07\\x1b[2J gone"
    assert "\x1b" not in plain(result.outcome, "x")


def test_a_chatty_program_is_read_back_only_by_its_tail(tmp_path: Path) -> None:
    """A program that prints without end costs the rehearsal's memory only the log's last MiB,
    read from a line start, and the last error is still found."""
    from pocketid_k8s.rehearse.log import LOG_TAIL_BYTES
    from pocketid_k8s.rehearse.process import Instance

    program = tmp_path / "chatty"
    program.write_text(
        "#!/bin/sh\nhead -c 6000000 /dev/zero | tr '\\0' 'a' | fold -w 100\n"
        "echo; echo 'ERR the last error'\nexit 3\n"
    )
    program.chmod(0o755)
    instance = Instance(program, {"PATH": "/usr/bin:/bin"}, tmp_path, tmp_path / "log")
    assert instance.process.wait() == 3
    text = instance.log_text()
    instance.stop(1.0)  # closes the log
    assert len(text) <= LOG_TAIL_BYTES < (tmp_path / "log").stat().st_size
    assert text.splitlines()[0] == "a" * 100  # a whole line
    assert instance.last_error() == "ERR the last error"


def test_a_multiline_detail_keeps_its_lines_and_escapes_the_rest() -> None:
    """A server's multi-line answer keeps its line breaks (tabs as spaces); every other control
    character is still an escape, and plain output indents the lines under the detail."""
    row = Row("dry-run", Status.FAIL, "refused:\n- a\tb\r\n+ " + HOSTILE, multiline=True)
    assert row.detail.split("\n")[:3] == [
        "refused:",
        "- a b",
        "+ boom \\x1b]0;pwned\\x07\\x1b[2J\\x1b[31mRED",
    ]
    text = plain(Outcome([row]), "x")
    assert "\x1b" not in text
    assert text.splitlines()[2] == " " * 36 + "- a b"


def test_rehearsal_notes_are_printable() -> None:
    """A note that names what a program started (its own process names) cannot reach the
    terminal as an escape sequence."""
    from pocketid_k8s.live.report import figures_and_notes

    lines = figures_and_notes({"wall_s": 1.0}, ["left running: \x1b]0;owned\x07 x3"])
    assert lines == ["figures: wall_s 1.00", "note: left running: \\x1b]0;owned\\x07 x3"]
