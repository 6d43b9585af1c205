"""rehearse: the pod model, the sandbox, the steps (against a test double), the refusal."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from pocketid_k8s.check.loader import load
from pocketid_k8s.check.model import Resource
from pocketid_k8s.config import Config, load_config
from pocketid_k8s.contract.pocketid import CHECKED_VERSION
from pocketid_k8s.live.report import Row, Status
from pocketid_k8s.rehearse import Options, rehearse
from pocketid_k8s.rehearse.paths import map_paths
from pocketid_k8s.rehearse.pod import pod_from
from pocketid_k8s.rehearse.sandbox import Sandbox
from pocketid_k8s.render import render
from tests.conftest import ROOT
from tests.pocket_id_double import write_double

SPEC_LITERAL = ROOT / "tests" / "fixtures" / "spec-literal"


def bundle() -> list[Resource]:
    return [Resource(doc, name) for name, doc in render(Config())]


def editable(resource: Resource) -> dict[str, Any]:
    """A resource's parsed document, for a test to change before building new Resources."""
    return cast("dict[str, Any]", resource.doc)


def literal() -> list[Resource]:
    return load([str(SPEC_LITERAL)]).resources


ROOT_USER = os.geteuid() == 0


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A folder any user can traverse (pytest's tmp_path is private to root), for the
    sandbox and the double when the program runs as the pod's user."""
    folder = Path(tempfile.mkdtemp(prefix="rehearse-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def kept() -> Iterator[list[Path | None]]:
    """The sandboxes a test keeps (--keep) to look into, removed after it: they are outside
    open_dir when the pod's user cannot enter it (a TMPDIR of mode 700)."""
    folders: list[Path | None] = []
    yield folders
    for folder in folders:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def world_runnable(path: Path) -> bool:
    """Whether any user can run ``path``: the file and every folder above it open to others."""
    real = path.resolve()
    folders_open = all(p.stat().st_mode & stat.S_IXOTH for p in real.parents)
    return folders_open and real.stat().st_mode & stat.S_IXOTH != 0


def interpreter() -> str:
    """A Python 3.11+ that the pod's user can run too (a pyenv under /root is not one)."""
    found = (shutil.which("python3.11"), shutil.which("python3"))
    for candidate in (sys.executable, *found, "/usr/local/bin/python3", "/usr/bin/python3"):
        if candidate and Path(candidate).exists() and world_runnable(Path(candidate)):
            version = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info >= (3, 11))"],
                capture_output=True,
                text=True,
                check=False,
            )
            if version.stdout.strip() == "True":
                return candidate
    pytest.skip("no Python 3.11 that another user can run, for the test double")


@pytest.fixture
def double(open_dir: Path) -> Path:
    """A self-contained copy of the Pocket-ID test double (tests/pocket_id_double.py)."""
    python = interpreter() if ROOT_USER else sys.executable
    return write_double(open_dir / "pocket-id-test-double", python)


def statuses(rows: list[Row]) -> dict[str, str]:
    return {row.check: row.status.value for row in rows}


# --- the pod ---------------------------------------------------------------------------------


def test_pod_env_is_the_kubelets() -> None:
    """The rendered pod: ConfigMap variables, then env; the key file path, no key in env."""
    pod = pod_from(bundle())
    assert pod.env["APP_URL"] == "https://auth.mulliken.net"
    assert pod.env["ENCRYPTION_KEY_FILE"] == "/run/secrets/pocket-id/encryption-key"
    assert "ENCRYPTION_KEY" not in pod.env
    assert pod.strategy == "Recreate"
    assert pod.grace_seconds == 30
    assert pod.missing == []


def test_sealed_secret_gets_a_throwaway_value_of_the_right_size() -> None:
    """The sealed key becomes a random 43-character file, mode 0440, and the run says so."""
    pod = pod_from(bundle())
    secret = next(m for m in pod.mounts if m.source == "secret")
    content, mode = secret.files["encryption-key"]
    assert len(content) == 43
    assert mode == 0o440
    assert pod.throwaway == ["SealedSecret pocket-id-secrets"]
    assert pod_from(bundle()).mounts[2].files["encryption-key"][0] != content


def test_spec_literal_env_skips_the_dashed_key() -> None:
    """envFrom of a Secret keyed 'encryption-key': no ENCRYPTION_KEY, and a note why."""
    pod = pod_from(literal())
    assert "ENCRYPTION_KEY" not in pod.env
    assert "encryption-key" not in pod.env
    assert any("'encryption-key' is not a variable name" in note for note in pod.notes)
    assert pod.strategy == "RollingUpdate"


def test_secret_key_ref_reads_a_plain_secret_and_reports_a_missing_one() -> None:
    """secretKeyRef to a plain Secret gives its value; to a missing one, a kubelet refusal."""
    docs = [editable(r) for r in bundle()]
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [
        {"name": "ENCRYPTION_KEY", "valueFrom": {"secretKeyRef": {"name": "plain", "key": "k"}}},
        {"name": "OTHER", "valueFrom": {"secretKeyRef": {"name": "gone", "key": "k"}}},
        {
            "name": "MAYBE",
            "valueFrom": {"secretKeyRef": {"name": "gone", "key": "k", "optional": True}},
        },
    ]
    plain = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "plain", "namespace": "pocket-id"},
        "stringData": {"k": "0123456789abcdef"},
    }
    pod = pod_from([Resource(d, "x.yaml") for d in [*docs, plain]])
    assert pod.env["ENCRYPTION_KEY"] == "0123456789abcdef"
    assert pod.secret_env == ["ENCRYPTION_KEY"]
    assert "MAYBE" not in pod.env
    assert pod.missing == ["OTHER: secretKeyRef gone/k does not exist"]


# --- the sandbox ---------------------------------------------------------------------------------


def test_sandbox_lays_out_mounts_and_wipes_the_layer(tmp_path: Path) -> None:
    """The PVC persists across instances; the layer and the emptyDir do not."""
    pod = pod_from(bundle())
    sandbox = Sandbox(tmp_path, pod, play_user=False)
    first = sandbox.instance("pod-1")
    assert first.cwd == first.rootfs / "app"
    assert (first.cwd / "data").resolve() == sandbox.claim("pocket-id-data").resolve()
    key = first.host("/run/secrets/pocket-id/encryption-key")
    assert stat.S_IMODE(key.stat().st_mode) == 0o440
    (first.cwd / "data" / "kept").write_text("x")
    (first.cwd / "layer-file").write_text("x")
    (first.host("/tmp") / "scratch").write_text("x")
    sandbox.wipe("pod-1")
    second = sandbox.instance("pod-2")
    assert (second.cwd / "data" / "kept").exists()
    assert not (second.cwd / "layer-file").exists()
    assert not (second.host("/tmp") / "scratch").exists()


def test_paths_in_variables_move_into_the_sandbox(tmp_path: Path) -> None:
    """Absolute paths and SQLite DSNs are mapped; relative ones and PostgreSQL stay."""
    layout = Sandbox(tmp_path, pod_from(bundle()), play_user=False).instance("p")
    env = {
        "DB_CONNECTION_STRING": "file:/app/data/pocket-id.db?_journal_mode=WAL",
        "UPLOAD_PATH": "data/uploads",
        "ENCRYPTION_KEY_FILE": "/run/secrets/pocket-id/encryption-key",
        "APP_URL": "https://auth.example.com",
    }
    mapped, moved = map_paths(env, layout, CHECKED_VERSION)
    assert mapped["DB_CONNECTION_STRING"] == (
        f"file:{layout.host('/app/data/pocket-id.db')}?_journal_mode=WAL"
    )
    assert mapped["UPLOAD_PATH"] == "data/uploads"
    assert mapped["ENCRYPTION_KEY_FILE"] == str(
        layout.host("/run/secrets/pocket-id/encryption-key")
    )
    assert mapped["APP_URL"] == env["APP_URL"]
    assert len(moved) == 2
    postgres = {"DB_CONNECTION_STRING": "postgres://u@db/pocket"}
    assert map_paths(postgres, layout, CHECKED_VERSION)[0] == postgres


# --- the steps, against the test double ----------------------------------------------------------


def test_rendered_bundle_rehearses_clean_with_the_double(
    double: Path, open_dir: Path, kept: list[Path | None]
) -> None:
    """Every step passes: probes on /healthz, key kept across restart, surge refused; the
    kill step is listed as skipped when not asked for (the command line's --no-kill)."""
    result = rehearse(Options(double, bundle(), "bundle", keep=True, stay_up=0.2, workdir=open_dir))
    kept.append(result.sandbox)
    got = statuses(result.outcome.rows)
    assert got["kill"] == "skip"
    assert {v for k, v in got.items() if k != "kill"} == {"pass"}, result.outcome.rows
    assert list(got) == [
        "pod",
        "start",
        "startupProbe",
        "readinessProbe",
        "livenessProbe",
        "oidc-discovery",
        "jwks",
        "shutdown",
        "restart",
        "surge",
        "kill",
        "resources",
    ]
    assert result.outcome.exit_code == 0
    assert result.sandbox is not None
    seen = json.loads(
        (result.sandbox / "claims" / "pocket-id-data" / "double-env.json").read_text()
    )
    assert seen["key_length"] == 43
    assert seen["values"]["ANALYTICS_DISABLED"] == "true"
    assert seen["values"]["HOST"] == "127.0.0.1"
    assert seen["values"]["PORT"] != "1411"
    assert seen["values"]["ENCRYPTION_KEY_FILE"].startswith(str(result.sandbox))
    assert "PATH" not in seen["names"]
    if ROOT_USER:
        assert seen["uid"] == 1000
        assert seen["groups"] == [1000]


def pod_with(**security: object) -> list[Resource]:
    """The bundle with the pod's securityContext replaced."""
    docs = [editable(r) for r in bundle()]
    spec = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]
    spec["securityContext"] = security
    spec["containers"][0]["securityContext"] = {}
    return [Resource(d, "x.yaml") for d in docs]


@pytest.mark.skipif(not ROOT_USER, reason="only root can run the program as the pod's user")
def test_sandbox_owns_volumes_as_the_kubelet_does(open_dir: Path) -> None:
    """fsGroup owns the claim (group rw, setgid) and the key file; emptyDir is 0777; the
    layer is root's."""
    layout = Sandbox(open_dir, pod_from(bundle())).instance("p")
    claim = layout.host("/app/data")
    assert claim.stat().st_gid == 1000
    assert stat.S_IMODE(claim.stat().st_mode) == 0o2775
    key = layout.host("/run/secrets/pocket-id/encryption-key")
    assert (key.stat().st_gid, stat.S_IMODE(key.stat().st_mode)) == (1000, 0o440)
    assert stat.S_IMODE(layout.host("/tmp").stat().st_mode) == 0o777
    assert (layout.cwd.stat().st_uid, stat.S_IMODE(layout.cwd.stat().st_mode)) == (0, 0o755)


@pytest.mark.skipif(not ROOT_USER, reason="only root can run the program as the pod's user")
def test_non_root_without_fs_group_cannot_write_a_fresh_volume(
    double: Path, open_dir: Path
) -> None:
    """runAsUser 1000 without fsGroup: the key file (0440) and the fresh volume stay root's,
    so the program cannot read its key; given the key, it cannot write its database."""
    resources = pod_with(runAsUser=1000, runAsGroup=1000, runAsNonRoot=True)
    result = rehearse(Options(double, resources, "x", stay_up=0.2, workdir=open_dir))
    start = next(row for row in result.outcome.rows if row.check == "start")
    assert start.status is Status.FAIL
    assert "Permission denied" in start.detail
    assert "secrets/encryption-key" in start.detail
    docs = [editable(r) for r in resources]
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [{"name": "ENCRYPTION_KEY", "value": "0123456789abcdef"}]
    given = [Resource(d, "x.yaml") for d in docs]
    result = rehearse(Options(double, given, "x", stay_up=0.2, workdir=open_dir))
    start = next(row for row in result.outcome.rows if row.check == "start")
    assert start.status is Status.FAIL
    assert "unable to open database file" in start.detail


@pytest.mark.skipif(not ROOT_USER, reason="only root can run the program as the pod's user")
def test_started_as_root_the_entrypoint_chowns_the_data_folder(
    double: Path, open_dir: Path, kept: list[Path | None]
) -> None:
    """No runAsUser: the image's entrypoint chowns /app/data and drops to 1000 (the key
    is given in the environment: without fsGroup the 0440 key file is root's)."""
    docs = [editable(r) for r in pod_with()]
    container = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"][
        "containers"
    ][0]
    container["env"] = [{"name": "ENCRYPTION_KEY", "value": "0123456789abcdef"}]
    resources = [Resource(d, "x.yaml") for d in docs]
    result = rehearse(Options(double, resources, "x", stay_up=0.2, workdir=open_dir, keep=True))
    kept.append(result.sandbox)
    assert result.outcome.status_of("restart") is Status.PASS
    assert result.sandbox is not None
    claim = result.sandbox / "claims" / "pocket-id-data"
    assert json.loads((claim / "double-env.json").read_text())["uid"] == 1000
    assert claim.stat().st_uid == 1000


def test_spec_literal_fails_the_predicted_steps(double: Path, open_dir: Path) -> None:
    """No key, probes on /health, data outside the volume, a surge that starts: each fails."""
    work = open_dir / "work"
    work.mkdir(mode=0o755)
    options = Options(double, literal(), "spec", stay_up=0.2, probe_window=0.5, workdir=work)
    result = rehearse(options)
    rows = {row.check: row for row in result.outcome.rows}
    assert rows["start"].status is Status.FAIL
    assert "ENCRYPTION_KEY must be at least 16 bytes long" in rows["start"].detail
    assert rows["start-with-key"].status is Status.PASS
    assert rows["readinessProbe"].status is Status.FAIL
    assert "/health is not a health route" in rows["readinessProbe"].detail
    assert rows["restart"].status is Status.FAIL
    assert "signing key changed" in rows["restart"].detail
    assert rows["restart"].hint == "mount the volume at /app/data"
    assert rows["readinessProbe"].hint == "probe /healthz (on the program's port)"
    assert rows["surge"].status is Status.FAIL
    assert "two programs run at once" in rows["surge"].detail
    assert result.outcome.exit_code == 1
    assert result.sandbox is None
    assert not any(work.iterdir())


def test_rolling_update_surge_is_refused_and_fails(double: Path, open_dir: Path) -> None:
    """With the data on the volume, the surge pod hits the lock: a RollingUpdate never ends."""
    docs = [editable(r) for r in bundle()]
    next(d for d in docs if d["kind"] == "Deployment")["spec"]["strategy"] = {
        "type": "RollingUpdate"
    }
    resources = [Resource(d, "x.yaml") for d in docs]
    result = rehearse(Options(double, resources, "x", stay_up=0.2, workdir=open_dir))
    surge = next(row for row in result.outcome.rows if row.check == "surge")
    assert surge.status is Status.FAIL
    assert "lock is already held by another process" in surge.detail
    assert "rollout never finishes" in surge.detail


def with_probe(kind: str, **timing: int) -> list[Resource]:
    """The bundle with ``timing`` (periodSeconds, failureThreshold...) set on one probe."""
    docs = [editable(r) for r in bundle()]
    container = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"][
        "containers"
    ][0]
    container[kind].update(timing)
    return [Resource(d, "x.yaml") for d in docs]


def test_the_ready_wait_is_the_manifests_startup_budget() -> None:
    """The rendered startupProbe allows 2 s x 60 = 120 s, not a fixed 60 s; a huge budget is
    capped and the cap is said; without a startup probe the liveness probe sets it."""
    from pocketid_k8s.rehearse.probes import READY_CAP, startup_budget

    budget = startup_budget(pod_from(bundle()).probes)
    assert budget.seconds == 120
    assert budget.describe() == (
        "120 s, the startupProbe's budget "
        "(initialDelaySeconds 0 + periodSeconds 2 x failureThreshold 60)"
    )
    huge = with_probe("startupProbe", initialDelaySeconds=30, failureThreshold=1000)
    budget = startup_budget(pod_from(huge).probes)
    assert budget.seconds == READY_CAP
    assert budget.describe().startswith(
        f"{READY_CAP:g} s, rehearse's cap (the startupProbe allows 2030 s: initialDelaySeconds 30"
    )
    docs = [editable(r) for r in bundle()]
    spec = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]
    del spec["containers"][0]["startupProbe"]
    budget = startup_budget(pod_from([Resource(d, "x.yaml") for d in docs]).probes)
    assert budget.seconds == 50  # livenessProbe: 10 s x 5
    assert "add a startupProbe on /healthz" in budget.hint()


def test_a_program_never_ready_fails_within_the_startup_budget_with_a_fix(
    open_dir: Path,
) -> None:
    """A program that never answers: the start row names the manifest's budget (1 s x 2) and
    the fix, instead of waiting a fixed 60 s."""
    program = open_dir / "never-ready"
    program.write_text("#!/bin/sh\necho 'starting, never listening'\nexec /bin/sleep 120\n")
    program.chmod(0o755)
    resources = with_probe("startupProbe", periodSeconds=1, failureThreshold=2)
    result = rehearse(Options(program, resources, "x", stay_up=0.2, workdir=open_dir))
    start = next(row for row in result.outcome.rows if row.check == "start")
    assert start.status is Status.FAIL
    assert start.detail == (
        "not ready within 2 s, the startupProbe's budget (initialDelaySeconds 0 + "
        "periodSeconds 1 x failureThreshold 2): starting, never listening"
    )
    assert start.hint == (
        "fix the start-up error shown; if start-up is only slow, raise the startupProbe's "
        "failureThreshold (the kubelet restarts the container after 2 s)"
    )


def test_probe_on_a_port_nothing_listens_on_fails(double: Path, open_dir: Path) -> None:
    """A probe port that is not the program's PORT is refused on every attempt."""
    docs = [editable(r) for r in bundle()]
    container = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"][
        "containers"
    ][0]
    container["livenessProbe"]["httpGet"]["port"] = 8080
    result = rehearse(
        Options(double, [Resource(d, "x") for d in docs], "x", stay_up=0.2, workdir=open_dir)
    )
    liveness = next(row for row in result.outcome.rows if row.check == "livenessProbe")
    assert liveness.status is Status.FAIL
    assert "port 8080 is not the port the program listens on (1411)" in liveness.detail


# --- the command line --------------------------------------------------------------------------


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pocketid_k8s.cli", "rehearse", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=ROOT,
    )


def test_without_a_binary_it_pulls_the_deployments_image(tmp_path: Path) -> None:
    """No --binary and no POCKET_ID_BINARY: the Deployment's image is pulled; an unreachable
    registry is exit 2 naming the image, and --binary as the other way."""
    image = "127.0.0.1:9/pocket-id/pocket-id:v2.2.0"
    site = tmp_path / "pocket-id.toml"
    site.write_text(
        (ROOT / "pocket-id.toml").read_text().replace("ghcr.io/pocket-id/pocket-id:v2.2.0", image)
    )
    result = run_cli("--config", str(site), env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 2
    assert f"image {image}: cannot reach 127.0.0.1:9 (ConnectError)" in result.stderr
    assert "or rehearse a downloaded release with --binary PATH" in result.stderr
    assert result.stdout == ""


def test_a_binary_that_is_not_there_is_bad_input(tmp_path: Path) -> None:
    """--binary naming nothing: exit 2 with the path."""
    result = run_cli("--binary", str(tmp_path / "nope"))
    assert result.returncode == 2
    assert f"--binary {tmp_path / 'nope'}: no such file" in result.stderr


def test_a_binary_that_is_a_folder_is_named_as_one(tmp_path: Path) -> None:
    result = run_cli("--binary", str(tmp_path))
    assert result.returncode == 2
    assert f"--binary {tmp_path}: a folder, not the program; fix: name the pocket-id" in (
        result.stderr
    )


def test_from_broken_yaml_says_what_is_wrong(tmp_path: Path) -> None:
    """--from a folder with broken YAML: the problem and its line, not only 'run check'."""
    (tmp_path / "d.yaml").write_text("apiVersion: v1\nkind: [\n")
    result = run_cli("--binary", sys.executable, "--from", str(tmp_path))
    assert result.returncode == 2
    assert f"--from {tmp_path}: unreadable manifests: {tmp_path / 'd.yaml'}: is not valid YAML" in (
        result.stderr
    )
    assert "(line 3); fix: run 'pocketid-k8s check" in result.stderr


def test_cli_json_on_the_rendered_bundle(double: Path) -> None:
    """--format json: verify's shape (checks with check, status, detail), figures, exit 0."""
    result = run_cli("--binary", str(double), "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    assert {"check", "status", "detail"} <= set(doc["checks"][0])
    assert doc["exit_code"] == 0
    assert {"ready_s", "k8s_ready_s", "peak_rss_mib", "wall_s"} <= set(doc["figures"])
    assert doc["sandbox"] is None


def test_cli_plain_text_when_piped(double: Path) -> None:
    """Piped output is plain columns, one row per step, then the summary."""
    result = run_cli("--binary", str(double))
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["check", "status", "time", "detail"]
    assert lines[1].startswith("pod ")
    assert "\x1b[" not in result.stdout
    site = load_config(ROOT / "pocket-id.toml")  # the repository's site: any user's values
    assert f"12 pass (rehearsal of {site.pocket_id.app_url})" in lines  # kill played too
    assert any(line.startswith("figures: ready_s ") for line in lines)


# --- the kubelet's probe schedule ---------------------------------------------------------------


def test_prober_starts_readiness_only_after_the_startup_probe_succeeds() -> None:
    """Startup probes until it passes; readiness and liveness begin only then."""
    import http.server
    import threading
    import time

    from pocketid_k8s.rehearse.pod import Probe
    from pocketid_k8s.rehearse.probes import Prober
    from pocketid_k8s.rehearse.process import free_port

    def probe(kind: str) -> Probe:
        return Probe(kind, "/healthz", 1411, 1, 1, 30, 1, 0)

    port = free_port()
    kinds = ("startupProbe", "readinessProbe", "livenessProbe")
    prober = Prober({k: probe(k) for k in kinds}, lambda _: port, time.monotonic())
    prober.start()
    while not prober.timeline["startupProbe"]:
        time.sleep(0.02)

    class Healthy(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            self.send_response(204)
            self.end_headers()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Healthy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        while prober.ready_at is None or not prober.timeline["livenessProbe"]:
            time.sleep(0.02)
    finally:
        prober.stop()
        server.shutdown()
        server.server_close()
    startup = prober.timeline["startupProbe"]
    assert not startup[0].result.ok
    assert "connection failed" in startup[0].result.error
    assert startup[-1].result.status == 204
    assert prober.started_at == startup[-1].at
    for kind in ("readinessProbe", "livenessProbe"):
        assert prober.timeline[kind][0].at >= startup[-1].at
        assert prober.timeline[kind][0].result.status == 204


@pytest.mark.skipif(not ROOT_USER, reason="only root can run the program as the pod's user")
def test_a_binary_in_a_folder_closed_to_the_pods_user_still_runs_as_it(
    tmp_path: Path, open_dir: Path
) -> None:
    """A binary in a folder closed to uid 1000 (issue 24): copied into the sandbox, it runs."""
    private = tmp_path / "closed"
    private.mkdir(mode=0o700)
    program = write_double(private / "pocket-id", interpreter())
    result = rehearse(Options(program, bundle(), "x", stay_up=0.2, workdir=open_dir))
    assert statuses(result.outcome.rows)["start"] == "pass", result.outcome.rows


def test_manifests_without_pocket_id_are_bad_input(tmp_path: Path, double: Path) -> None:
    """--from a folder with no Pocket-ID container: exit 2, naming the image it looks for."""
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
    result = run_cli("--from", str(tmp_path), "--binary", str(double))
    assert result.returncode == 2
    assert (
        f"--from {tmp_path}: no Pocket-ID container (image ghcr.io/pocket-id/pocket-id:v2.2.0"
        in (result.stderr)
    )
    assert "fix: point --from at the folder that holds its Deployment" in result.stderr


def test_from_an_empty_folder_names_it_and_the_fix(tmp_path: Path, double: Path) -> None:
    """--from a folder with no manifests: exit 2, naming the folder, what is missing, the fix."""
    result = run_cli("--from", str(tmp_path), "--binary", str(double))
    assert result.returncode == 2
    assert f"--from {tmp_path}: no .yaml or .yml file there" in result.stderr
    assert "fix: point --from at the folder of manifests" in result.stderr
    (tmp_path / "empty.yaml").write_text("# nothing\n")
    result = run_cli("--from", str(tmp_path), "--binary", str(double))
    assert result.returncode == 2
    assert f"--from {tmp_path}: no Kubernetes object there" in result.stderr


def test_the_throwaway_key_never_reaches_the_output(double: Path) -> None:
    """The sealed key's stand-in is in the sandbox's Secret file, never in the report."""
    result = run_cli("--binary", str(double), "--format", "json", "--keep")
    doc = json.loads(result.stdout)
    sandbox = Path(doc["sandbox"])
    try:
        keys = list(sandbox.glob("pods/*/volumes/secrets/encryption-key"))
        assert keys
        for key in keys:
            assert key.read_text() not in result.stdout + result.stderr
    finally:
        shutil.rmtree(sandbox)


def test_a_program_printing_flat_out_costs_a_bounded_log(tmp_path: Path) -> None:
    """12 MiB of output: the file keeps the first 8 MiB, says it was truncated, and ends with
    the last line; what is read back is at most the last MiB, ending with that line."""
    from pocketid_k8s.rehearse.log import LOG_CAP_BYTES, LOG_TAIL_BYTES
    from pocketid_k8s.rehearse.process import Instance

    program = tmp_path / "chatty"
    program.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "line = b'first line\\n' + b'x' * 1012 + b'\\n'\n"
        "for _ in range(12 * 1024):\n"
        "    sys.stdout.buffer.write(line)\n"
        "sys.stdout.buffer.write(b'the last line\\n')\n"
    )
    program.chmod(0o755)
    log = tmp_path / "chatty.log"
    instance = Instance(program, {}, tmp_path, log)
    assert instance.wait(120) == 0
    instance.stop(1.0)
    size = log.stat().st_size
    assert LOG_CAP_BYTES < size <= LOG_CAP_BYTES + LOG_TAIL_BYTES + 200
    data = log.read_bytes()
    assert data.startswith(b"first line\n")
    assert b"[rehearse: log truncated: " in data[LOG_CAP_BYTES : LOG_CAP_BYTES + 200]
    assert data.endswith(b"x\nthe last line\n")
    text = instance.log_text()
    assert len(text) <= LOG_TAIL_BYTES
    assert text.endswith("the last line\n")
    assert text.startswith("first line\n")  # a cut first line is dropped
    assert instance.log.dropped == 12 * 1024 * 1024 + 14 - LOG_CAP_BYTES
