"""rehearse --from: manifests it must refuse as bad input (exit 2), never play or crash on."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pocketid_k8s.check.model import Resource
from pocketid_k8s.config import Config
from pocketid_k8s.rehearse.database import refuse_postgres
from pocketid_k8s.rehearse.pod import PodError, pod_from
from pocketid_k8s.rehearse.sandbox import Layout, Sandbox
from pocketid_k8s.render import render
from tests.conftest import ROOT

Docs = list[dict[str, Any]]


def docs() -> Docs:
    return [doc for _, doc in render(Config())]


def pod_spec(docs_: Docs) -> dict[str, Any]:
    deployment = next(d for d in docs_ if d["kind"] == "Deployment")
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


def container(docs_: Docs) -> dict[str, Any]:
    found: dict[str, Any] = pod_spec(docs_)["containers"][0]
    return found


def resources(docs_: Docs) -> list[Resource]:
    return [Resource(d, "x.yaml") for d in docs_]


def run_from(folder: Path, docs_: Docs, binary: str) -> subprocess.CompletedProcess[str]:
    (folder / "all.yaml").write_text(yaml.safe_dump_all(docs_))
    command = [sys.executable, "-m", "pocketid_k8s.cli", "rehearse"]
    return subprocess.run(
        [*command, "--from", str(folder), "--binary", binary],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


def with_secret(docs_: Docs, data: dict[str, str]) -> None:
    """The bundle's SealedSecret replaced by a plain Secret with ``data``."""
    docs_[:] = [d for d in docs_ if d["kind"] != "SealedSecret"]
    docs_.append(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "pocket-id-secrets", "namespace": "pocket-id"},
            "data": data,
        }
    )


# --- fault 1: paths that would reach outside the sandbox -----------------------------------------


def item_path(path: str) -> Callable[[Docs], None]:
    def change(docs_: Docs) -> None:
        volume = next(v for v in pod_spec(docs_)["volumes"] if v["name"] == "secrets")
        volume["secret"]["items"][0]["path"] = path

    return change


def mount_path(path: str) -> Callable[[Docs], None]:
    def change(docs_: Docs) -> None:
        container(docs_)["volumeMounts"][0]["mountPath"] = path

    return change


def working_dir(path: str) -> Callable[[Docs], None]:
    def change(docs_: Docs) -> None:
        container(docs_)["workingDir"] = path

    return change


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (item_path("../../../../tmp/x/ESCAPED"), "items[key='encryption-key'].path"),
        (item_path("/etc/ESCAPED"), "items[key='encryption-key'].path"),
        (item_path("a/../../ESCAPED"), "items[key='encryption-key'].path"),
        (mount_path("/app/../../../ESCAPED"), "mountPath"),
        (working_dir("/app/../../../ESCAPED"), "workingDir"),
    ],
)
def test_a_path_that_leaves_the_sandbox_is_refused(
    change: Callable[[Docs], None], field: str
) -> None:
    """An item path that is absolute or has '..', a mountPath or workingDir with '..': a
    PodError naming the object and the field, before anything is written."""
    changed = docs()
    change(changed)
    with pytest.raises(PodError) as caught:
        pod_from(resources(changed))
    assert "Deployment/pocket-id" in caught.value.message
    assert field in caught.value.message
    assert "fix: " in caught.value.message


def test_from_with_an_escaping_item_path_writes_nothing_outside(tmp_path: Path) -> None:
    """The reviewer's case, end to end: exit 2 and no file outside the sandbox."""
    escape = tmp_path / "outside"
    changed = docs()
    with_secret(changed, {"encryption-key": base64.b64encode(b"k" * 32).decode()})
    item_path(f"../../../../../../../../..{escape}/ESCAPED")(changed)
    folder = tmp_path / "m"
    folder.mkdir()
    result = run_from(folder, changed, sys.executable)
    assert result.returncode == 2, result.stderr
    assert "has a '..' part" in result.stderr
    assert not escape.exists()


def test_the_sandbox_refuses_a_target_outside_its_root(tmp_path: Path) -> None:
    """The backstop: a pod whose mounts slipped past the checks still writes nothing outside."""
    pod = pod_from(resources(docs()))
    secret = next(m for m in pod.mounts if m.source == "secret")
    secret.files["../../../../../../ESCAPED"] = (b"x", 0o644)
    root = tmp_path / "sandbox"
    root.mkdir()
    with pytest.raises(PodError, match="outside the rehearsal's sandbox"):
        Sandbox(root, pod, play_user=False).instance("p")
    assert list(tmp_path.rglob("ESCAPED")) == []


def test_a_container_path_with_dotdot_stays_at_the_root(tmp_path: Path) -> None:
    """As in the container, '/..' is '/': a variable's path never maps outside the sandbox."""
    layout: Layout = Sandbox(tmp_path, pod_from(resources(docs())), play_user=False).instance("p")
    assert layout.host("/../../../etc/x") == layout.rootfs / "etc" / "x"
    assert layout.host("/app/data/../../../etc") == layout.rootfs / "etc"


# --- fault 2: values that are not what the field holds --------------------------------------

SECRET_LOOKALIKE = "c2VjcmV0LXZhbHVl!!not-base64"


def replicas(value: object) -> Callable[[Docs], None]:
    def change(docs_: Docs) -> None:
        next(d for d in docs_ if d["kind"] == "Deployment")["spec"]["replicas"] = value

    return change


def grace(value: object) -> Callable[[Docs], None]:
    def change(docs_: Docs) -> None:
        pod_spec(docs_)["terminationGracePeriodSeconds"] = value

    return change


def probe_field(name: str, value: object) -> Callable[[Docs], None]:
    def change(docs_: Docs) -> None:
        container(docs_)["startupProbe"][name] = value

    return change


def volume_field(name: str, value: object) -> Callable[[Docs], None]:
    def change(docs_: Docs) -> None:
        volume = next(v for v in pod_spec(docs_)["volumes"] if v["name"] == "secrets")
        if name == "mode":
            volume["secret"]["items"][0]["mode"] = value
        else:
            volume["secret"][name] = value

    return change


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (probe_field("periodSeconds", "ten"), "startupProbe.periodSeconds is 'ten'"),
        (probe_field("timeoutSeconds", [1]), "startupProbe.timeoutSeconds is [1]"),
        (probe_field("failureThreshold", "3x"), "startupProbe.failureThreshold"),
        (probe_field("successThreshold", 1.5), "startupProbe.successThreshold"),
        (probe_field("initialDelaySeconds", True), "startupProbe.initialDelaySeconds"),
        (replicas("two"), "spec.replicas is 'two'"),
        (
            grace("30s"),
            "spec.template.spec.terminationGracePeriodSeconds is '30s'",
        ),
        (volume_field("defaultMode", "0440"), ".secret.defaultMode is '0440'"),
        (volume_field("mode", "rw"), ".secret.items[0].mode is 'rw'"),
    ],
)
def test_a_field_that_is_not_a_whole_number_is_bad_input(
    tmp_path: Path, change: Callable[[Docs], None], named: str
) -> None:
    """Exit 2 (not 70), naming the object, the field, and the fix."""
    changed = docs()
    change(changed)
    result = run_from(tmp_path, changed, sys.executable)
    assert result.returncode == 2, result.stderr
    assert "Deployment/pocket-id: " in result.stderr
    assert named in result.stderr
    assert f"not a whole number; fix: run 'pocketid-k8s check {tmp_path}'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("where", ["data", "binaryData"])
def test_invalid_base64_is_bad_input_and_never_quoted(tmp_path: Path, where: str) -> None:
    """A Secret's (or ConfigMap's) value that is not base64: exit 2, naming the object and the
    key, never the value."""
    changed = docs()
    with_secret(changed, {"encryption-key": base64.b64encode(b"k" * 32).decode()})
    holder = next(d for d in changed if d["kind"] == "Secret")
    if where == "binaryData":
        holder["kind"] = "ConfigMap"
        holder.pop("data")
        volume = next(v for v in pod_spec(changed)["volumes"] if v["name"] == "secrets")
        volume["configMap"] = {"name": "pocket-id-secrets"}
        volume.pop("secret")
    holder[where] = {"encryption-key": SECRET_LOOKALIKE}
    result = run_from(tmp_path, changed, sys.executable)
    assert result.returncode == 2, result.stderr
    kind = "ConfigMap" if where == "binaryData" else "Secret"
    assert (
        f"{kind}/pocket-id-secrets: {where} key 'encryption-key' is not valid base64; "
        f"fix: run 'pocketid-k8s check {tmp_path}'"
    ) in result.stderr
    assert "c2VjcmV0" not in result.stderr + result.stdout


# --- fault 3: a PostgreSQL database ------------------------------------------------------------

PASSWORD = "hunter2-not-a-real-one"


def db_env(name: str, value: str) -> Callable[[Docs], None]:
    def change(docs_: Docs) -> None:
        container(docs_)["env"].append({"name": name, "value": value})

    return change


def db_file(content: str) -> Callable[[Docs], None]:
    """The connection string in the Secret volume, named by DB_CONNECTION_STRING_FILE."""

    def change(docs_: Docs) -> None:
        key = base64.b64encode(b"k" * 32).decode()
        with_secret(
            docs_, {"encryption-key": key, "db": base64.b64encode(content.encode()).decode()}
        )
        volume = next(v for v in pod_spec(docs_)["volumes"] if v["name"] == "secrets")
        volume["secret"]["items"].append({"key": "db", "path": "db"})
        db_env("DB_CONNECTION_STRING_FILE", "/run/secrets/pocket-id/db")(docs_)

    return change


@pytest.fixture
def listener() -> Iterator[tuple[int, socket.socket]]:
    """A loopback port standing in for the PostgreSQL server: it records any connection."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        server.setblocking(False)
        yield server.getsockname()[1], server


def dialed(server: socket.socket) -> bool:
    try:
        server.accept()[0].close()
    except BlockingIOError:
        return False
    return True


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
@pytest.mark.parametrize("where", ["env", "file"])
def test_a_postgresql_database_is_refused_without_dialing_it(
    tmp_path: Path, listener: tuple[int, socket.socket], scheme: str, where: str
) -> None:
    """DB_CONNECTION_STRING (or the file its _FILE names) is PostgreSQL: exit 2 before the
    program starts, never showing the connection string. With POCKET_ID_BINARY set the real
    program is the one that would have dialed the stand-in server."""
    port, server = listener
    connection = f"{scheme}://pocket:{PASSWORD}@127.0.0.1:{port}/pocket?sslmode=disable"
    changed = docs()
    (db_env("DB_CONNECTION_STRING", connection) if where == "env" else db_file(connection + "\n"))(
        changed
    )
    binary = os.environ.get("POCKET_ID_BINARY") or sys.executable
    result = run_from(tmp_path, changed, binary)
    assert result.returncode == 2, result.stderr
    assert "rehearse plays SQLite only; the manifests point Pocket-ID at PostgreSQL" in (
        result.stderr
    )
    named = (
        "PostgreSQL: DB_CONNECTION_STRING starts with postgres://"
        if where == "env"
        else "PostgreSQL: the file /run/secrets/pocket-id/db that DB_CONNECTION_STRING_FILE names"
    )
    assert named in result.stderr
    assert "fix: " in result.stderr
    assert PASSWORD not in result.stderr + result.stdout
    assert not dialed(server)


def test_an_upper_case_scheme_is_a_sqlite_path_as_pocket_id_reads_it() -> None:
    """Pocket-ID's prefix test is case-sensitive (the contract): POSTGRES://... is a SQLite
    file name to it, so it is rehearsed, not refused."""
    changed = docs()
    db_env("DB_CONNECTION_STRING", "POSTGRES://u@db/pocket")(changed)
    pod = pod_from(resources(changed))
    refuse_postgres(pod.env, pod.mounts, pod.working_dir, pod.version)
