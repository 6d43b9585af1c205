"""check uses both cores for a large set and none of that for a small one; the findings are
the serial run's, in the same order (issue 19)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from pocketid_k8s.check import fastyaml, loader, parallel, run_check
from pocketid_k8s.check.loader import load
from tests.test_check_reference import generated


@pytest.mark.parametrize(("fast", "pools"), [(True, 2), (False, 3)], ids=["yaml-rs", "PyYAML"])
def test_parallel_findings_are_serial_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fast: bool, pools: int
) -> None:
    """Files read and validated by the workers (the fast way, or left to PyYAML and parsed by
    a second pool), and rules run by the workers per app folder and family, give the serial
    run's findings in its order."""
    generated(tmp_path / "apps", 200)
    if not fast:
        monkeypatch.setattr(fastyaml, "read", lambda _text: fastyaml.UNREAD)
    monkeypatch.setattr(parallel, "workers", lambda: 1)
    serial = run_check([str(tmp_path / "apps")])
    monkeypatch.setattr(parallel, "workers", lambda: 3)
    monkeypatch.setattr(parallel, "PARALLEL_BYTES", 1)
    monkeypatch.setattr(parallel, "FAST_PARALLEL_BYTES", 1)
    monkeypatch.setattr(parallel, "PARALLEL_OBJECTS", 1)
    forks = 0
    real = multiprocessing.get_context

    def counted(method: str) -> object:
        nonlocal forks
        forks += 1
        return real(method)

    monkeypatch.setattr(multiprocessing, "get_context", counted)
    both = run_check([str(tmp_path / "apps")])
    assert forks == pools
    assert both.findings == serial.findings
    assert (both.files, both.objects) == (serial.files, serial.objects)


def test_small_set_starts_no_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bundle is checked without starting a worker (a pool costs more than its check)."""
    generated(tmp_path / "apps", 16)

    def refused(method: str) -> object:
        raise AssertionError(f"a {method} pool was started for 16 objects")

    monkeypatch.setattr(multiprocessing, "get_context", refused)
    assert run_check([str(tmp_path / "apps")]).objects == 16


DOCUMENT = """---
apiVersion: v1
kind: ConfigMap
metadata:
  name: c{n}
  namespace: ns
data:
  a: "1"
"""


@pytest.mark.parametrize(
    ("head", "middle"),
    [
        ("", ""),
        ("# a comment before the first document\n", "data: {}\ndata: {}\n"),  # duplicate key
        ("apiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n", "---\n---\n"),  # bare, empty
        ("", "  bad: [unclosed\n"),  # a YAML error: the file is read whole again
        ("", "  b: 'x\u2028y'\n"),  # a line break that is no LF: not cut
    ],
)
def test_large_file_cut_at_documents_reads_as_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, head: str, middle: str
) -> None:
    """A large multi-document file parsed in pieces gives the whole file's findings, lines
    and document numbers."""
    documents = [DOCUMENT.format(n=n) for n in range(400)]
    documents[150] += middle
    (tmp_path / "all.yaml").write_text(head + "".join(documents))
    path = str(tmp_path / "all.yaml")
    monkeypatch.setattr(parallel, "workers", lambda: 1)
    serial, lines = run_check([path]), [r.lines for r in load([path]).resources]
    monkeypatch.setattr(parallel, "workers", lambda: 3)
    monkeypatch.setattr(parallel, "PARALLEL_BYTES", 1)
    monkeypatch.setattr(parallel, "FAST_PARALLEL_BYTES", 1)
    cut = len(loader._pieces(path, (tmp_path / "all.yaml").read_bytes()))
    assert cut == (1 if "\u2028" in middle else 12)
    both = run_check([path])
    assert both.findings == serial.findings
    assert [r.lines for r in load([path]).resources] == lines
