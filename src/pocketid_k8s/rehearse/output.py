"""The rehearsal's report: verify's rows, as a table on a terminal, plain when piped, or JSON."""

from __future__ import annotations

import io
import json

from pocketid_k8s.live.report import Status
from pocketid_k8s.rehearse.run import Rehearsal

__all__ = ["plain", "table", "to_json"]


def _summary(result: Rehearsal) -> str:
    counts = {status: sum(r.status is status for r in result.outcome.rows) for status in Status}
    text = ", ".join(f"{n} {status.value}" for status, n in counts.items() if n)
    figures = ", ".join(f"{k} {v:.2f}" for k, v in result.figures.items())
    lines = [f"{text or 'nothing rehearsed'} ({result.app_url}; {figures})"]
    lines += [f"note: {note}" for note in result.notes]
    if result.sandbox is not None:
        lines.append(f"sandbox kept: {result.sandbox}")
    return "\n".join(lines)


def plain(result: Rehearsal) -> str:
    lines = [f"{'check':18} {'status':6} {'time':>8}  detail"]
    for row in result.outcome.rows:
        ms = f"{row.ms:.0f} ms" if row.ms is not None else "-"
        lines.append(f"{row.check:18} {row.status.value:6} {ms:>8}  {row.detail}")
    lines.append(_summary(result))
    return "\n".join(lines) + "\n"


def table(result: Rehearsal) -> str:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    styles = {Status.PASS: "green", Status.WARN: "yellow", Status.FAIL: "red", Status.SKIP: "dim"}
    grid = Table(title=f"Pocket-ID rehearsal ({result.app_url})")
    for column in ("check", "status", "time", "detail"):
        grid.add_column(column, justify="right" if column == "time" else "left")
    for row in result.outcome.rows:
        ms = f"{row.ms:.0f} ms" if row.ms is not None else "-"
        status = f"[{styles[row.status]}]{row.status.value}[/]"
        grid.add_row(row.check, status, ms, escape(row.detail))
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=140)
    console.print(grid)
    console.print(_summary(result), highlight=False, markup=False)
    return buffer.getvalue()


def to_json(result: Rehearsal) -> str:
    doc = {
        "app_url": result.app_url,
        "exit_code": int(result.outcome.exit_code),
        "stopped": result.outcome.stopped,
        "checks": [row.to_json() for row in result.outcome.rows],
        "figures": {k: round(v, 3) for k, v in result.figures.items()},
        "notes": result.notes,
        "sandbox": None if result.sandbox is None else str(result.sandbox),
    }
    return json.dumps(doc, indent=2) + "\n"
