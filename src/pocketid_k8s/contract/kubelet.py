"""The kubelet's facts that rehearse plays: how it restarts a container that ended.

The kubelet restarts a container that exited or was killed (``restartPolicy: Always``) at
once the first time, then waits a back-off that doubles after each further failed start,
from :data:`CRASH_BACKOFF_INITIAL_SECONDS` up to :data:`CRASH_BACKOFF_MAX_SECONDS`
(``pkg/kubelet/kuberuntime``: ``backOffPeriod``, ``MaxContainerBackOff``); the
``CrashLoopBackOff`` a pod shows is this wait. A start killed by its startup probe counts
as a failed start like one that exited.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

__all__ = ["CRASH_BACKOFF_INITIAL_SECONDS", "CRASH_BACKOFF_MAX_SECONDS", "restart_delays"]

CRASH_BACKOFF_INITIAL_SECONDS: Final = 10
CRASH_BACKOFF_MAX_SECONDS: Final = 300


def restart_delays() -> Iterator[int]:
    """The kubelet's wait before each restart after an end: 0 (at once), then 10, 20, 40,
    ... seconds after each failed start, capped at 300 s."""
    yield 0
    delay = CRASH_BACKOFF_INITIAL_SECONDS
    while True:
        yield delay
        delay = min(delay * 2, CRASH_BACKOFF_MAX_SECONDS)
