"""check's verdicts do not move when its speed does (issue 19): the findings on the real-world
corpus, the committed bundle and a generated set of 1,000 objects, in order, equal the ones
recorded in tests/fixtures/check-reference.json.

A change that is meant to alter a verdict re-records the file, in a commit of its own that says
why: ``POCKETID_K8S_RECORD=1 .venv/bin/pytest tests/test_check_reference.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from pocketid_k8s.check import run_check
from tests.conftest import ROOT, SHARED, skip_or_fail

REFERENCE = ROOT / "tests/fixtures/check-reference.json"
BUNDLE = ROOT / "k8s-apps/utilities/pocket-id"
CORPUS = SHARED / "corpus/charts"
RECORD = os.environ.get("POCKETID_K8S_RECORD") == "1"
IMAGE = "ghcr.io/pocket-id/pocket-id"


def generated(folder: Path, objects: int) -> Path:
    """``objects`` objects: copies of the bundle, each app in a folder and namespace of its own
    (the image kept, so every Pocket-ID rule runs on each copy)."""
    files = sorted(BUNDLE.glob("*.yaml"))
    texts = [file.read_text() for file in files]
    written = n = 0
    while written < objects:
        for file, text in zip(files, texts, strict=True):
            if written == objects:
                break
            copy = text.replace("pocket-id", f"pid-{n}").replace(f"ghcr.io/pid-{n}/pid-{n}", IMAGE)
            (folder / f"app{n:05}").mkdir(parents=True, exist_ok=True)
            (folder / f"app{n:05}" / file.name).write_text(copy)
            written += 1
        n += 1
    return folder


def _portable(value: object) -> object:
    """``value`` with the shared folder's path (where the CRD schemas are read from, named in
    some messages) written as ``<shared>``: CI keeps it elsewhere than a developer's machine."""
    if not isinstance(value, str):
        return value
    for shared in {str(SHARED.resolve()), str(SHARED)}:
        value = value.replace(shared, "<shared>")
    return value


def _findings(cwd: Path, path: str, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """check's findings on ``path``, named relative to ``cwd`` and with the shared folder as
    ``<shared>`` (so the record is portable)."""
    monkeypatch.chdir(cwd)
    return [{k: _portable(v) for k, v in f.to_json().items()} for f in run_check([path]).findings]


def _compare(name: str, found: list[dict[str, Any]]) -> None:
    recorded = json.loads(REFERENCE.read_text()) if REFERENCE.is_file() else {}
    if RECORD:
        recorded[name] = found
        lines = ",\n".join(
            f"  {json.dumps(key)}: [\n"
            + ",\n".join(f"    {json.dumps(f, sort_keys=True)}" for f in value)
            + "\n  ]"
            for key, value in sorted(recorded.items())
        )
        REFERENCE.write_text("{\n" + lines + "\n}\n")
        return
    assert name in recorded, f"no reference for {name}: record it (see the module docstring)"
    expected = recorded[name]
    for index, (want, got) in enumerate(zip(expected, found, strict=False)):
        assert got == want, f"{name}: finding {index} differs"
    assert len(found) == len(expected), f"{name}: {len(found)} findings, {len(expected)} recorded"


@pytest.mark.usefixtures("crd_schemas")
def test_bundle_findings_as_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The committed bundle's findings are the recorded ones."""
    _compare("bundle", _findings(ROOT, str(BUNDLE.relative_to(ROOT)), monkeypatch))


@pytest.mark.usefixtures("crd_schemas")
def test_corpus_findings_as_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real-world corpus, checked as one set, gives the recorded findings."""
    if not CORPUS.is_dir():
        skip_or_fail(f"no corpus at {CORPUS}: the real-world files are not compared here")
    _compare("corpus", _findings(CORPUS.parent, CORPUS.name, monkeypatch))


@pytest.mark.usefixtures("crd_schemas")
def test_generated_1k_findings_as_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """1,000 generated objects in 63 app folders give the recorded findings."""
    generated(tmp_path / "apps", 1000)
    _compare("generated-1k", _findings(tmp_path, "apps", monkeypatch))
