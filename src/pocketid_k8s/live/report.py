"""One result type and one report for every command that asks a live system
(``verify``, ``preflight``, ``rehearse``): rows of checks, a summary line, and three
renderings: a table on a terminal, plain columns when piped, and JSON.

Keep this module small and stable: other commands import it. The JSON shape is
``{"checks": [{"check", "status", "detail", "hint", "ms"}], "exit_code", "stopped",
...}`` plus whatever fields the command adds (``verify`` adds ``app_url``).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from time import perf_counter
from typing import Any

from pocketid_k8s.errors import ExitCode

__all__ = [
    "Outcome",
    "Row",
    "Status",
    "plain",
    "printable",
    "summary",
    "table",
    "timed",
    "to_json",
]


MAX_DETAIL_LINES = 60
"""The most lines a multi-line detail shows (an API server's diff of a large object)."""


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Row:
    """One check: its name, verdict, what was found, and for a problem the fix."""

    check: str
    status: Status
    detail: str
    ms: float | None = None
    hint: str = ""
    multiline: bool = False
    """``detail`` keeps its line breaks (a server's multi-line answer, such as the Go diff
    of an immutable field): shown as lines in text, kept as one string in JSON."""

    def __post_init__(self) -> None:
        # Details quote what others wrote (a program's log, a server's answer): no escape
        # sequence of theirs reaches the user's terminal.
        detail = self.detail
        if self.multiline:
            lines = detail.replace("\r\n", "\n").expandtabs(4).split("\n")
            if len(lines) > MAX_DETAIL_LINES:
                cut = len(lines) - MAX_DETAIL_LINES
                lines = [*lines[:MAX_DETAIL_LINES], f"... ({cut} more lines)"]
            detail = "\n".join(printable(line.rstrip()) for line in lines).strip("\n")
        else:
            detail = printable(detail)
        object.__setattr__(self, "detail", detail)
        object.__setattr__(self, "hint", printable(self.hint))

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "status": self.status.value,
            "detail": self.detail,
            "hint": self.hint,
            "ms": None if self.ms is None else round(self.ms, 1),
        }


def printable(text: str) -> str:
    """``text`` on one line with every control or unassigned character shown as an escape
    (ESC as \\x1b, a newline as \\n): safe to print on a terminal."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch == " " or not unicodedata.category(ch).startswith(("C", "Z")) else _shown(ch)
        for ch in text
    )


def _shown(ch: str) -> str:
    if ch.isspace() and ch not in "\n\r\t\v\f":
        return " "
    return ascii(ch)[1:-1]


@dataclass
class Outcome:
    """The rows of a run, and why it stopped early if it did."""

    rows: list[Row] = field(default_factory=list)
    stopped: str | None = None
    """Why the run could not go on ("could not run"), if it could not."""
    strict: bool = False
    """A skipped check fails the run (``--strict``): for a gate that must verify every row."""

    @property
    def exit_code(self) -> ExitCode:
        if self.stopped:
            return ExitCode.USAGE
        failing = {Status.FAIL, Status.SKIP} if self.strict else {Status.FAIL}
        if any(row.status in failing for row in self.rows):
            return ExitCode.FAILED
        return ExitCode.OK

    def status_of(self, check: str) -> Status | None:
        return next((row.status for row in self.rows if row.check == check), None)


@contextmanager
def timed() -> Iterator[list[float]]:
    """``with timed() as ms:`` ... ``ms[0]`` holds the milliseconds spent, after the block."""
    holder = [0.0]
    start = perf_counter()
    try:
        yield holder
    finally:
        holder[0] = (perf_counter() - start) * 1000


def summary(outcome: Outcome, subject: str) -> str:
    counts = {status: sum(r.status is status for r in outcome.rows) for status in Status}
    text = ", ".join(f"{n} {status.value}" for status, n in counts.items() if n)
    line = f"{text or 'nothing checked'} ({subject})"
    if skipped := counts[Status.SKIP]:
        # A skipped row is not a pass: say so where a gate's log shows it.
        verdict = "so the run fails (--strict)" if outcome.strict else "not counted as failures"
        line += f"; {skipped} not verified, {verdict}"
    return line


def figures_and_notes(figures: dict[str, float], notes: list[str]) -> list[str]:
    """The lines after a rehearsal's or an upgrade's rows: its figures, then its notes (which
    may quote what a program printed or named: shown printable)."""
    lines = ["figures: " + ", ".join(f"{k} {v:.2f}" for k, v in figures.items())]
    return lines + [f"note: {printable(note)}" for note in notes]


def _detail(row: Row) -> str:
    if not row.hint:
        return row.detail
    return (
        f"{row.detail}\nfix: {row.hint}" if "\n" in row.detail else f"{row.detail}; fix: {row.hint}"
    )


def plain(outcome: Outcome, subject: str) -> str:
    """Columns for a pipe or a log: one line per check (a multi-line detail goes on under its
    column), then the summary."""
    width = max([18, *(len(row.check) + 1 for row in outcome.rows)])
    lines = [f"{'check':{width}} {'status':6} {'time':>8}  detail"]
    indent = " " * (width + 1 + 6 + 1 + 8 + 2)
    for row in outcome.rows:
        ms = f"{row.ms:.0f} ms" if row.ms is not None else "-"
        first, *more = _detail(row).split("\n")
        lines.append(f"{row.check:{width}} {row.status.value:6} {ms:>8}  {first}")
        lines += [f"{indent}{line}" if line else "" for line in more]
    lines.append(summary(outcome, subject))
    return "\n".join(lines) + "\n"


def table(outcome: Outcome, subject: str, title: str) -> str:
    """A rich table, for a terminal."""
    import io

    from rich.console import Console
    from rich.table import Table

    styles = {Status.PASS: "green", Status.WARN: "yellow", Status.FAIL: "red", Status.SKIP: "dim"}
    grid = Table(title=title)
    for column in ("check", "status", "time", "detail"):
        grid.add_column(column, justify="right" if column == "time" else "left")
    for row in outcome.rows:
        ms = f"{row.ms:.0f} ms" if row.ms is not None else "-"
        grid.add_row(
            row.check, f"[{styles[row.status]}]{row.status.value}[/]", ms, _escape(_detail(row))
        )
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120)
    console.print(grid)
    console.print(summary(outcome, subject), highlight=False, markup=False)
    return buffer.getvalue()


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def to_json(outcome: Outcome, **fields: object) -> str:
    """The rows as JSON, with the command's own top-level ``fields``."""
    doc = {
        **fields,
        "exit_code": int(outcome.exit_code),
        "stopped": outcome.stopped,
        "checks": [row.to_json() for row in outcome.rows],
    }
    return json.dumps(doc, indent=2) + "\n"
