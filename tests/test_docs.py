"""The README, read as a new user would (issue 12 items 15-19): every pointer leads somewhere,
every example runs in a clone, and the commands say what they install."""

from __future__ import annotations

import re
import shutil
import subprocess

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
MAKE = shutil.which("make") or "make"


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_every_section_link_leads_to_a_heading() -> None:
    """'(#...)' links name real headings; no 'see below' or 'see above' to guess at (item 19)."""
    headings = {anchor(h) for h in re.findall(r"^#+ (.+)$", README, re.MULTILINE)}
    links = re.findall(r"\]\(#([^)]+)\)", README)
    assert links
    assert [link for link in links if link not in headings] == []
    assert not re.search(r"see (below|above)", README)


def test_examples_need_nothing_outside_the_clone() -> None:
    """No command in the README reads ../shared, which only this project's authors have (18)."""
    blocks = re.findall(r"```(?:sh)?\n(.*?)```", README, re.DOTALL)
    assert blocks
    assert [b for b in blocks if "../shared" in b] == []
    assert "pocketid-k8s check k8s-apps k8s-manifests\n" in README


def test_readme_says_how_to_run_the_command() -> None:
    """After 'make render', the README names the command and how to put it on PATH (item 15)."""
    for words in (".venv/bin/pocketid-k8s", ". .venv/bin/activate", "pipx install .", "uv tool"):
        assert words in README


def test_readme_says_what_make_test_downloads() -> None:
    """PyPI and the Go module proxy, with the size (item 17)."""
    prose = " ".join(README.split())
    assert "from PyPI" in prose
    assert "about 200 MB of Go modules" in prose
    assert "Go module proxy" in prose


def test_make_says_what_it_installs() -> None:
    """The install steps announce themselves and pip is not silenced (item 16)."""
    result = subprocess.run(
        [MAKE, "-n", "-B", ".venv/.runtime-installed", str(ROOT / ".tools/bin/kubeseal")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    pip = [line for line in result.stdout.splitlines() if "pip install" in line]
    assert pip
    assert all("--quiet" not in line for line in pip)
    assert "installing pocketid-k8s and its runtime dependencies from PyPI" in result.stdout
    assert "Go module proxy" in result.stdout
