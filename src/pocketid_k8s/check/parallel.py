"""Both cores (or all of them) for a large set: its files read and validated, then its rules
run, by forked workers, each given runs of the work, the results joined in the order of the
work, so that the output is the serial run's to the byte.

Small inputs stay serial: forking costs more than a bundle's whole check. Only Linux forks
(the workers inherit the work, nothing is sent to them); on another system the work stays
serial. Ctrl-C reaches the parent only, which ends the workers.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import struct
import sys
from collections.abc import Callable, Sequence
from typing import Final, NoReturn, TypeVar, cast

from pocketid_k8s.errors import PocketIdK8sError

PARALLEL_BYTES: Final = 256 * 1024
"""Input left to PyYAML is parsed in parallel from this size on (the bundle is 20 KiB, 1,000
objects 0.9 MiB)."""
FAST_PARALLEL_BYTES: Final = 512 * 1024
"""Input read the fast way (check/fastyaml.py) is read in parallel from this size on (about
550 objects): yaml-rs reads and jsonschema-rs validates 500 objects in about 50 ms, of which
two cores save about what starting the worker and joining its results cost (measured on two
cores: even at 500 objects, a tenth less wall time at 1,000, by bench/peers_bench.py's
workloads)."""
PARALLEL_OBJECTS: Final = 750
"""Objects from which the rules run in parallel, each worker given app folders and families of
rules (with the lines of their findings, found where the finding is made): 1,000 objects'
rules take about 50 ms on one core."""
MAX_WORKERS: Final = 8
"""Enough for any CI runner; past this, joining the results costs what the workers save."""
RUNS_PER_WORKER: Final = 8
"""Runs of work per worker (a run that is slow to parse does not hold up the rest)."""

_worker = False
"""Whether this process is a worker forked by :func:`mapped`."""

T = TypeVar("T")
R = TypeVar("R")


def workers() -> int:
    """How many processes to use: the cores this process may run on, 1 where it cannot fork."""
    if not sys.platform.startswith("linux"):
        return 1
    return max(1, min(MAX_WORKERS, len(os.sched_getaffinity(0))))


def in_worker() -> bool:
    """Whether this process is a worker forked by :func:`mapped`, whose results go to the
    parent (work may pack them as it makes them) and which ends with its work."""
    return _worker


def mapped(size: int, work: Callable[[int, int], list[R]], *, parallel: bool) -> list[R]:
    """``work(0, size)``, or the same list made by forked workers run by run and joined in order.

    ``work``'s results must depend only on its arguments and on what the process held before
    the call, not on what work did before in the same process (it may fill caches). The work
    is cut into runs, which this process and a forked worker per other core take one at a
    time, each the next not yet taken, until none is left (so a process slowed by a slow
    stretch or a busy core takes fewer, and none waits long on another); a worker sends back
    its results pickled through a pipe and ends. A worker that ends without them (killed: out
    of memory?) is :class:`WorkerError`; an exception in a worker is raised here.

    When a run holds more than one item, this process does the first half run before the
    workers are forked, so that they start with what it set up (modules imported, schemas
    compiled, patterns compiled: a check's first objects cost some 35 ms that each worker
    would pay again, a third of the reading of 1,000 objects). Runs of one item each (a set
    of one app folder's families of rules, handed out dearest first) are all shared.
    """
    count = workers() if parallel else 1
    if count < 2 or size < 2:
        return work(0, size)
    runs = min(size, count * RUNS_PER_WORKER)
    bounds = [(size * i // runs, size * (i + 1) // runs) for i in range(runs)]
    head = bounds[0][1] // 2
    first = work(0, head) if head else []
    bounds = [(max(start, head), end) for start, end in bounds if end > head]
    done: dict[int, list[R]] = {}
    if bounds:
        for results in _forked(work, bounds, min(count, len(bounds))):
            done.update(cast("dict[int, list[R]]", results))
    return first + [item for index in range(len(bounds)) for item in done[index]]


class WorkerError(PocketIdK8sError):
    """A worker ended without sending its results back."""


def _forked(
    work: Callable[[int, int], object], bounds: list[tuple[int, int]], count: int
) -> list[dict[int, object]]:
    """The results of each run by its index, as each process made them: this one, and
    ``count - 1`` workers forked for the others (os.fork: a pool of multiprocessing costs
    about 50 ms more, in threads, queues and a process more, for each set it checks). The
    runs' indices wait in a pipe, each read whole by the one process that takes it."""
    import pickle  # here, before the workers fork (they need it), not for a serial check

    children: list[tuple[int, int]] = []
    taken, offered = os.pipe()
    try:
        os.write(offered, b"".join(_INDEX.pack(i) for i in range(len(bounds))))
        os.close(offered)  # each index written once: read to its end, the pipe is empty
        offered = -1
        for _ in range(count - 1):
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # the worker: never returns
                os.close(read_end)
                _work_and_exit(work, bounds, taken, write_end)
            os.close(write_end)
            children.append((pid, read_end))
        results: list[dict[int, object]] = [_taken(work, bounds, taken)]
        received = _received([read_end for _, read_end in children])
        for (pid, _), data in zip(children, received, strict=True):
            _, status = os.waitpid(pid, 0)
            if not data:
                raise WorkerError(
                    f"a worker of the check ended without its results ({_ended(status)}): "
                    "nothing was reported; fix: check fewer files at a time, or give the "
                    "machine more memory"
                )
            ok, value = pickle.loads(data)  # noqa: S301 (this program's own worker's bytes)
            if not ok:
                raise value
            results.append(value)
        children.clear()
        return results
    finally:
        for pid, _ in children:  # interrupted, or a worker failed: end the others
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        for end in [taken, offered, *(read_end for _, read_end in children)]:
            with contextlib.suppress(OSError):
                if end >= 0:
                    os.close(end)


_INDEX: Final = struct.Struct("=I")
"""A run's index in the pipe the processes take runs from: four bytes, which a read of four
takes whole (a pipe's reads and writes of up to 4 KiB are atomic)."""


def _taken(
    work: Callable[[int, int], object], bounds: list[tuple[int, int]], taken: int
) -> dict[int, object]:
    """The results of the runs this process takes from the pipe, until it is empty."""
    results: dict[int, object] = {}
    while index := os.read(taken, _INDEX.size):
        (run,) = _INDEX.unpack(index)
        results[run] = work(*bounds[run])
    return results


def _work_and_exit(
    work: Callable[[int, int], object], bounds: list[tuple[int, int]], taken: int, out: int
) -> NoReturn:
    """In the worker: do the runs it takes, write the results (or the exception) and end,
    without flushing what the parent had buffered or running its exit handlers."""
    global _worker  # noqa: PLW0603 (this process's own state, set once it is a worker)
    import pickle

    _worker = True
    code = 0
    try:
        _quiet()
        try:
            data = pickle.dumps((True, _taken(work, bounds, taken)), pickle.HIGHEST_PROTOCOL)
        except BaseException as exc:  # sent to the parent, which raises it
            try:
                data = pickle.dumps((False, exc), pickle.HIGHEST_PROTOCOL)
            except Exception:  # an exception that does not pickle: its words
                data = pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
        with os.fdopen(out, "wb") as stream:
            stream.write(data)
    except BaseException:  # nothing to tell but the exit code
        code = 1
    finally:
        os._exit(code)


def _received(ends: list[int]) -> list[bytes]:
    """Everything written to each pipe until its worker closes it, read as it comes (a worker
    blocked on a full pipe would never end)."""
    data = {end: bytearray() for end in ends}
    with selectors.DefaultSelector() as selector:
        for end in ends:
            selector.register(end, selectors.EVENT_READ)
        while selector.get_map():
            for key, _ in selector.select():
                chunk = os.read(key.fd, 1 << 20)
                if chunk:
                    data[key.fd] += chunk
                else:
                    selector.unregister(key.fd)
    return [bytes(data[end]) for end in ends]


def _ended(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"


def chunked(items: Sequence[T], function: Callable[[T], R]) -> Callable[[int, int], list[R]]:
    """A work function over ``items[start:end]``, one result per item."""

    def work(start: int, end: int) -> list[R]:
        return [function(item) for item in items[start:end]]

    return work


def _quiet() -> None:
    """A worker leaves Ctrl-C to the parent, which ends the workers (and says 'interrupted'),
    and ends quietly on a SIGTERM (not by the CLI's handler, inherited, which would raise
    KeyboardInterrupt and print a worker's traceback)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
