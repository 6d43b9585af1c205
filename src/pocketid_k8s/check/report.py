"""Output formats: text (grouped by file, coloured on a terminal), json, SARIF 2.1.0, and
GitHub Actions workflow commands (inline annotations on a pull request)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any, Final

from pocketid_k8s.check import Report
from pocketid_k8s.check.model import Finding, Severity
from pocketid_k8s.check.rules import RULES
from pocketid_k8s.contract.pocketid import UPSTREAM

COLOURS: Final = {
    Severity.ERROR: "\033[31m",
    Severity.WARNING: "\033[33m",
    Severity.INFO: "\033[36m",
}
RESET: Final = "\033[0m"
SARIF_LEVELS: Final = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
INFORMATION_URI: Final = UPSTREAM
GITHUB_LEVELS: Final = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "notice",
}
"""The workflow command for each severity (GitHub has no 'info')."""


def text(report: Report, colour: bool = False) -> str:
    """The findings grouped by file; a set of several app folders is reported folder by
    folder, each with its own summary line, and the whole set's summary ends the report."""
    if not report.app_objects:
        return "\n".join([*_files(report.findings, colour), summary(report)]) + "\n"
    by_app: dict[str, list[Finding]] = defaultdict(list)
    for item in report.findings:
        by_app[report.apps.get(item.file, "")].append(item)
    lines = []
    files_of = Counter(report.apps.values())
    for app in sorted(set(report.app_objects) | set(by_app), key=lambda a: (not a, a)):
        findings = by_app.get(app, [])
        lines += _files(findings, colour)
        files = files_of[app]
        counts = _counts(findings)
        lines.append(
            f"app {app or '(no app folder)'}: {counts} in {files} file{'s' if files != 1 else ''} "
            f"({report.app_objects.get(app, 0)} objects)"
        )
    lines.append(summary(report))
    return "\n".join(lines) + "\n"


def _files(findings: list[Finding], colour: bool) -> list[str]:
    by_file: dict[str, list[Finding]] = defaultdict(list)
    for item in findings:
        by_file[item.file].append(item)
    lines = []
    for file, in_file in by_file.items():
        lines.append(file)
        for f in in_file:
            level = f.severity.value
            if colour:
                level = COLOURS[f.severity] + level + RESET
            where = f"{f.line}" if f.line else "-"
            subject = f"{f.kind}/{f.name}: " if f.name else f"{f.kind}: " if f.kind else ""
            lines.append(f"  {where:>4}  {level}  {f.rule}  {subject}{f.message}")
            if f.hint:
                lines.append(f"        fix: {f.hint}")
    return lines


def _counts(findings: list[Finding]) -> str:
    parts = []
    for severity in Severity:
        n = sum(f.severity is severity for f in findings)
        plural = "s" if n != 1 and severity is not Severity.INFO else ""
        parts.append(f"{n} {severity.value}{plural}")
    return ", ".join(parts)


def summary(report: Report) -> str:
    files = f"{report.files} file{'s' if report.files != 1 else ''}"
    line = f"{_counts(report.findings)} in {files} ({report.objects} objects)"
    if report.skipped:
        more = len(report.skipped) - 1
        line += f"; not checked, too large: {report.skipped[0]}"
        line += f" and {more} more" if more else ""
    return line


def to_json(report: Report) -> str:
    """The findings, each with the fields of Finding.to_json and ``app``: its app folder."""
    return (
        json.dumps(
            [{**f.to_json(), "app": report.apps.get(f.file, "")} for f in report.findings],
            indent=2,
        )
        + "\n"
    )


def sarif(report: Report, version: str) -> str:
    used = sorted({f.rule for f in report.findings})
    rules: list[dict[str, Any]] = [
        {
            "id": rule,
            "shortDescription": {"text": RULES[rule].title},
            "defaultConfiguration": {"level": SARIF_LEVELS[RULES[rule].severity]},
        }
        for rule in used
    ]
    results = []
    for f in report.findings:
        location: dict[str, Any] = {"artifactLocation": {"uri": f.file}}
        if f.line:
            location["region"] = {"startLine": f.line}
        text = f.message + (f" Fix: {f.hint}" if f.hint else "")
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": used.index(f.rule),
            "level": SARIF_LEVELS[f.severity],
            "message": {"text": text},
            "locations": [{"physicalLocation": location}],
        }
        if f.kind:
            result["properties"] = {
                "kind": f.kind,
                "namespace": f.namespace,
                "name": f.name,
                "path": f.path,
            }
        results.append(result)
    document = {
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "pocketid-k8s",
                        "version": version,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def github(report: Report) -> str:
    """One ``::error``/``::warning``/``::notice`` workflow command per finding, then the
    summary: GitHub Actions turns each into an annotation on the file and line."""
    lines = []
    for f in report.findings:
        properties = {"file": f.file, "line": str(f.line) if f.line else "", "title": f.rule}
        fields = ",".join(
            f"{key}={_github_property(value)}" for key, value in properties.items() if value
        )
        subject = f"{f.kind}/{f.name}: " if f.name else f"{f.kind}: " if f.kind else ""
        text = subject + f.message + (f" Fix: {f.hint}" if f.hint else "")
        lines.append(f"::{GITHUB_LEVELS[f.severity]} {fields}::{_github_data(text)}")
    lines.append(summary(report))
    return "\n".join(lines) + "\n"


def _github_data(text: str) -> str:
    """A workflow command's message: '%', CR and LF escaped, as the runner decodes them."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _github_property(text: str) -> str:
    """A workflow command's property value: also ':' and ',', which delimit properties."""
    return _github_data(text).replace(":", "%3A").replace(",", "%2C")
