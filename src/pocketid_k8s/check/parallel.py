"""Both cores (or all of them) for a large set: its files parsed, and its objects of core
kinds validated where they are parsed, by a pool of forked workers, each given a contiguous
run of the work, the results joined in the order of the work, so that the output is the
serial run's to the byte.

Small inputs stay serial: starting a pool costs more than a bundle's whole check. Only Linux
forks (the workers inherit the work, nothing is sent to them); on another system the work
stays serial. Ctrl-C reaches the parent only, which ends the pool.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Final, TypeVar, cast

PARALLEL_BYTES: Final = 256 * 1024
"""Input left to PyYAML is parsed in parallel from this size on (the bundle is 20 KiB, 1,000
objects 0.9 MiB)."""
FAST_PARALLEL_BYTES: Final = 2 * 1024 * 1024
"""Input read the fast way (check/fastyaml.py) is read in parallel from this size on: yaml-rs
reads and jsonschema-rs validates 1,000 objects in about a tenth of a second, which starting
the workers would cost again."""
PARALLEL_OBJECTS: Final = 3000
"""Objects from which the rules run in parallel, each worker given app folders and families of
rules (with the lines of their findings, found where the finding is made)."""
MAX_WORKERS: Final = 8
"""Enough for any CI runner; past this, joining the results costs what the workers save."""
RUNS_PER_WORKER: Final = 4
"""Runs of work per worker (a run that is slow to parse does not hold up the rest)."""

T = TypeVar("T")
R = TypeVar("R")

_work: Callable[[int, int], object] | None = None
"""What the forked workers do, on (start, end) of the work: set before the fork."""


def workers() -> int:
    """How many processes to use: the cores this process may run on, 1 where it cannot fork."""
    if not sys.platform.startswith("linux"):
        return 1
    return max(1, min(MAX_WORKERS, len(os.sched_getaffinity(0))))


def mapped(size: int, work: Callable[[int, int], list[R]], *, parallel: bool) -> list[R]:
    """``work(0, size)``, or the same list made by the workers run by run and joined in order.

    ``work`` must depend only on its arguments and on what the process held before the call
    (a forked worker sees that, and nothing done since).
    """
    count = workers() if parallel else 1
    if count < 2 or size < 2:
        return work(0, size)
    import multiprocessing  # noqa: PLC0415  (only for a large set: startup)

    global _work  # noqa: PLW0603  (handed to the forked workers; set and cleared here only)
    runs = min(size, count * RUNS_PER_WORKER)
    bounds = [(size * i // runs, size * (i + 1) // runs) for i in range(runs)]
    _work = work
    try:
        context = multiprocessing.get_context("fork")
        with context.Pool(count, initializer=_quiet) as pool:
            parts = pool.map(_run, bounds, chunksize=1)
    finally:
        _work = None
    return [item for part in cast("list[list[R]]", parts) for item in part]


def chunked(items: Sequence[T], function: Callable[[T], R]) -> Callable[[int, int], list[R]]:
    """A work function over ``items[start:end]``, one result per item."""

    def work(start: int, end: int) -> list[R]:
        return [function(item) for item in items[start:end]]

    return work


def _run(bounds: tuple[int, int]) -> object:
    if _work is None:
        raise RuntimeError("a worker is forked only while there is work")
    return _work(*bounds)


def _quiet() -> None:
    """A worker leaves Ctrl-C to the parent, which ends the pool (and says 'interrupted'),
    and ends quietly on the SIGTERM that ending the pool sends (not by the CLI's handler,
    inherited, which would raise KeyboardInterrupt and print a worker's traceback)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
