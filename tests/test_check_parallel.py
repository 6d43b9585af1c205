"""check uses both cores for a large set and none of that for a small one; the findings are
the serial run's, in the same order (issue 19)."""

from __future__ import annotations

import os
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from pocketid_k8s.check import COSTLIEST_FIRST, FAMILIES, fastyaml, loader, parallel, run_check
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
    (tmp_path / "apps" / "latin1.yaml").write_bytes(b"data: caf\xe9\n")  # decoded by a worker
    (tmp_path / "apps" / "zeros.yaml").write_bytes(b"a: b\n\x00")
    if not fast:
        monkeypatch.setattr(fastyaml, "read", lambda _text: fastyaml.UNREAD)
    monkeypatch.setattr(parallel, "workers", lambda: 1)
    serial = run_check([str(tmp_path / "apps")])
    monkeypatch.setattr(parallel, "workers", lambda: 3)
    monkeypatch.setattr(parallel, "PARALLEL_BYTES", 1)
    monkeypatch.setattr(parallel, "FAST_PARALLEL_BYTES", 4096)  # files under 1 KiB read whole
    monkeypatch.setattr(parallel, "PARALLEL_OBJECTS", 1)
    forks = 0
    real = parallel._forked

    def counted(*args: Any) -> Any:
        nonlocal forks
        forks += 1
        return real(*args)

    monkeypatch.setattr(parallel, "_forked", counted)
    both = run_check([str(tmp_path / "apps")])
    assert forks == pools
    assert serial.unreadable
    assert both.unreadable
    assert both.findings == serial.findings
    assert (both.files, both.objects) == (serial.files, serial.objects)


def test_a_workers_objects_read_as_the_serial_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Objects of a large set, read by a worker or by this process, come with their view made
    where they were read and their document packed, which reads back as the document the
    serial run of a small set built (types, order and all)."""
    generated(tmp_path / "apps", 400)  # enough that the worker takes runs however slow to start
    monkeypatch.setattr(parallel, "workers", lambda: 1)
    serial = load([str(tmp_path / "apps")]).resources
    monkeypatch.setattr(parallel, "workers", lambda: 2)
    monkeypatch.setattr(parallel, "FAST_PARALLEL_BYTES", 4096)  # as above
    both = load([str(tmp_path / "apps")]).resources
    packed = [r for r in both if r._doc is None]
    assert {r.kind for r in both if r._doc is not None} == {"Kustomization"}
    """Each was packed, this process's share too; a Kustomization's document was read (for
    the files it lists), and no other's yet."""
    assert not any(r._packed for r in serial)
    assert [r.view for r in both] == [r.view for r in serial]
    assert [(r.kind, r.api_version, r.name) for r in both] == [
        (r.kind, r.api_version, r.name) for r in serial
    ]
    assert all(r._doc is None for r in packed)  # the view, kind and name did not decode it
    assert [r.doc for r in both] == [r.doc for r in serial]
    assert [list(map(type, r.doc.values())) for r in both] == [
        list(map(type, r.doc.values())) for r in serial
    ]


class _Unpackable:
    """A stand-in for the MessagePack encoder that refuses everything (as it would a document
    it cannot carry)."""

    def encode(self, _value: object) -> bytes:
        raise TypeError("not MessagePack")


def test_a_workers_objects_that_do_not_pack_come_back_pickled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Objects a worker cannot pack come back whole (pickled), and read as the serial run's."""
    generated(tmp_path / "apps", 400)  # enough that the worker takes runs (as above)
    monkeypatch.setattr(parallel, "workers", lambda: 1)
    serial = run_check([str(tmp_path / "apps")])
    monkeypatch.setattr(parallel, "workers", lambda: 2)
    monkeypatch.setattr(parallel, "FAST_PARALLEL_BYTES", 1)
    monkeypatch.setattr(loader, "_MSGPACK", _Unpackable())
    both = run_check([str(tmp_path / "apps")])
    assert both.findings == serial.findings
    assert all(r._packed is None for r in load([str(tmp_path / "apps")]).resources)


def test_one_app_folders_rules_go_dearest_first_and_report_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A set of one app folder has five pieces of rule work, one a family and one its unlisted
    files, handed out dearest first: every family is among them once, and the findings are the
    serial run's, in order."""
    assert sorted(map(id, COSTLIEST_FIRST)) == sorted(map(id, FAMILIES))
    generated(tmp_path / "apps", 160)
    one = tmp_path / "all.yaml"
    one.write_text("---\n".join(f.read_text() for f in sorted((tmp_path / "apps").rglob("*.yaml"))))
    monkeypatch.setattr(parallel, "workers", lambda: 1)
    serial = run_check([str(one)])
    assert len({f.rule.split("/")[0] for f in serial.findings}) > 2  # several families report
    monkeypatch.setattr(parallel, "workers", lambda: 2)
    monkeypatch.setattr(parallel, "PARALLEL_OBJECTS", 1)
    assert run_check([str(one)]).findings == serial.findings


def test_small_set_starts_no_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bundle is checked without starting a worker (a pool costs more than its check)."""
    generated(tmp_path / "apps", 16)

    def refused(*_args: Any) -> list[object]:
        raise AssertionError("workers were forked for 16 objects")

    monkeypatch.setattr(parallel, "_forked", refused)
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
    assert cut == (1 if "\u2028" in middle else 3 * parallel.RUNS_PER_WORKER)
    both = run_check([path])
    assert both.findings == serial.findings
    assert [r.lines for r in load([path]).resources] == lines


# --- the forked workers themselves ---------------------------------------------------------


def _two_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "workers", lambda: 2)


def test_the_workers_start_with_what_the_first_run_set_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """This process takes the first half run before forking: a worker finds what it cached
    (a compiled schema, an imported module) and never does that work again."""
    _two_workers(monkeypatch)
    caller = os.getpid()
    cache: list[int] = []

    def work(start: int, end: int) -> list[tuple[int, bool, bool]]:
        warm = bool(cache)
        cache.append(start)
        if start == 0:
            assert not _forked_yet(caller)  # before the workers are forked
        time.sleep(0.05)  # so that the worker takes runs too
        return [(i, os.getpid() == caller, warm) for i in range(start, end)]

    got = parallel.mapped(32, work, parallel=True)
    assert [i for i, _, _ in got] == list(range(32))
    assert [i for i, _, warm in got if not warm] == [0]  # the first half run, done here
    assert not all(here for _, here, _ in got)  # the worker took runs, warm from the start


def _forked_yet(pid: int) -> bool:
    """Whether process ``pid`` has a child (a worker, running or ended and not yet reaped)."""
    return bool(Path(f"/proc/{pid}/task/{pid}/children").read_text().split())


def test_runs_of_one_item_are_all_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs of one item each (one app folder's families of rules, the dearest first) are all
    handed out once the workers run: this process does none before forking them."""
    _two_workers(monkeypatch)
    caller = os.getpid()

    def work(start: int, end: int) -> list[tuple[int, bool]]:
        time.sleep(0.05)
        return [(i, os.getpid() != caller or _forked_yet(caller)) for i in range(start, end)]

    got = parallel.mapped(6, work, parallel=True)
    assert got == [(i, True) for i in range(6)]


def test_results_come_back_whole_and_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs of results larger than a pipe holds, from every worker at once, joined in order."""
    _two_workers(monkeypatch)
    big = "x" * 300_000  # each run's results pass the 64 KiB a pipe buffers
    got = parallel.mapped(
        40, lambda start, end: [(i, big) for i in range(start, end)], parallel=True
    )
    assert [i for i, _ in got] == list(range(40))
    assert all(text == big for _, text in got)


def test_a_slow_process_takes_fewer_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs go to whichever process is free: a worker held up (a busy core) takes few, this
    process the rest, and the results still come back whole and in order."""
    _two_workers(monkeypatch)
    caller = os.getpid()

    def work(start: int, end: int) -> list[tuple[int, bool]]:
        here = os.getpid() == caller
        time.sleep(0.05 if here else 2)
        return [(i, here) for i in range(start, end)]

    got = parallel.mapped(8, work, parallel=True)
    assert [i for i, _ in got] == list(range(8))
    assert sum(not here for _, here in got) <= 1  # the worker took one run at most, in the
    # time this process took the other seven (a fixed share would have given it four)


def test_an_exception_in_a_worker_is_raised_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker's exception reaches the caller with its type and words."""
    _two_workers(monkeypatch)

    def work(start: int, end: int) -> list[int]:
        if start <= 5 < end:
            raise ValueError("run with five")
        return list(range(start, end))

    with pytest.raises(ValueError, match="run with five"):
        parallel.mapped(8, work, parallel=True)


def test_a_worker_killed_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that dies without its results (the OOM killer's SIGKILL) is WorkerError naming
    the signal and the fix, not a hang."""
    _two_workers(monkeypatch)

    caller = os.getpid()

    def work(start: int, end: int) -> list[int]:
        if os.getpid() != caller:  # the forked worker (this process takes runs too)
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.5)  # so that the worker, however slow to start, takes a run
        return list(range(start, end))

    with pytest.raises(parallel.WorkerError, match=r"killed by signal 9.*fix: check fewer"):
        parallel.mapped(8, work, parallel=True)


def test_an_interrupt_ends_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while the workers run: KeyboardInterrupt here, and no worker is left behind."""
    _two_workers(monkeypatch)
    pids = Path(tempfile.mkdtemp()) / "pids"

    caller = os.getpid()

    def work(start: int, end: int) -> list[int]:
        if start == 0:  # the first half run, done before the workers are forked
            return []
        if os.getpid() != caller:
            with pids.open("a") as out:
                out.write(f"{os.getpid()}\n")
        time.sleep(60)
        return []

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            parallel.mapped(4, work, parallel=True)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    started = [int(line) for line in pids.read_text().split()]
    assert len(started) == 1  # one worker forked; this process did the other share
    for pid in started:
        assert not Path(f"/proc/{pid}").exists()  # killed and reaped
