"""check's rules cost what the set costs: one index of the checked set, built once, and no
rule that scans the whole set for each object (issue 19). Measured by counting the objects
the rules read (typed views handed out), not by wall time."""

from __future__ import annotations

from pathlib import Path

import pytest

from pocketid_k8s.check import pocketid, policy, refs
from pocketid_k8s.check.context import Context
from pocketid_k8s.check.loader import load
from pocketid_k8s.check.model import Resource
from tests.conftest import ROOT

BUNDLE = ROOT / "tests/sites/spec/k8s-apps/utilities/pocket-id"


def _copies(folder: Path, copies: int) -> list[str]:
    """``copies`` copies of the bundle, each in a namespace of its own."""
    texts = [(f.name, f.read_text()) for f in sorted(BUNDLE.glob("*.yaml"))]
    for n in range(copies):
        app = folder / f"app{n}"
        app.mkdir()
        for name, text in texts:
            (app / name).write_text(text.replace("pocket-id", f"pid-{n}"))
    return [str(folder)]


def _reads(paths: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """How many times the reference, policy and Pocket-ID rules read an object's view."""
    loaded = load(paths)
    ctx = Context(loaded.resources)
    count = 0
    original = Resource.view

    def counted(self: Resource) -> object:
        nonlocal count
        count += 1
        return original.__get__(self, Resource)

    with monkeypatch.context() as patch:
        patch.setattr(Resource, "view", property(counted))
        for family in (refs, policy, pocketid):
            list(family.check(ctx))
    return count


def test_rules_grow_linearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Four times the objects, about four times the reads (a scan per object would be 16)."""
    (tmp_path / "small").mkdir()
    (tmp_path / "large").mkdir()
    small = _reads(_copies(tmp_path / "small", 20), monkeypatch)
    large = _reads(_copies(tmp_path / "large", 80), monkeypatch)
    assert large / small < 4.5, (small, large)
