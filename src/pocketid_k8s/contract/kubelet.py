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

import re
from collections.abc import Iterator
from decimal import ROUND_CEILING, Decimal
from typing import Final

__all__ = [
    "BYTE_DIVISORS",
    "CFS_MIN_QUOTA_US",
    "CFS_PERIOD_US",
    "CPU_DIVISORS",
    "CRASH_BACKOFF_INITIAL_SECONDS",
    "CRASH_BACKOFF_MAX_SECONDS",
    "FIELD_PATHS",
    "FIELD_SUBSCRIPTED",
    "OOM_EXIT_CODE",
    "OOM_REASON",
    "RESOURCE_FIELDS",
    "SWAP_OFF",
    "cfs_quota_us",
    "expand_variables",
    "resource_field_value",
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


# --- the downward API: fieldRef and resourceFieldRef variables ----------------------------
#
# From ``pkg/apis/core/validation`` (validEnvDownwardAPIFieldPathExpressions,
# validContainerResourceFieldPathExpressions, the divisors it accepts) and the kubelet's
# ``pkg/api/v1/resource`` (ExtractContainerResourceValue): a CPU value is the quantity in
# millicores divided by the divisor in millicores, a memory or storage value the quantity in
# bytes divided by the divisor in bytes, each rounded up (``math.Ceil``); a limit that is not
# set is the node's allocatable (``MergeContainerResourceLimits``); a request that is not set
# is its limit when one is set (the API server's defaulting), else 0.

FIELD_PATHS: Final = (
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
)
"""The fieldRef paths an env variable may name, besides a subscripted label or annotation."""
FIELD_SUBSCRIPTED: Final = ("metadata.labels", "metadata.annotations")
"""Read one key, as ``metadata.labels['k']``; a key the pod does not have gives ''."""
RESOURCE_FIELDS: Final = (
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
)
"""The resourceFieldRef resources an env variable may name (hugepages aside)."""
CPU_DIVISORS: Final = ("1m", "1")
"""The divisors the API server accepts for a CPU resource (the default is 1)."""
BYTE_DIVISORS: Final = (
    "1",
    "1k",
    "1M",
    "1G",
    "1T",
    "1P",
    "1E",
    "1Ki",
    "1Mi",
    "1Gi",
    "1Ti",
    "1Pi",
    "1Ei",
)
"""The divisors the API server accepts for memory and ephemeral storage (the default is 1)."""
DEPLOYMENT_NAME_ALPHABET: Final = "bcdfghjklmnpqrstvwxz2456789"
"""The characters of a Deployment's pod-template-hash and of a generated pod name's suffix
(apimachinery's ``rand.SafeEncodeString``: no vowels, no 0, 1 or 3)."""
TEMPLATE_HASH_LABEL: Final = "pod-template-hash"
"""The label the Deployment controller adds to each pod it makes."""


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def resource_field_value(amount: Decimal, divisor: Decimal, *, cpu: bool) -> int:
    """What a resourceFieldRef variable holds: ``amount`` (cores, or bytes) over
    ``divisor``, rounded up as the kubelet rounds, after reading both as it reads them
    (a CPU quantity in whole millicores, a byte quantity in whole bytes, each rounded up)."""
    scale = 1000 if cpu else 1
    whole = int((amount * scale).to_integral_value(ROUND_CEILING))
    per = int((divisor * scale).to_integral_value(ROUND_CEILING))
    return _ceil_div(whole, per)


# --- $(VAR) references ------------------------------------------------------------------------

_VARIABLE: Final = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand_variables(value: str, env: dict[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion (command, args, a volumeMount's ``subPathExpr``):
    ``$$`` is a literal ``$``, a variable the container does not have stays as written."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "$"
        return env.get(name, match.group(0))

    return _VARIABLE.sub(one, value)
