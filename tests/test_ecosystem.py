"""The tools platform people already use: GitHub annotations, the workflow recipe, shell
completion, pre-commit hooks and the package a package index shows."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from pocketid_k8s.check import Report
from pocketid_k8s.check import report as output
from pocketid_k8s.check.model import Finding, Severity
from tests.conftest import ROOT, SPEC_SITE, skip_or_fail
from tests.kubeapi import tool

ACTIONLINT_VERSION = "v1.7.12"
"""The same as the Makefile's: a version bump builds the new one."""
SPEC_LITERAL = ROOT / "tests/fixtures/spec-literal"
COMMAND = re.compile(r"^::(error|warning|notice) (?P<props>[^:]*)::(?P<data>.*)$")


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pocketid_k8s.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=120,
    )


def _decode(text: str) -> str:
    """What the Actions runner makes of an escaped workflow-command value."""
    return (
        text.replace("%2C", ",")
        .replace("%3A", ":")
        .replace("%0A", "\n")
        .replace("%0D", "\r")
        .replace("%25", "%")
    )


def _parse(line: str) -> tuple[str, dict[str, str], str]:
    match = COMMAND.match(line)
    assert match, f"not a workflow command: {line!r}"
    props = {}
    for part in match["props"].split(","):
        key, _, value = part.partition("=")
        props[key] = _decode(value)
    return match.group(1), props, _decode(match["data"])


def test_github_annotations_are_the_findings() -> None:
    """--format github gives one well-formed workflow command per finding, then the summary."""
    annotated = cli("check", "--format", "github", str(SPEC_LITERAL))
    listed = cli("check", "--format", "json", str(SPEC_LITERAL))
    findings = json.loads(listed.stdout)
    lines = annotated.stdout.splitlines()
    assert annotated.returncode == listed.returncode == 1
    assert len(lines) == len(findings) + 1
    assert lines[-1].startswith("10 errors, 6 warnings")
    levels = {"error": "error", "warning": "warning", "info": "notice"}
    for line, finding in zip(lines, findings, strict=False):
        level, props, data = _parse(line)
        assert level == levels[finding["severity"]]
        assert props["file"] == finding["file"]
        assert props.get("line") == (str(finding["line"]) if finding["line"] else None)
        assert props["title"] == finding["rule"]
        assert finding["message"] in data
        assert data.endswith(f"Fix: {finding['hint']}")


def test_github_escapes_what_would_end_a_command() -> None:
    """Newlines, '%' and the property delimiters in a finding reach GitHub intact."""
    finding = Finding(
        rule="pocketid/app-url",
        severity=Severity.ERROR,
        kind="Deployment",
        namespace="auth",
        name="pocket-id",
        file="apps/a,b:c.yaml",
        line=7,
        path="spec",
        message="100% wrong\r\nsecond line",
        hint="fix: it",
    )
    report = Report(findings=[finding], files=1, objects=1, unreadable=False)
    line = output.github(report).splitlines()[0]
    _level, props, data = _parse(line)
    assert props == {"file": "apps/a,b:c.yaml", "line": "7", "title": "pocketid/app-url"}
    assert data == "Deployment/pocket-id: 100% wrong\r\nsecond line Fix: fix: it"
    assert "\n" not in line


def test_workflow_recipe_passes_actionlint() -> None:
    """docs/github-actions.yml is a valid workflow, by the real workflow linter."""
    actionlint = tool(f"actionlint-{ACTIONLINT_VERSION}", ROOT)
    if actionlint is None:
        skip_or_fail(f"actionlint {ACTIONLINT_VERSION} not found (make peers builds it with Go)")
    assert actionlint is not None
    result = subprocess.run(
        [str(actionlint), "-no-color", str(ROOT / "docs/github-actions.yml")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_recipe_runs_what_the_readme_promises() -> None:
    """The recipe uploads check's SARIF and annotates with --format github."""
    text = (ROOT / "docs/github-actions.yml").read_text()
    assert "check --format github" in text
    assert "check --format sarif" in text
    assert "github/codeql-action/upload-sarif" in text
    assert "security-events: write" in text


def _complete(line: str, tmp_path: Path) -> list[str]:
    """Ask the command for completions the way the shell code argcomplete prints does (the
    shell reads them from file descriptor 8; a file here)."""
    answer = tmp_path / "completions"
    env = {
        **os.environ,
        "_ARGCOMPLETE": "1",
        "_ARGCOMPLETE_IFS": "\n",
        "COMP_LINE": line,
        "COMP_POINT": str(len(line)),
        "_ARGCOMPLETE_SUPPRESS_SPACE": "1",
        "_ARGCOMPLETE_STDOUT_FILENAME": str(answer),
    }
    result = subprocess.run(
        [str(Path(sys.executable).parent / "pocketid-k8s")],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    return [word.strip() for word in answer.read_text().split("\n") if word.strip()]


def test_completion_offers_commands_and_options(tmp_path: Path) -> None:
    """The installed command completes its subcommands and each subcommand's options."""
    assert "check" in _complete("pocketid-k8s ch", tmp_path)
    assert "--format" in _complete("pocketid-k8s check --fo", tmp_path)
    formats = set(_complete("pocketid-k8s check --format ", tmp_path))
    assert formats == {"text", "json", "sarif", "github"}


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_shell_code(shell: str) -> None:
    """`completion SHELL` prints that shell's code, registered for pocketid-k8s."""
    result = cli("completion", shell)
    assert result.returncode == 0
    assert "pocketid-k8s" in result.stdout
    assert ("complete " in result.stdout) if shell != "zsh" else ("compdef" in result.stdout)


def test_bash_registers_the_completion() -> None:
    """Real bash accepts the code and binds a completion function to pocketid-k8s."""
    bash = shutil.which("bash")
    assert bash is not None
    code = cli("completion", "bash").stdout
    result = subprocess.run(
        [bash, "--norc", "-c", f"{code}\ncomplete -p pocketid-k8s"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "pocketid-k8s" in result.stdout


def _git(folder: Path, *args: str) -> None:
    git = shutil.which("git")
    assert git is not None
    subprocess.run(
        [git, "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=folder,
        check=True,
        capture_output=True,
        timeout=60,
    )


def test_precommit_hook_checks_a_site(tmp_path: Path) -> None:
    """pre-commit try-repo runs the check hook on a site: clean passes, a defect fails."""
    precommit = Path(sys.executable).parent / "pre-commit"
    site = tmp_path / "site"
    shutil.copytree(SPEC_SITE, site)
    _git(site, "init", "-q")
    _git(site, "add", "-A")
    _git(site, "commit", "-qm", "site")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    env.pop("VIRTUAL_ENV", None)
    command = [str(precommit), "try-repo", str(ROOT), "pocketid-k8s-check", "--all-files"]
    clean = subprocess.run(
        command, cwd=site, capture_output=True, text=True, check=False, env=env, timeout=600
    )
    assert clean.returncode == 0, clean.stdout[-3000:] + clean.stderr[-3000:]
    assert "pocketid-k8s check" in clean.stdout
    shutil.copy(SPEC_LITERAL / "all.yaml", site / "k8s-apps/literal.yaml")
    _git(site, "add", "-A")
    failing = subprocess.run(
        command, cwd=site, capture_output=True, text=True, check=False, env=env, timeout=600
    )
    assert failing.returncode == 1
    assert "pocketid/single-instance" in failing.stdout


def test_package_metadata_is_complete(tmp_path: Path) -> None:
    """The wheel carries an SPDX licence, the licence file, URLs and classifiers, and the
    wheel and sdist pass twine check --strict."""
    bin_dir = Path(sys.executable).parent
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    built = sorted(tmp_path.iterdir())
    twine = subprocess.run(
        [str(bin_dir / "twine"), "check", "--strict", *map(str, built)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert twine.returncode == 0, twine.stdout + twine.stderr
    wheel = next(path for path in built if path.suffix == ".whl")
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(name).decode())
        assert any(n.endswith("licenses/LICENSE") for n in archive.namelist())
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("Project-URL")
    assert "Typing :: Typed" in (metadata.get_all("Classifier") or [])


def test_command_line_stays_thin() -> None:
    """cli.py only parses, calls one library function and prints: no function over 60 lines
    (issue 22; seal's flow lives in pocketid_k8s/seal.py)."""
    import ast

    tree = ast.parse((ROOT / "src/pocketid_k8s/cli.py").read_text())
    long = {
        node.name: node.end_lineno - node.lineno + 1
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.end_lineno is not None
        if node.end_lineno - node.lineno + 1 > 60
    }
    assert long == {}
