"""The kubelet's facts that rehearse plays: how it restarts a container that ended.

The kubelet restarts a container that exited or was killed (``restartPolicy: Always``) at
once the first time, then waits a back-off that doubles after each further failed start,
from :data:`CRASH_BACKOFF_INITIAL_SECONDS` up to :data:`CRASH_BACKOFF_MAX_SECONDS`
(``pkg/kubelet/kuberuntime``: ``backOffPeriod``, ``MaxContainerBackOff``); the
``CrashLoopBackOff`` a pod shows is this wait. A start killed by its startup probe counts
as a failed start like one that exited.

How it limits a container (``pkg/kubelet/cm``, ``kuberuntime_container_linux.go``): the
memory limit becomes the cgroup's hard limit, and with swap off (the kubelet's default,
``NoSwap``) memory plus swap is held to the same figure, so a container that exceeds it is
killed by the kernel's OOM killer and reported ``OOMKilled`` with exit code 137 (128 +
SIGKILL); the CPU limit becomes a CFS quota of limit x :data:`CFS_PERIOD_US` per period
(at least :data:`CFS_MIN_QUOTA_US`), so a busy container is throttled, not killed.
Requests only weigh the container's share of the CPU against its neighbours' and place the
pod on a node: they limit nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

__all__ = [
    "CFS_MIN_QUOTA_US",
    "CFS_PERIOD_US",
    "CRASH_BACKOFF_INITIAL_SECONDS",
    "CRASH_BACKOFF_MAX_SECONDS",
    "OOM_EXIT_CODE",
    "OOM_REASON",
    "SWAP_OFF",
    "cfs_quota_us",
    "restart_delays",
]

CRASH_BACKOFF_INITIAL_SECONDS: Final = 10
CRASH_BACKOFF_MAX_SECONDS: Final = 300
CFS_PERIOD_US: Final = 100_000
"""The CFS period the kubelet sets (``cpu.cfs_period_us``, the second figure of ``cpu.max``):
100 ms, unless the node turns on ``cpuCFSQuotaPeriod`` (a feature gate few use)."""
CFS_MIN_QUOTA_US: Final = 1_000
"""The smallest quota the kubelet writes (``MinQuotaPeriod``): 1 ms per period."""
SWAP_OFF: Final = True
"""The kubelet's default (``NoSwap``): the container may not swap; memory plus swap is held
to the memory limit (cgroup v1 ``memory.memsw.limit_in_bytes``, v2 ``memory.swap.max`` 0)."""
OOM_EXIT_CODE: Final = 137
"""The exit code the kubelet reports for a container the OOM killer ended (128 + 9)."""
OOM_REASON: Final = "OOMKilled"
"""The reason it reports for it, in the container's ``lastState.terminated``."""


def cfs_quota_us(millicores: int) -> int:
    """The CFS quota per period for a CPU limit of ``millicores`` (as ``MilliCPUToQuota``)."""
    return max(millicores * CFS_PERIOD_US // 1000, CFS_MIN_QUOTA_US)


def restart_delays() -> Iterator[int]:
    """The kubelet's wait before each restart after an end: 0 (at once), then 10, 20, 40,
    ... seconds after each failed start, capped at 300 s."""
    yield 0
    delay = CRASH_BACKOFF_INITIAL_SECONDS
    while True:
        yield delay
        delay = min(delay * 2, CRASH_BACKOFF_MAX_SECONDS)
