"""The repository's own site: pocket-id.toml and the bundle beside it belong to whoever forks
the project to keep their site in it. The suite holds them to what a site must be (the bundle
is current for the config, check finds no error), never to the spec's values: those are the
golden files of tests/sites/spec. Following the runbook keeps the suite green."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pocketid_k8s.check import Severity, run_check
from tests.conftest import ROOT, Controller
from tests.test_cli import run

SITE_PATHS = ("k8s-apps", "k8s-manifests")
"""The site's manifests, as the README's check example names them."""


def test_the_sites_bundle_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    """'render --check' on the repository: the committed bundle is what its config renders."""
    code, out, err = run(capsys, "render", "--check", cwd=ROOT)
    assert code == 0, out + err


def test_check_finds_no_error_in_the_site(crd_schemas: Path) -> None:
    """The README's 'pocketid-k8s check k8s-apps k8s-manifests' finds no error-level problem."""
    report = run_check([str(ROOT / path) for path in SITE_PATHS], schema_location=str(crd_schemas))
    errors = [f"{f.rule}: {f.message}" for f in report.findings if f.severity is Severity.ERROR]
    assert errors == []
    assert report.exit_code == 0


def copy_of_the_project(target: Path) -> Path:
    """The project's files as a clone has them (no virtualenv, caches or tools)."""
    skip = shutil.ignore_patterns(
        ".git", ".venv", ".tools", "*.egg-info", "__pycache__", ".*_cache", "build"
    )
    return Path(shutil.copytree(ROOT, target / "site", ignore=skip))


def test_following_the_runbook_keeps_the_site_tests_green(
    tmp_path: Path, controller: Controller, crd_schemas: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Seal a key, set ingress_namespace = 'kube-system' (k3s) and another APP_URL, as the
    README and runbook say, render, and the site's tests still pass in that copy."""
    site = copy_of_the_project(tmp_path)
    # --rotate: a fork may have sealed its key already; on the placeholder it changes nothing
    assert run(capsys, "seal", "--cert", str(controller.cert), "--rotate", cwd=site)[0] == 0
    config = site / "pocket-id.toml"
    text = re.sub(
        r'(?m)^ingress_namespace = "[^"]*"', 'ingress_namespace = "kube-system"', config.read_text()
    )
    # another host name: no test may hold the repository's site to the spec's values
    text = re.sub(r'(?m)^app_url = "[^"]*"', 'app_url = "https://id.fork.example"', text)
    config.write_text(text)
    assert 'ingress_namespace = "kube-system"' in config.read_text()
    assert 'app_url = "https://id.fork.example"' in config.read_text()
    assert run(capsys, "render", cwd=site)[0] == 0
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_site.py",
            "-k",
            "not runbook",
        ],
        cwd=site,
        env={
            **os.environ,
            "PYTHONPATH": str(site / "src"),
            "POCKETID_K8S_SHARED": str(crd_schemas.parent),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "2 passed" in result.stdout
