"""The rehearsal's report, through the shared live report (as verify and preflight print
theirs): a table on a terminal, plain columns when piped, or JSON; then the figures, the
notes and, under ``--keep``, where the sandbox is."""

from __future__ import annotations

from pocketid_k8s.live import report
from pocketid_k8s.rehearse.run import Rehearsal

__all__ = ["plain", "table", "to_json"]


def _figures(result: Rehearsal) -> str:
    lines = report.figures_and_notes(result.figures, result.notes)
    if result.sandbox is not None:
        lines.append(f"sandbox kept: {result.sandbox}")
    return "\n".join(lines) + "\n"


def _subject(result: Rehearsal) -> str:
    return f"rehearsal of {result.app_url}"


def plain(result: Rehearsal) -> str:
    return report.plain(result.outcome, _subject(result)) + _figures(result)


def table(result: Rehearsal) -> str:
    title = f"Pocket-ID rehearsal ({result.app_url})"
    return report.table(result.outcome, _subject(result), title) + _figures(result)


def to_json(result: Rehearsal) -> str:
    return report.to_json(
        result.outcome,
        app_url=result.app_url,
        figures={k: round(v, 3) for k, v in result.figures.items()},
        notes=result.notes,
        sandbox=None if result.sandbox is None else str(result.sandbox),
    )
