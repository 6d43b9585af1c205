"""rehearse plays the rest of the pod spec: downward API variables, tcpSocket and exec probes,
subPath mounts and a read-only root file system.

The Pocket-ID TEST DOUBLE (tests/pocket_id_double.py) stands in for the program and records
what it sees (its variables, whether its root is writable, a subPath file's content).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pocketid_k8s.check.model import Resource
from pocketid_k8s.live.report import Row, Status
from pocketid_k8s.rehearse import Options, mountns, rehearse
from pocketid_k8s.rehearse.downward import machine_allocatable
from pocketid_k8s.rehearse.limits import Wanted
from pocketid_k8s.rehearse.pod import PodError, pod_from
from pocketid_k8s.rehearse.run import Rehearsal
from tests.test_image import crane_registry
from tests.test_rehearse import ROOT_USER, bundle, double, editable, kept, open_dir, statuses

# the fixtures, shared with tests/test_rehearse.py and tests/test_image.py
__all__ = ["crane_registry", "double", "kept", "open_dir"]

needs_root = pytest.mark.skipif(not ROOT_USER, reason="only root plays the user and mounts")


def edited(change: Callable[[dict[str, Any]], None]) -> list[Resource]:
    """The rendered bundle with its Pocket-ID container changed by ``change``."""
    docs = [editable(r) for r in bundle()]
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    change(deployment["spec"]["template"]["spec"]["containers"][0])
    return [Resource(d, "x.yaml") for d in docs]


def with_env(*entries: dict[str, Any]) -> list[Resource]:
    return edited(lambda c: c.setdefault("env", []).extend(entries))


def field(name: str, path: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}


def resource(name: str, what: str, divisor: str | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"resource": what}
    if divisor is not None:
        ref["divisor"] = divisor
    return {"name": name, "valueFrom": {"resourceFieldRef": ref}}


def row(rows: list[Row], check: str) -> Row:
    return next(r for r in rows if r.check == check)


# --- fieldRef and resourceFieldRef -----------------------------------------------------------


def test_pod_name_looks_like_the_deployments_generated_ones() -> None:
    """metadata.name: <deployment>-<10-character hash>-<5 characters>, as a ReplicaSet names it."""
    env = pod_from(with_env(field("POD", "metadata.name"))).env
    assert re.fullmatch(
        r"pocket-id-[bcdfghjklmnpqrstvwxz2456789]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}", env["POD"]
    )


def test_namespace_labels_and_annotations_are_the_pods() -> None:
    """Namespace, a label, the pod-template-hash label, an annotation; a missing key is ''."""
    pod = pod_from(
        with_env(
            field("NS", "metadata.namespace"),
            field("APP", "metadata.labels['app.kubernetes.io/name']"),
            field("HASH", "metadata.labels['pod-template-hash']"),
            field("CONFIG", "metadata.annotations['pocketid-k8s/config-hash']"),
            field("NONE", "metadata.labels['absent']"),
            field("POD", "metadata.name"),
        )
    )
    env = pod.env
    assert (env["NS"], env["APP"], env["CONFIG"], env["NONE"]) == (
        "pocket-id",
        "pocket-id",
        "0e692b76b09c8891",
        "",
    )
    assert env["POD"].split("-")[-2] == env["HASH"]


def test_pod_and_host_ip_are_the_loopback_the_program_listens_on() -> None:
    """status.podIP, podIPs, hostIP, hostIPs: 127.0.0.1; the pod row names the stand-ins."""
    pod = pod_from(
        with_env(
            *(
                field(n, f"status.{n[0].lower() + n[1:]}")
                for n in ("PodIP", "PodIPs", "HostIP", "HostIPs")
            ),
            field("UID", "metadata.uid"),
            field("NODE", "spec.nodeName"),
            field("SA", "spec.serviceAccountName"),
        )
    )
    assert [pod.env[n] for n in ("PodIP", "PodIPs", "HostIP", "HostIPs")] == ["127.0.0.1"] * 4
    assert pod.env["SA"] == "pocket-id"  # the rendered pod's serviceAccountName
    assert "7 fieldRef/resourceFieldRef variables played" in pod.said[0]
    assert "stand-ins: the pod's uid, the node name (this machine's)" in pod.said[0]


def test_resource_values_are_rounded_up_over_the_divisor() -> None:
    """250m over 1 is 1 (ceil), over 1m 250; 256Mi over 1Mi 256; requests.cpu 50m over 1 is 1."""
    pod = pod_from(
        with_env(
            resource("CPU", "limits.cpu"),
            resource("CPU_M", "limits.cpu", "1m"),
            resource("MEM", "limits.memory", "1Mi"),
            resource("REQ", "requests.cpu"),
            resource("REQ_MEM", "requests.memory", "1M"),
        )
    )
    assert [pod.env[n] for n in ("CPU", "CPU_M", "MEM", "REQ", "REQ_MEM")] == [
        "1",
        "250",
        "256",
        "1",
        "135",
    ]


def test_a_limit_not_set_is_the_nodes_allocatable() -> None:
    """No limits: limits.cpu is this machine's CPU count, limits.memory its memory in Mi (ceil),
    named as stand-ins."""

    def change(container: dict[str, Any]) -> None:
        container["resources"] = {}
        container["env"] = [
            resource("CPU", "limits.cpu"),
            resource("MEM", "limits.memory", "1Mi"),
            resource("REQ", "requests.memory"),
        ]

    pod = pod_from(edited(change))
    env = pod.env
    node = machine_allocatable()
    assert env["CPU"] == str(os.cpu_count())
    assert env["MEM"] == str(-(-int(node.memory) // 2**20))
    assert env["REQ"] == "0"
    assert "limits.cpu unset, so the node's allocatable (this machine's)" in pod.said[0]


@pytest.mark.parametrize(
    ("entry", "named"),
    [
        (field("X", "spec.hostname"), "fieldPath 'spec.hostname' is not one a variable can read"),
        (resource("X", "limits.gpu"), "resource 'limits.gpu' is not one a variable can read"),
        (
            resource("X", "limits.cpu", "1Mi"),
            "divisor '1Mi' is not one the API server accepts for cpu",
        ),
        (
            resource("X", "limits.memory", "3"),
            "divisor '3' is not one the API server accepts for memory",
        ),
    ],
)
def test_a_field_the_api_server_refuses_is_bad_input(entry: dict[str, Any], named: str) -> None:
    """An unknown fieldPath, resource or divisor: one message naming the field and the fix."""
    with pytest.raises(PodError, match="fix: ") as caught:
        pod_from(with_env(entry))
    assert named in str(caught.value)
    assert "Deployment/pocket-id: env X valueFrom" in str(caught.value)


def test_the_program_sees_the_downward_values(
    double: Path, open_dir: Path, kept: list[Path | None]
) -> None:
    """The double, rehearsed: its env holds the pod name, the loopback IP and the rounded limit."""
    resources = with_env(
        field("POD_NAME", "metadata.name"),
        field("POD_IP", "status.podIP"),
        resource("MEMORY_MI", "limits.memory", "1Mi"),
    )
    result = rehearse(
        Options(double, resources, "bundle", keep=True, stay_up=0.2, workdir=open_dir)
    )
    kept.append(result.sandbox)
    assert result.sandbox is not None
    seen = json.loads(
        (result.sandbox / "claims" / "pocket-id-data" / "double-env.json").read_text()
    )
    values = seen["values"]
    assert values["POD_NAME"].startswith("pocket-id-")
    assert (values["POD_IP"], values["MEMORY_MI"]) == ("127.0.0.1", "256")
    assert "3 fieldRef/resourceFieldRef variables played" in row(result.outcome.rows, "pod").detail
    assert statuses(result.outcome.rows)["start"] == "pass"


# --- tcpSocket and exec probes ---------------------------------------------------------------


def with_probe(kind: str, action: dict[str, Any]) -> list[Resource]:
    """The bundle with the probe ``kind`` doing ``action`` (its timing kept)."""

    def change(container: dict[str, Any]) -> None:
        probe = container[kind]
        probe.pop("httpGet")
        probe.update(action)

    return edited(change)


def test_a_tcp_socket_probe_connects_and_warns_it_proves_less(double: Path, open_dir: Path) -> None:
    """tcpSocket on the http port: every connect accepted; the row warns a connect proves less."""
    resources = with_probe("readinessProbe", {"tcpSocket": {"port": "http"}})
    result = rehearse(Options(double, resources, "bundle", stay_up=0.2, workdir=open_dir))
    probe = row(result.outcome.rows, "readinessProbe")
    assert probe.status is Status.WARN, probe
    assert probe.detail.startswith("TCP connect to port 1411 every 5 s")
    assert "connected" in probe.detail
    assert "not that start-up finished" in probe.detail


def test_a_tcp_socket_probe_on_a_closed_port_fails(double: Path, open_dir: Path) -> None:
    """tcpSocket on a port nothing listens on: the row fails, as every connect is refused."""
    resources = with_probe("livenessProbe", {"tcpSocket": {"port": 9999}})
    result = rehearse(Options(double, resources, "bundle", stay_up=0.2, workdir=open_dir))
    assert row(result.outcome.rows, "livenessProbe").status is Status.FAIL


def test_an_exec_probe_naming_the_program_runs_the_rehearsed_one(
    double: Path, open_dir: Path
) -> None:
    """exec /app/pocket-id healthcheck: the double's healthcheck runs in the container, exit 0."""
    resources = with_probe(
        "readinessProbe", {"exec": {"command": ["/app/pocket-id", "healthcheck"]}}
    )
    result = rehearse(Options(double, resources, "bundle", stay_up=0.2, workdir=open_dir))
    probe = row(result.outcome.rows, "readinessProbe")
    assert probe.detail.startswith("exec /app/pocket-id healthcheck every 5 s"), probe
    assert "exit 0" in probe.detail
    # v2.2.0's healthcheck exits 0 on any status: it passes but proves less
    assert probe.status is Status.WARN
    assert "before v2.8.0 exits 0 on any HTTP status" in probe.detail


@needs_root
def test_an_exec_probe_runs_as_the_pods_user_in_its_working_directory(
    double: Path, open_dir: Path
) -> None:
    """exec sh -c: uid 1000, and data/pocket-id.db found from the working directory /app."""
    check = 'test "$(id -u)" = 1000 && test -f data/pocket-id.db'
    resources = with_probe("readinessProbe", {"exec": {"command": ["/bin/sh", "-c", check]}})
    result = rehearse(Options(double, resources, "bundle", stay_up=0.2, workdir=open_dir))
    probe = row(result.outcome.rows, "readinessProbe")
    assert "exit 0" in probe.detail, probe
    assert "exit 1" not in probe.detail


def test_an_exec_probe_that_exits_non_zero_fails(double: Path, open_dir: Path) -> None:
    """exec false: every attempt exits 1, the row fails."""
    resources = with_probe("livenessProbe", {"exec": {"command": ["false"]}})
    result = rehearse(Options(double, resources, "bundle", stay_up=0.2, workdir=open_dir))
    probe = row(result.outcome.rows, "livenessProbe")
    assert probe.status is Status.FAIL
    assert "exit 1" in probe.detail


def test_an_exec_probe_of_another_program_is_noted_as_run_from_this_machine(
    double: Path, open_dir: Path
) -> None:
    """exec true with --binary: the notes say 'true' ran from this machine's file system."""
    resources = with_probe("livenessProbe", {"exec": {"command": ["true"]}})
    result = rehearse(Options(double, resources, "bundle", stay_up=0.2, workdir=open_dir))
    assert any(
        note.startswith("livenessProbe: true runs from this machine's file system")
        for note in result.notes
    ), result.notes


def _running(argv: str) -> list[int]:
    """The processes whose command line is ``argv`` (words joined by spaces)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").strip()
        except OSError:
            continue
        if line.decode(errors="replace") == argv:
            found.append(int(entry.name))
    return found


def test_what_an_exec_probe_starts_does_not_outlive_it(double: Path, open_dir: Path) -> None:
    """exec sh -c 'sleep N & exit 0': the sleep is ended with the attempt, none left after."""
    sleep = f"sleep {300 + uuid.uuid4().int % 10_000}.5"
    resources = with_probe(
        "livenessProbe", {"exec": {"command": ["/bin/sh", "-c", f"{sleep} & exit 0"]}}
    )
    result = rehearse(Options(double, resources, "bundle", stay_up=0.2, workdir=open_dir))
    assert "exit 0" in row(result.outcome.rows, "livenessProbe").detail
    assert _running(sleep) == []
    assert not [n for n in result.notes if "still ran after it ended" in n], result.notes


def test_an_exec_probe_runs_under_the_containers_limits(
    double: Path, open_dir: Path, kept: list[Path | None]
) -> None:
    """exec sh -c 'cat /proc/self/cgroup': the command is in the instance's memory cgroup."""
    from tests.test_rehearse_limits import needs_enforcement

    needs_enforcement(Wanted.of({"memory": "256Mi"}))
    check = "cat /proc/self/cgroup > data/probe-cgroup"
    resources = with_probe("livenessProbe", {"exec": {"command": ["/bin/sh", "-c", check]}})
    result = rehearse(
        Options(double, resources, "bundle", keep=True, stay_up=0.2, workdir=open_dir)
    )
    kept.append(result.sandbox)
    assert result.sandbox is not None
    seen = (result.sandbox / "claims" / "pocket-id-data" / "probe-cgroup").read_text()
    lines = [line.split(":", 2) for line in seen.splitlines()]
    v1 = [path for _, names, path in lines if "memory" in names.split(",")]
    memory = v1 or [path for number, _, path in lines if number == "0"]  # v2: one cgroup
    assert "/pocketid-rehearse-" in memory[0], seen


def test_a_grpc_probe_is_named_in_the_pod_row_as_not_played() -> None:
    """grpc readinessProbe: the pod says it is not played and counts as failed."""
    pod = pod_from(with_probe("readinessProbe", {"grpc": {"port": 1411}}))
    assert pod.probes["readinessProbe"].action == "grpc"
    assert any(s.startswith("readinessProbe: gRPC, not played") for s in pod.said)


def test_an_exec_probe_slower_than_its_timeout_fails(double: Path, open_dir: Path) -> None:
    """exec sleep 5 with timeout 1: killed after 1 s, a failure."""

    def change(container: dict[str, Any]) -> None:
        probe = container["livenessProbe"]
        probe.pop("httpGet")
        probe.update(exec={"command": ["sleep", "5"]}, timeoutSeconds=1)

    result = rehearse(Options(double, edited(change), "bundle", stay_up=0.2, workdir=open_dir))
    probe = row(result.outcome.rows, "livenessProbe")
    assert probe.status is Status.FAIL
    assert "still running after 1 s" in probe.detail


# --- subPath and subPathExpr -----------------------------------------------------------------


def with_mount(mount: dict[str, Any], volume: dict[str, Any] | None = None) -> list[Resource]:
    """The bundle with one more volumeMount (and volume)."""
    docs = [editable(r) for r in bundle()]
    spec = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]
    spec["containers"][0]["volumeMounts"].append(mount)
    if volume is not None:
        spec["volumes"].append(volume)
    return [Resource(d, "x.yaml") for d in docs]


CONFIG_MAP = {"name": "settings", "configMap": {"name": "pocket-id-config"}}


def test_a_sub_path_of_a_config_map_is_its_file_and_the_row_names_the_trap(
    double: Path, open_dir: Path, kept: list[Path | None]
) -> None:
    """subPath APP_URL of the ConfigMap at /app/app-url: the double reads that key's value."""
    result = _sub_path_rehearsal(double, open_dir, kept)
    assert result.sandbox is not None
    seen = json.loads(
        (result.sandbox / "claims" / "pocket-id-data" / "double-env.json").read_text()
    )
    assert seen["read"]["app-url"] == seen["values"]["APP_URL"]
    pod_row = row(result.outcome.rows, "pod").detail
    assert "/app/app-url is 'APP_URL' of volume 'settings'" in pod_row
    assert "never updated when the configMap changes" in pod_row


def _sub_path_rehearsal(double: Path, open_dir: Path, kept: list[Path | None]) -> Rehearsal:
    """The bundle with subPath APP_URL of the ConfigMap at /app/app-url, which the double reads
    (and readlinks) from its working directory /app; the sandbox kept."""
    resources = with_mount(
        {"name": "settings", "mountPath": "/app/app-url", "subPath": "APP_URL"}, CONFIG_MAP
    )
    for resource_ in resources:
        if resource_.kind == "Deployment":
            container = editable(resource_)["spec"]["template"]["spec"]["containers"][0]
            container.setdefault("env", []).append(
                {"name": "POCKET_ID_DOUBLE_READ", "value": "app-url"}
            )
    resources = [Resource(editable(r), "x.yaml") for r in resources]
    result = rehearse(
        Options(double, resources, "bundle", keep=True, stay_up=0.2, workdir=open_dir)
    )
    kept.append(result.sandbox)
    return result


def _seen(result: Rehearsal) -> dict[str, Any]:
    assert result.sandbox is not None
    seen: dict[str, Any] = json.loads(
        (result.sandbox / "claims" / "pocket-id-data" / "double-env.json").read_text()
    )
    return seen


def test_a_sub_path_is_a_bind_mount_where_the_mount_namespace_is_played(
    double: Path, open_dir: Path, kept: list[Path | None]
) -> None:
    """In the instance's mount namespace the subPath file is no link: readlink finds none."""
    if not ROOT_USER or mountns.available(str(open_dir)) is not None:
        pytest.skip("a mount namespace needs root and a kernel that allows one")
    result = _sub_path_rehearsal(double, open_dir, kept)
    seen = _seen(result)
    assert seen["links"] == {"app-url": ""}, seen
    assert seen["read"]["app-url"] == seen["values"]["APP_URL"]
    assert "subPath: bound onto its mount point in each instance's mount namespace" in (
        row(result.outcome.rows, "pod").detail
    )


def test_without_a_mount_namespace_the_sub_path_is_a_link_and_the_row_says_so(
    double: Path, open_dir: Path, kept: list[Path | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The namespace refused: the fallback link, which the pod row names with the reason."""
    monkeypatch.setattr(mountns, "available", lambda _folder: "refused here")
    result = _sub_path_rehearsal(double, open_dir, kept)
    assert _seen(result)["links"]["app-url"] != ""
    assert (
        "subPath: a symbolic link in the layer, not a bind mount (no mount namespace: "
        in row(result.outcome.rows, "pod").detail
    )


def test_a_missing_sub_path_folder_is_made_in_the_volume(tmp_path: Path) -> None:
    """subPath db/one of the emptyDir: the folder is made inside the volume and mounted."""
    from pocketid_k8s.rehearse.sandbox import Sandbox

    pod = pod_from(with_mount({"name": "tmp", "mountPath": "/app/cache", "subPath": "db/one"}))
    layout = Sandbox(tmp_path, pod, play_user=False).instance("pod-1")
    assert (
        layout.host("/app/cache") == tmp_path / "pods" / "pod-1" / "volumes" / "tmp" / "db" / "one"
    )
    assert layout.host("/app/cache").is_dir()


@pytest.mark.parametrize("sub_path", ["../claims", "/etc", "a/../../b"])
def test_a_sub_path_leaving_the_volume_is_refused(sub_path: str) -> None:
    """An absolute subPath or one with '..': bad input, as the API server refuses it."""
    refused = r"subPath (is an absolute path|has a .... part).*; fix: write"
    with pytest.raises(PodError, match=refused):
        pod_from(with_mount({"name": "tmp", "mountPath": "/app/x", "subPath": sub_path}))


def test_a_sub_path_expr_expands_from_the_containers_variables() -> None:
    """subPathExpr $(POD)/cache with POD a fieldRef: the pod's generated name, then /cache."""
    resources = with_mount(
        {"name": "tmp", "mountPath": "/app/cache", "subPathExpr": "$(POD)/cache"}
    )
    for resource_ in resources:
        if resource_.kind == "Deployment":
            container = editable(resource_)["spec"]["template"]["spec"]["containers"][0]
            container.setdefault("env", []).append(field("POD", "metadata.name"))
    pod = pod_from([Resource(editable(r), "x.yaml") for r in resources])
    mount = next(m for m in pod.mounts if m.path == "/app/cache")
    assert mount.sub_path == f"{pod.env['POD']}/cache"


def test_a_sub_path_expr_that_expands_out_of_the_volume_stops_the_container() -> None:
    """subPathExpr $(UP)/x with UP=..: the kubelet refuses to start it (the pod row fails)."""
    resources = with_mount({"name": "tmp", "mountPath": "/app/x", "subPathExpr": "$(UP)/x"})
    for resource_ in resources:
        if resource_.kind == "Deployment":
            container = editable(resource_)["spec"]["template"]["spec"]["containers"][0]
            container.setdefault("env", []).append({"name": "UP", "value": ".."})
    pod = pod_from([Resource(editable(r), "x.yaml") for r in resources])
    assert any("subPathExpr '$(UP)/x' ('../x') leaves the volume" in m for m in pod.missing)


# --- readOnlyRootFilesystem as a read-only mount ---------------------------------------------


def seen_by_double(result: Rehearsal) -> dict[str, Any]:
    assert result.sandbox is not None
    found: dict[str, Any] = json.loads(
        (result.sandbox / "claims" / "pocket-id-data" / "double-env.json").read_text()
    )
    return found


@needs_root
def test_a_write_outside_the_volumes_fails_with_erofs(
    double: Path, open_dir: Path, kept: list[Path | None]
) -> None:
    """readOnlyRootFilesystem: the double's write in /app fails with EROFS, as in the pod."""
    result = rehearse(Options(double, bundle(), "bundle", keep=True, stay_up=0.2, workdir=open_dir))
    kept.append(result.sandbox)
    assert seen_by_double(result)["root_write"] == "EROFS"
    assert (
        "the root is a read-only mount in a mount namespace"
        in row(result.outcome.rows, "pod").detail
    )


@needs_root
def test_the_volumes_stay_writable_under_the_read_only_root(
    double: Path, open_dir: Path, kept: list[Path | None]
) -> None:
    """Under the read-only root the data volume and the emptyDir /tmp take writes: all pass."""
    result = rehearse(Options(double, bundle(), "bundle", keep=True, stay_up=0.2, workdir=open_dir))
    kept.append(result.sandbox)
    got = statuses(result.outcome.rows)
    assert {v for k, v in got.items() if k != "kill"} == {"pass"}, result.outcome.rows


@needs_root
def test_where_no_mount_can_be_made_permissions_stand_in_and_the_row_says_so(
    double: Path, open_dir: Path, kept: list[Path | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kernel refuses (played): the write fails with EACCES, and the pod row says why."""
    from pocketid_k8s.rehearse import mountns

    monkeypatch.setattr(mountns, "available", lambda folder: "the kernel refused: played")
    result = rehearse(Options(double, bundle(), "bundle", keep=True, stay_up=0.2, workdir=open_dir))
    kept.append(result.sandbox)
    assert seen_by_double(result)["root_write"] == "EACCES"
    assert (
        "approximated with permissions (the kernel refused: played: no read-only mount)"
        in row(result.outcome.rows, "pod").detail
    )


def test_without_read_only_root_no_mount_is_read_only(
    double: Path, open_dir: Path, kept: list[Path | None]
) -> None:
    """readOnlyRootFilesystem false: no read-only mount; a write in /app meets only the layer's
    ownership (root's: EACCES for uid 1000; yours when not root: it succeeds)."""

    def change(container: dict[str, Any]) -> None:
        container["securityContext"]["readOnlyRootFilesystem"] = False

    result = rehearse(
        Options(double, edited(change), "bundle", keep=True, stay_up=0.2, workdir=open_dir)
    )
    kept.append(result.sandbox)
    assert "readOnlyRootFilesystem" not in row(result.outcome.rows, "pod").detail
    assert seen_by_double(result)["root_write"] == ("EACCES" if ROOT_USER else "ok")


@needs_root
def test_a_program_the_launcher_cannot_run_raises_as_popen_would(open_dir: Path) -> None:
    """A file that is not executable, through the launcher: OSError EACCES, no process left."""
    import errno
    import subprocess

    from pocketid_k8s.rehearse import mountns

    plain = open_dir / "not-a-program"
    plain.write_text("data")
    plain.chmod(0o644)
    started: list[subprocess.Popen[bytes]] = []

    def popen(argv: list[str], fds: tuple[int, ...]) -> subprocess.Popen[bytes]:
        started.append(subprocess.Popen(argv, pass_fds=fds, stderr=subprocess.DEVNULL))
        return started[-1]

    with pytest.raises(OSError, match="Permission denied") as caught:
        mountns.start(mountns.Plan(str(open_dir), str(open_dir)), [str(plain)], popen)
    assert caught.value.errno == errno.EACCES
    assert started[0].poll() is not None


# --- exec probes with an image -----------------------------------------------------------------


def image_exec_rehearsal(registry: str, command: list[str], folder: Path) -> Row:
    """The readinessProbe's row when it runs ``command`` and the program comes from the test
    double's image, pulled from the loopback registry."""
    from pocketid_k8s.rehearse.image import prepared
    from tests import registry as oci

    oci.push_double(registry, tag="v2.2.0-exec")
    resources = with_probe("readinessProbe", {"exec": {"command": command}})
    with prepared(
        f"{registry}/pocket-id/pocket-id:v2.2.0-exec", resources, workdir=folder
    ) as image:
        options = Options(
            image.program, resources, "image", stay_up=0.2, workdir=folder, image=image
        )
        return row(rehearse(options).outcome.rows, "readinessProbe")


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An image cache and Docker config of the test's own (never the user's)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))


@pytest.mark.usefixtures("own_cache")
def test_with_an_image_an_exec_command_is_found_in_the_image(
    crane_registry: str, open_dir: Path
) -> None:
    """exec /app/pocket-id healthcheck from the image: the image's program answers, exit 0."""
    probe = image_exec_rehearsal(crane_registry, ["/app/pocket-id", "healthcheck"], open_dir)
    assert "exit 0" in probe.detail, probe


@pytest.mark.usefixtures("own_cache")
def test_with_an_image_a_command_it_lacks_fails_as_in_the_container(
    crane_registry: str, open_dir: Path
) -> None:
    """exec true: the image has no 'true', so every attempt fails (never this machine's)."""
    probe = image_exec_rehearsal(crane_registry, ["true"], open_dir)
    assert probe.status is Status.FAIL, probe
    assert "No such file or directory" in probe.detail, probe


def test_without_root_the_read_only_root_is_named_as_not_played(
    double: Path, open_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not root (played when root): the pod row says the read-only root is not played, and why."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    result = rehearse(Options(double, bundle(), "bundle", stay_up=0.2, workdir=open_dir))
    detail = row(result.outcome.rows, "pod").detail
    assert "readOnlyRootFilesystem: not played (not root: no read-only mount" in detail
