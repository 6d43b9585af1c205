"""Properties of the pod spec rehearse plays (issue 23 item 4): resourceFieldRef values are
the kubelet's (the amount over the divisor, rounded up, never down), and a subPath is taken
exactly when it stays inside its volume."""

from __future__ import annotations

import posixpath
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pocketid_k8s.check.model import Resource
from pocketid_k8s.contract import kubelet
from pocketid_k8s.quantity import parse_quantity
from pocketid_k8s.rehearse.pod import PodError, pod_from
from pocketid_k8s.rehearse.sandbox import Sandbox
from tests.test_rehearse import bundle, editable


def pod_with(change: Any) -> list[Resource]:
    docs = [editable(r) for r in bundle()]
    container = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"][
        "containers"
    ][0]
    change(container)
    return [Resource(d, "x.yaml") for d in docs]


def millis(text: str) -> int:
    value = parse_quantity(text)
    assert value is not None
    return int(value * 1000)


@given(
    limit=st.integers(min_value=1, max_value=10**7),
    divisor=st.sampled_from(kubelet.CPU_DIVISORS),
)
@example(limit=250, divisor="1")
@example(limit=1000, divisor="1")
def test_a_cpu_limit_over_its_divisor_is_rounded_up(limit: int, divisor: str) -> None:
    """limits.cpu of N millicores over 1 or 1m: the smallest whole number of divisors >= N."""

    def change(container: dict[str, Any]) -> None:
        container["resources"]["limits"]["cpu"] = f"{limit}m"
        ref = {"resource": "limits.cpu", "divisor": divisor}
        container["env"] = [{"name": "CPU", "valueFrom": {"resourceFieldRef": ref}}]

    got = int(pod_from(pod_with(change)).env["CPU"])
    per = millis(divisor)
    assert got * per >= limit
    assert (got - 1) * per < limit


@given(
    amount=st.integers(min_value=1, max_value=2**50),
    unit=st.sampled_from(["", "k", "Ki", "M", "Mi", "G", "Gi"]),
    divisor=st.sampled_from(kubelet.BYTE_DIVISORS),
)
@example(amount=256, unit="Mi", divisor="1M")
@example(amount=1, unit="", divisor="1E")  # once read as e-notation: refused
@example(amount=1, unit="", divisor="1Ei")
def test_a_memory_request_over_its_divisor_is_rounded_up(
    amount: int, unit: str, divisor: str
) -> None:
    """requests.memory over any accepted divisor: whole divisors, rounded up, never down."""

    def change(container: dict[str, Any]) -> None:
        container["resources"]["requests"]["memory"] = f"{amount}{unit}"
        ref = {"resource": "requests.memory", "divisor": divisor}
        container["env"] = [{"name": "MEM", "valueFrom": {"resourceFieldRef": ref}}]

    got = int(pod_from(pod_with(change)).env["MEM"])
    total = parse_quantity(f"{amount}{unit}")
    per = parse_quantity(divisor)
    assert total is not None
    assert per is not None
    assert got * per >= total
    assert (got - 1) * per < total


PARTS = st.sampled_from(["a", "b", "..", ".", "data", "x.db", ""])


@given(parts=st.lists(PARTS, min_size=1, max_size=5), absolute=st.booleans())
@example(parts=["a", "..", "..", "b"], absolute=False)
@example(parts=["etc"], absolute=True)
@example(parts=["", "a"], absolute=False)  # '/a': absolute though not asked for
def test_a_sub_path_is_taken_exactly_when_it_stays_in_its_volume(
    parts: list[str], absolute: bool
) -> None:
    """No '..' part and relative: mounted inside the volume; else refused as bad input."""
    sub_path = ("/" if absolute else "") + "/".join(parts)
    if not sub_path.strip("/"):
        return  # an empty subPath is the whole volume
    mount = {"name": "tmp", "mountPath": "/app/x", "subPath": sub_path}
    resources = pod_with(lambda c: c["volumeMounts"].append(mount))
    refused = sub_path.startswith("/") or ".." in PurePosixPath(sub_path).parts
    if refused:
        with pytest.raises(PodError, match="fix: "):
            pod_from(resources)
        return
    pod = pod_from(resources)
    with tempfile.TemporaryDirectory() as folder:
        layout = Sandbox(Path(folder), pod, play_user=False).instance("pod-1")
        volume = Path(folder) / "pods" / "pod-1" / "volumes" / "tmp"
        host = layout.host("/app/x")
        assert host.resolve().is_relative_to(volume.resolve())
        assert host == volume.joinpath(*PurePosixPath(posixpath.normpath(sub_path)).parts)
