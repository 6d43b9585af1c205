"""check's rules cost what the set costs: one index of the checked set, built once, and no
rule that scans the whole set for each object (issue 19). Measured by counting the objects
the rules read (typed views handed out), not by wall time."""

from __future__ import annotations

from pathlib import Path

import pytest

from pocketid_k8s.check import parallel, pocketid, policy, refs
from pocketid_k8s.check.context import Context
from pocketid_k8s.check.loader import load
from pocketid_k8s.check.model import Resource
from tests.conftest import ROOT

BUNDLE = ROOT / "tests/sites/spec/k8s-apps/utilities/pocket-id"
IMAGE = "ghcr.io/pocket-id/pocket-id"


def _copies(folder: Path, copies: int) -> list[str]:
    """``copies`` copies of the bundle, each in a namespace of its own, checked as one set."""
    texts = [(f.name, f.read_text()) for f in sorted(BUNDLE.glob("*.yaml"))]
    for n in range(copies):
        app = folder / f"app{n}"
        app.mkdir()
        for name, text in texts:
            copy = text.replace("pocket-id", f"pid-{n}")  # the image kept: every rule runs
            (app / name).write_text(copy.replace(f"ghcr.io/pid-{n}/pid-{n}", IMAGE))
    return [str(folder)]


def _reads(paths: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """How many times the reference, policy and Pocket-ID rules read an object: its view, or
    what is worked out from it once (kind, metadata, name, namespace), each read counted.
    Both sets are read alike, by one process (a large set's objects come packed, and a packed
    object's kind is read from its view: another read to count)."""
    monkeypatch.setattr(parallel, "FAST_PARALLEL_BYTES", 1 << 40)
    loaded = load(paths)
    ctx = Context(loaded.resources)
    count = 0

    def counted(original: object) -> property:
        def read(self: Resource) -> object:
            nonlocal count
            count += 1
            return original.__get__(self, Resource)  # type: ignore[attr-defined]

        return property(read)

    with monkeypatch.context() as patch:
        for name in ("view", "kind", "metadata", "name", "namespace"):
            patch.setattr(Resource, name, counted(Resource.__dict__[name]))
        for family in (refs, policy, pocketid):
            list(family.check(ctx))
    assert len(ctx.pocket_ids) == len(ctx.of_kind("Deployment"))  # every Pocket-ID rule ran
    return count


def test_rules_grow_linearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Four times the objects, about four times the reads (a scan per object would be 16)."""
    (tmp_path / "small").mkdir()
    (tmp_path / "large").mkdir()
    small = _reads(_copies(tmp_path / "small", 20), monkeypatch)
    large = _reads(_copies(tmp_path / "large", 80), monkeypatch)
    assert large / small < 4.3, (small, large)
