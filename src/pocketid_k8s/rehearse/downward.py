"""The downward API as the kubelet plays it in variables: ``fieldRef`` and ``resourceFieldRef``.

A pod in the rehearsal sees what a pod of the workload would: a name like the ones its
controller generates, its namespace, its labels (with the Deployment's pod-template-hash)
and annotations, its service account, and the loopback address the program listens on as
its pod and host IP. What has no true value outside a cluster (the name's random parts, the
uid, the node) is a stand-in, and the caller names those. Resource values are the container's
requests and limits over the divisor, rounded up as the kubelet rounds them; a limit that is
not set is the node's allocatable, here this machine's CPU count and memory.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from pocketid_k8s.check.context import Workload
from pocketid_k8s.contract import kubelet
from pocketid_k8s.quantity import parse_quantity

__all__ = ["Allocatable", "Downward", "machine_allocatable"]

POD_IP: Final = "127.0.0.1"
"""The address the program listens on in the rehearsal: its pod IP, and its node's."""
SUBSCRIPT: Final = re.compile(r"^(metadata\.(?:labels|annotations))\['([^']*)'\]$")
STAND_INS: Final = {
    "metadata.name": "the pod name's random parts",
    "metadata.uid": "the pod's uid",
    "spec.nodeName": "the node name (this machine's)",
}


@dataclass(frozen=True)
class Allocatable:
    """What the node offers a container with no limit: cores, and bytes of memory and disk."""

    cpu: Decimal
    memory: Decimal
    ephemeral_storage: Decimal


def machine_allocatable() -> Allocatable:
    """This machine as the node: its CPUs, its memory (MemTotal) and its temporary disk."""
    memory = Decimal(0)
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemTotal:"):
                    memory = Decimal(int(line.split()[1]) * 1024)
                    break
    except OSError:
        memory = Decimal(0)
    disk = Decimal(shutil.disk_usage(tempfile.gettempdir()).total)
    return Allocatable(Decimal(os.cpu_count() or 1), memory, disk)


def _token(length: int) -> str:
    return "".join(secrets.choice(kubelet.DEPLOYMENT_NAME_ALPHABET) for _ in range(length))


@dataclass
class Downward:
    """The values one pod of ``workload`` reads through the downward API."""

    workload: Workload
    allocatable: Allocatable = field(default_factory=machine_allocatable)
    stand_ins: list[str] = field(default_factory=list)
    """The fields read whose value is a stand-in, in the user's words."""
    count: int = 0
    """How many variables were resolved here."""
    template_hash: str = field(default_factory=lambda: _token(10))
    suffix: str = field(default_factory=lambda: _token(5))
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def _owner(self) -> str:
        resource = self.workload.resource
        return f"{resource.kind}/{resource.name}"

    def pod_name(self) -> str:
        """A name like the controller's: <deployment>-<hash>-<suffix>, <statefulset>-0."""
        resource = self.workload.resource
        if resource.kind == "Pod":
            return resource.name
        if resource.kind == "StatefulSet":
            return f"{resource.name}-0"
        if resource.kind == "Deployment":
            return f"{resource.name}-{self.template_hash}-{self.suffix}"
        return f"{resource.name}-{self.suffix}"

    def _metadata(self, which: str) -> dict[str, str]:
        resource = self.workload.resource
        if resource.kind == "Pod":
            found = resource.metadata.get(which) or {}
        else:
            spec = resource.view.get("spec") or {}
            template = spec.get("template") if isinstance(spec, dict) else None
            meta = (template or {}).get("metadata") if isinstance(template, dict) else None
            found = (meta or {}).get(which) if isinstance(meta, dict) else None
        pairs = found.items() if isinstance(found, dict) else ()
        values = {str(k): "" if v is None else str(v) for k, v in pairs}
        if which == "labels" and resource.kind == "Deployment":
            values[kubelet.TEMPLATE_HASH_LABEL] = self.template_hash
        return values

    def value(self, name: str, source: dict[str, object]) -> str:
        """The value of variable ``name`` from its ``valueFrom``, or a ValueError naming the
        field and the fix (the API server refuses the same)."""
        self.count += 1
        field_ref = source.get("fieldRef")
        if isinstance(field_ref, dict):
            return self._field(name, field_ref)
        resource_ref = source.get("resourceFieldRef")
        if isinstance(resource_ref, dict):
            return self._resource(name, resource_ref)
        raise ValueError(
            f"{self._owner}: env {name} valueFrom names no secretKeyRef, configMapKeyRef, "
            "fieldRef or resourceFieldRef; fix: give it one of them"
        )

    def _stand_in(self, path: str) -> None:
        label = STAND_INS[path]
        if label not in self.stand_ins:
            self.stand_ins.append(label)

    def _field(self, name: str, ref: dict[str, object]) -> str:
        path = str(ref.get("fieldPath") or "")
        version = ref.get("apiVersion")
        where = f"{self._owner}: env {name} valueFrom.fieldRef"
        if version not in (None, "", "v1"):
            raise ValueError(f"{where}.apiVersion is {str(version)[:40]!r}, not v1; fix: write v1")
        subscripted = SUBSCRIPT.match(path)
        if subscripted:
            which = subscripted.group(1).removeprefix("metadata.")
            return self._metadata(which).get(subscripted.group(2), "")
        if path not in kubelet.FIELD_PATHS:
            allowed = ", ".join((*kubelet.FIELD_PATHS, "metadata.labels['k']"))
            raise ValueError(
                f"{where}.fieldPath {path[:60]!r} is not one a variable can read; fix: one of "
                f"{allowed}, metadata.annotations['k']"
            )
        if path in STAND_INS:
            self._stand_in(path)
        known: dict[str, Callable[[], str]] = {
            "metadata.name": self.pod_name,
            "metadata.uid": lambda: self.uid,
            "metadata.namespace": lambda: self.workload.resource.namespace or "default",
            "spec.nodeName": socket.gethostname,
            "spec.serviceAccountName": lambda: str(
                self.workload.pod.get("serviceAccountName") or "default"
            ),
        }
        if path in known:
            return known[path]()
        return POD_IP  # status.podIP(s), status.hostIP(s): one address, the loopback

    def _resource(self, name: str, ref: dict[str, object]) -> str:
        where = f"{self._owner}: env {name} valueFrom.resourceFieldRef"
        resource = str(ref.get("resource") or "")
        if resource not in kubelet.RESOURCE_FIELDS:
            raise ValueError(
                f"{where}.resource {resource[:60]!r} is not one a variable can read; fix: one "
                f"of {', '.join(kubelet.RESOURCE_FIELDS)}"
            )
        kind, _, amount_of = resource.partition(".")
        cpu = amount_of == "cpu"
        raw_divisor = ref.get("divisor")
        divisor_text = "1" if raw_divisor in (None, "") else str(raw_divisor)
        divisor = parse_quantity(divisor_text)
        allowed = kubelet.CPU_DIVISORS if cpu else kubelet.BYTE_DIVISORS
        if divisor is None or divisor not in {parse_quantity(d) for d in allowed}:
            raise ValueError(
                f"{where}.divisor {divisor_text[:40]!r} is not one the API server accepts for "
                f"{amount_of}; fix: one of {', '.join(allowed)}"
            )
        container = self._container(ref, where)
        amounts = container.get("resources") or {}
        limits = (amounts.get("limits") if isinstance(amounts, dict) else None) or {}
        requests = (amounts.get("requests") if isinstance(amounts, dict) else None) or {}
        text = limits.get(amount_of) if kind == "limits" else requests.get(amount_of)
        if kind == "requests" and text is None:
            text = limits.get(amount_of)  # the API server's default: the request is the limit
        if text is None:
            if kind == "requests":
                return "0"
            attribute = amount_of.replace("-", "_")
            amount: Decimal = getattr(self.allocatable, attribute)
            label = f"{resource} unset, so the node's allocatable (this machine's)"
            if label not in self.stand_ins:
                self.stand_ins.append(label)
        else:
            parsed = parse_quantity(str(text))
            if parsed is None or parsed < 0:
                raise ValueError(
                    f"{self._owner}: resources.{kind}.{amount_of} {str(text)[:40]!r} is not a "
                    "quantity; fix: write one such as 500m, 256Mi"
                )
            amount = parsed
        return str(kubelet.resource_field_value(amount, divisor, cpu=cpu))

    def _container(self, ref: dict[str, object], where: str) -> dict[str, object]:
        wanted = ref.get("containerName")
        mine = self.workload.container
        if wanted in (None, "", mine.get("name")):
            return dict(mine)
        for other in self.workload.pod.get("containers") or []:
            if other.get("name") == wanted:
                return dict(other)
        raise ValueError(
            f"{where}.containerName {str(wanted)[:60]!r} names no container of the pod; fix: "
            "name one, or leave it out for this container"
        )
