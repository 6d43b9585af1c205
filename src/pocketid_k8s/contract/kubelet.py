"""The kubelet's facts that rehearse plays: how it restarts a container that ended.

The kubelet restarts a container that exited or was killed (``restartPolicy: Always``) at
once the first time, then waits a back-off that doubles after each further failed start,
from :data:`CRASH_BACKOFF_INITIAL_SECONDS` up to :data:`CRASH_BACKOFF_MAX_SECONDS`
(``pkg/kubelet/kuberuntime``: ``backOffPeriod``, ``MaxContainerBackOff``); the
``CrashLoopBackOff`` a pod shows is this wait. A start killed by its startup probe counts
as a failed start like one that exited.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import ROUND_CEILING, Decimal
from typing import Final

__all__ = [
    "BYTE_DIVISORS",
    "CPU_DIVISORS",
    "CRASH_BACKOFF_INITIAL_SECONDS",
    "CRASH_BACKOFF_MAX_SECONDS",
    "FIELD_PATHS",
    "FIELD_SUBSCRIPTED",
    "RESOURCE_FIELDS",
    "expand_variables",
    "resource_field_value",
    "restart_delays",
]

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
