"""``upgrade --to TAG``: the contract diff, the re-rendered bundle and its check, and the upgrade
rehearsed against a real registry on loopback (crane) holding two images of the TEST DOUBLE
(tests/pocket_id_double.py) tagged as two versions, never Pocket-ID itself."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from pocketid_k8s.rehearse.upgrade import (
    UpgradeError,
    behaviour_changes,
    env_changes,
    target_image,
)
from tests import registry as oci
from tests.conftest import skip_or_fail
from tests.pocket_id_double import write_double

ROOT = Path(__file__).resolve().parents[1]
REPOSITORY = "pocket-id/pocket-id"


def push_version(address: str, tag: str, schema: int | None, *env: str) -> str:
    """The test double's image under ``tag``; with ``schema`` it plays migrations; ``env``
    adds to the image's Env."""
    config = oci.double_config()
    config["config"]["Env"].extend(env)
    if schema is not None:
        config["config"]["Env"].append(f"POCKET_ID_DOUBLE_SCHEMA={schema}")
    digest, _ = oci.push_image(
        address, REPOSITORY, tag, [(oci.gz(oci.double_layer()), oci.LAYER_GZIP)], config
    )
    return digest


@pytest.fixture(scope="module")
def crane_registry() -> Iterator[str]:
    """A real OCI registry (crane registry serve, pinned) with the double as v2.2.0 (schema 1)
    and v2.8.0 (schema 2)."""
    if oci.crane() is None:
        skip_or_fail(f"crane {oci.CRANE_VERSION} is not built; run 'make peers'")
    with oci.serve() as address:
        push_version(address, "v2.2.0", 1)
        push_version(address, "v2.8.0", 2)
        yield address


@pytest.fixture
def site(tmp_path: Path, crane_registry: str) -> Iterator[Path]:
    """A site config whose image is the double's v2.2.0 in the loopback registry, in a folder
    any user can traverse; its own image cache and no Docker config."""
    folder = Path(tempfile.mkdtemp(prefix="upgrade-test-"))
    folder.chmod(0o755)
    config = folder / "pocket-id.toml"
    config.write_text(
        (ROOT / "pocket-id.toml")
        .read_text()
        .replace("ghcr.io/pocket-id/pocket-id:v2.2.0", f"{crane_registry}/{REPOSITORY}:v2.2.0")
    )
    yield config
    shutil.rmtree(folder, ignore_errors=True)


def upgrade_cli(*args: str, cwd: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "POCKET_ID_BINARY"}
    env["XDG_CACHE_HOME"] = str(tmp / "cache")
    env["DOCKER_CONFIG"] = str(tmp / "docker")
    return subprocess.run(
        [sys.executable, "-m", "pocketid_k8s.cli", "upgrade", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=cwd,
        timeout=120,
    )


def statuses(doc: dict[str, object]) -> dict[str, str]:
    checks = doc["checks"]
    assert isinstance(checks, list)
    return {c["check"]: c["status"] for c in checks}


def detail(doc: dict[str, object], check: str) -> str:
    checks = doc["checks"]
    assert isinstance(checks, list)
    return str(next(c["detail"] for c in checks if c["check"] == check))


# --- the contract diff ---------------------------------------------------------------------


def test_target_image_replaces_tag_and_digest() -> None:
    """The registry's port stays; the tag and a digest are replaced by TAG."""
    pinned = "localhost:5000/pocket-id/pocket-id:v2.2.0@sha256:" + "a" * 64
    assert target_image(pinned, "v2.8.0") == "localhost:5000/pocket-id/pocket-id:v2.8.0"
    assert target_image("localhost:5000/pocket-id/pocket-id", "v2") == (
        "localhost:5000/pocket-id/pocket-id:v2"
    )


def test_a_malformed_tag_is_refused_with_the_fix() -> None:
    """A TAG with a slash is not a tag: the message names it and shows the form."""
    with pytest.raises(UpgradeError, match=r"--to 'v2/8': not an image tag.*fix: .*--to v2\.8\.0"):
        target_image("ghcr.io/pocket-id/pocket-id:v2.2.0", "v2/8")


def test_a_variable_the_site_sets_that_changes_parser_is_named() -> None:
    """TRUST_PROXY becomes a boolean-or-list in v2.11.0: the diff says it is parsed differently."""
    changes, _ = env_changes({"TRUST_PROXY"}, (2, 2, 0), (2, 11, 0))
    assert changes == [
        "TRUST_PROXY is parsed differently: bool -> bool-or-ip-list (true trusts every sender's "
        "X-Forwarded-For, or a comma list of addresses and CIDRs)"
    ]


def test_a_renamed_variable_is_found_from_the_table_rows() -> None:
    """SIGNUP_DEFAULT_USER_GROUP_I_DS ends where ..._IDS starts (v2.14.0): a rename."""
    changes, _ = env_changes({"SIGNUP_DEFAULT_USER_GROUP_I_DS"}, (2, 2, 0), (2, 14, 0))
    assert changes == ["SIGNUP_DEFAULT_USER_GROUP_I_DS renamed to SIGNUP_DEFAULT_USER_GROUP_IDS"]


def test_a_removed_variable_the_site_sets_is_named() -> None:
    """METRICS_ENABLED is no longer read from v2.10.0."""
    changes, _ = env_changes({"METRICS_ENABLED"}, (2, 2, 0), (2, 10, 0))
    assert changes == ["METRICS_ENABLED is no longer read"]


def test_a_default_that_changes_for_an_unset_variable_is_listed() -> None:
    """OTEL_TRACES_EXPORTER's default goes from otlp to none at v2.10.0."""
    _, defaults = env_changes(set(), (2, 2, 0), (2, 10, 0))
    assert "OTEL_TRACES_EXPORTER otlp -> none" in defaults


def test_the_lock_change_is_a_behaviour_change() -> None:
    """v2.11 -> v2.12: the database lock gives way to one actor host, with its restart window."""
    found = behaviour_changes((2, 11, 0), (2, 12, 0))
    lock = [f for f in found if f.startswith("from v2.12.0: the database lock is gone")]
    assert len(lock) == 1
    assert "may be refused for up to 90 s" in lock[0]


# --- the rehearsal, through the command line --------------------------------------------------


def test_upgrade_keeps_the_signing_key_and_shows_the_rollback_refused(
    site: Path, tmp_path: Path
) -> None:
    """v2.2.0 -> v2.8.0 of the double: the new image migrates the volume, keeps the key; the old
    image on migrated data is refused without ALLOW_DOWNGRADE (a warning), exit 0."""
    result = upgrade_cli(
        "--to", "v2.8.0", "--config", str(site), "--format", "json", cwd=site.parent, tmp=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    seen = statuses(doc)
    assert seen["upgrade"] == "pass"
    assert "signing key kept" in detail(doc, "upgrade")
    assert "migrated the database from schema 1 to 2" in detail(doc, "upgrade")
    assert seen["rollback"] == "warn"
    assert "set ALLOW_DOWNGRADE=true" in detail(doc, "rollback")
    assert seen["check"] == "pass"


@pytest.mark.skipif(os.geteuid() != 0, reason="a network namespace of its own needs root here")
def test_upgrade_runs_both_images_in_a_loopback_only_namespace(
    crane_registry: str, site: Path, tmp_path: Path
) -> None:
    """Images of the double that serve only where the network holds nothing but lo (v2.3.0 ->
    v2.4.0): both start, the upgrade passes, and the notes say where they ran."""
    loopback_only = "POCKET_ID_DOUBLE_LOOPBACK_ONLY=true"
    push_version(crane_registry, "v2.3.0", 1, loopback_only)
    push_version(crane_registry, "v2.4.0", 2, loopback_only)
    site.write_text(site.read_text().replace(f"{REPOSITORY}:v2.2.0", f"{REPOSITORY}:v2.3.0"))
    result = upgrade_cli(
        "--to", "v2.4.0", "--config", str(site), "--format", "json", cwd=site.parent, tmp=tmp_path
    )
    doc = json.loads(result.stdout)
    seen = statuses(doc)
    assert seen["old-start"] == "pass", result.stdout
    assert seen["upgrade"] == "pass", result.stdout
    assert any("a namespace of its own holding only loopback" in n for n in doc["notes"])


@pytest.mark.skipif(os.geteuid() != 0, reason="a read-only root mount needs root")
def test_upgrade_plays_the_read_only_root_as_a_mount_as_rehearse_does(
    site: Path, tmp_path: Path
) -> None:
    """The bundle's readOnlyRootFilesystem: upgrade mounts the root read-only and says so."""
    result = upgrade_cli(
        "--to", "v2.8.0", "--config", str(site), "--format", "json", cwd=site.parent, tmp=tmp_path
    )
    doc = json.loads(result.stdout)
    assert statuses(doc)["upgrade"] == "pass", result.stdout
    played = [n for n in doc["notes"] if n.startswith("the pod as rehearse plays it: ")]
    assert played, doc["notes"]
    assert (
        "readOnlyRootFilesystem: the root is a read-only mount in a mount namespace" in (played[0])
    )


def test_upgrade_says_how_the_limits_are_held_as_rehearse_does(site: Path, tmp_path: Path) -> None:
    """The notes carry the pod row's words on the limits (enforced, or compared and why)."""
    from pocketid_k8s.rehearse.limits import Wanted, support

    result = upgrade_cli(
        "--to", "v2.8.0", "--config", str(site), "--format", "json", cwd=site.parent, tmp=tmp_path
    )
    doc = json.loads(result.stdout)
    played = next(n for n in doc["notes"] if n.startswith("the pod as rehearse plays it: "))
    limits = {"memory": "256Mi", "cpu": "250m"}  # the limits of pocket-id.toml
    assert played.endswith(support(Wanted.of(limits))), played


def test_upgrade_without_write_changes_no_file(site: Path, tmp_path: Path) -> None:
    """Without --write the bundle's diff is printed and no file is written."""
    before = sorted(p.name for p in site.parent.iterdir())
    result = upgrade_cli("--to", "v2.8.0", "--config", str(site), cwd=site.parent, tmp=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "+        image: " in result.stdout
    assert sorted(p.name for p in site.parent.iterdir()) == before


def test_upgrade_write_writes_the_bundle_with_the_new_tag(site: Path, tmp_path: Path) -> None:
    """--write: the Deployment under the app folder names TAG."""
    result = upgrade_cli(
        "--to", "v2.8.0", "--config", str(site), "--write", cwd=site.parent, tmp=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    deployment = next(site.parent.rglob("deployment.yaml")).read_text()
    assert "/pocket-id/pocket-id:v2.8.0" in deployment


def test_upgrade_to_a_tag_the_registry_lacks_exits_2(site: Path, tmp_path: Path) -> None:
    """--to a missing tag: exit 2, the image named, no traceback."""
    result = upgrade_cli("--to", "v2.9.9", "--config", str(site), cwd=site.parent, tmp=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "v2.9.9: no such manifest" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_upgrade_that_loses_the_data_fails(
    crane_registry: str, site: Path, tmp_path: Path
) -> None:
    """A new image whose double keeps its database off the volume loses the key: exit 1."""
    push_version(crane_registry, "v2.9.0", 2, "DB_CONNECTION_STRING=/tmp/elsewhere.db")
    result = upgrade_cli(
        "--to", "v2.9.0", "--config", str(site), "--format", "json", cwd=site.parent, tmp=tmp_path
    )
    assert result.returncode == 1, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    assert statuses(doc)["upgrade"] == "fail"
    assert "signing key changed" in detail(doc, "upgrade")


def test_upgrade_to_latest_is_refused_by_the_configs_own_rule(site: Path, tmp_path: Path) -> None:
    """--to latest: the config refuses a moving tag (exit 2, the fix named); once exit 70."""
    result = upgrade_cli("--to", "latest", "--config", str(site), cwd=site.parent, tmp=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--to latest: [pocket_id] image:" in result.stderr
    assert "uses the moving tag 'latest'" in result.stderr


def test_upgrade_to_the_running_tag_exits_2(site: Path, tmp_path: Path) -> None:
    """--to the tag the container already runs: nothing to upgrade, exit 2 with the fix."""
    result = upgrade_cli("--to", "v2.2.0", "--config", str(site), cwd=site.parent, tmp=tmp_path)
    assert result.returncode == 2
    assert "already runs" in result.stderr
    assert "fix: name a newer tag" in result.stderr


def test_write_with_from_is_refused(site: Path, tmp_path: Path) -> None:
    """--write re-renders from the config, so --from with --write is exit 2, nothing written."""
    result = upgrade_cli(
        "--to", "v2.8.0", "--from", str(site.parent), "--write", cwd=site.parent, tmp=tmp_path
    )
    assert result.returncode == 2
    assert "--write re-renders the bundle from the config" in result.stderr


def _rendered(site: Path) -> Path:
    """The site rendered beside its config: the Deployment's file."""
    rendered = subprocess.run(
        [sys.executable, "-m", "pocketid_k8s.cli", "render", "--config", str(site)],
        capture_output=True,
        text=True,
        check=False,
        cwd=site.parent,
    )
    assert rendered.returncode == 0, rendered.stderr
    return next(site.parent.rglob("deployment.yaml"))


def test_upgrade_from_manifests_rehearses_them_with_the_new_image(
    site: Path, tmp_path: Path
) -> None:
    """--from DIR: no render (a skip row), and the upgrade runs on those manifests."""
    app = _rendered(site).parent
    result = upgrade_cli(
        "--to", "v2.8.0", "--from", str(app), "--format", "json", cwd=site.parent, tmp=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    seen = statuses(json.loads(result.stdout))
    assert (seen["render"], seen["upgrade"]) == ("skip", "pass")


def test_upgrade_runs_the_pods_exec_readiness_probe_as_rehearse_does(
    site: Path, tmp_path: Path
) -> None:
    """--from manifests whose readinessProbe is exec false: never Ready, so the upgrade fails."""
    deployment = _rendered(site)
    doc = yaml.safe_load(deployment.read_text())
    container = doc["spec"]["template"]["spec"]["containers"][0]
    container["readinessProbe"] = {"exec": {"command": ["false"]}, "periodSeconds": 1}
    deployment.write_text(yaml.safe_dump(doc))
    result = upgrade_cli(
        "--to",
        "v2.8.0",
        "--from",
        str(deployment.parent),
        "--format",
        "json",
        cwd=site.parent,
        tmp=tmp_path,
    )
    doc = json.loads(result.stdout)
    assert statuses(doc)["upgrade"] == "fail", result.stdout
    assert "its readiness probe never passed" in detail(doc, "upgrade")


def test_an_image_pinned_by_digest_stays_pinned(
    crane_registry: str, site: Path, tmp_path: Path
) -> None:
    """A current image pinned by digest: TAG is pinned to the digest the registry serves."""
    wanted = push_version(crane_registry, "v2.8.0", 2)
    old = push_version(crane_registry, "v2.2.0", 1)
    image = f"{crane_registry}/{REPOSITORY}:v2.2.0"
    site.write_text(site.read_text().replace(image, f"{image}@{old}"))
    result = upgrade_cli(
        "--to", "v2.8.0", "--config", str(site), "--format", "json", cwd=site.parent, tmp=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["to_image"] == f"{crane_registry}/{REPOSITORY}:v2.8.0@{wanted}"


def test_could_not_run_still_prints_json(site: Path, tmp_path: Path) -> None:
    """--format json and exit 2: stdout is the report with 'stopped' saying why."""
    result = upgrade_cli(
        "--to", "v2.9.9", "--config", str(site), "--format", "json", cwd=site.parent, tmp=tmp_path
    )
    assert result.returncode == 2
    assert "no such manifest" in json.loads(result.stdout)["stopped"]


REAL = os.environ.get("POCKET_ID_UPGRADE", "")
"""On demand: 'REGISTRY/pocket-id/pocket-id:OLD NEW' names real Pocket-ID images (never in CI)."""


@pytest.mark.real_pocket_id
@pytest.mark.skipif(len(REAL.split()) != 2, reason="POCKET_ID_UPGRADE is not 'IMAGE:OLD NEW'")
def test_real_upgrade_with_login_keeps_passkey_user_client_and_key(tmp_path: Path) -> None:
    """Real images: the passkey, the user, the OIDC client and the signing key survive."""
    image, tag = REAL.split()
    folder = Path(tempfile.mkdtemp(prefix="upgrade-real-"))
    folder.chmod(0o755)
    config = folder / "pocket-id.toml"
    config.write_text(
        (ROOT / "pocket-id.toml").read_text().replace("ghcr.io/pocket-id/pocket-id:v2.2.0", image)
    )
    try:
        result = upgrade_cli(
            "--to", tag, "--config", str(config), "--login", "--format", "json",
            cwd=folder, tmp=tmp_path,
        )  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    assert "the same passkey signs in, the user still exists" in detail(doc, "upgrade")
    assert "the OIDC client completes the code flow" in detail(doc, "upgrade")
    assert "signing key kept" in detail(doc, "upgrade")


def test_a_key_from_the_environment_is_the_same_for_both_images(site: Path, tmp_path: Path) -> None:
    """key_delivery env: the sealed key's throwaway stand-in is the same before and after (the
    double refuses another key, as Pocket-ID cannot decrypt with one)."""
    text = site.read_text()
    site.write_text(text.replace('key_delivery = "file"', 'key_delivery = "env"'))
    assert site.read_text() != text
    result = upgrade_cli(
        "--to", "v2.8.0", "--config", str(site), "--format", "json", cwd=site.parent, tmp=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert statuses(json.loads(result.stdout))["upgrade"] == "pass"


def test_a_moving_tag_compares_no_facts(crane_registry: str, site: Path, tmp_path: Path) -> None:
    """--to v2.8 (a minor line, not a release): a 'changes' warning instead of a diff."""
    push_version(crane_registry, "v2.8", 2)
    result = upgrade_cli(
        "--to", "v2.8", "--config", str(site), "--format", "json", cwd=site.parent, tmp=tmp_path
    )
    doc = json.loads(result.stdout)
    assert statuses(doc)["changes"] == "warn"
    assert "TAG names no single release" in detail(doc, "changes")
    assert "changes-env" not in statuses(doc)


def test_a_major_line_is_refused(crane_registry: str, site: Path, tmp_path: Path) -> None:
    """--to v2 follows every minor release: refused as the config refuses it (exit 2)."""
    result = upgrade_cli(
        "--to", "v2", "--config", str(site), "--format", "json", cwd=site.parent, tmp=tmp_path
    )
    doc = json.loads(result.stdout)
    assert result.returncode == 2
    assert "moving tag 'v2'" in doc["stopped"]


def test_an_upgrade_that_was_killed_is_cleaned_up_by_the_next_run(
    site: Path, tmp_path: Path
) -> None:
    """SIGKILL to pocketid-k8s upgrade while the old image runs: its folder, both unpacked
    images and the program are left; the next rehearse removes them all (they were never
    swept: the upgrade's folder and the images' were not owned)."""
    from tests.test_rehearse_process import leftovers, python

    tmp = Path(tempfile.mkdtemp(prefix="upgrade-killed-"))
    tmp.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "POCKET_ID_BINARY"}
    env.update(TMPDIR=str(tmp), XDG_CACHE_HOME=str(tmp_path / "cache"))
    env["DOCKER_CONFIG"] = str(tmp_path / "docker")
    cli = [sys.executable, "-m", "pocketid_k8s.cli"]
    try:
        first = subprocess.Popen(
            [*cli, "upgrade", "--to", "v2.8.0", "--config", str(site)],
            env=env,
            cwd=site.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def programs() -> list[str]:
            return [p for p in leftovers(str(tmp)) if "/app/pocket-id" in p]

        deadline = time.monotonic() + 60
        while not programs() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert programs(), "the old image never started"
        first.kill()
        first.wait()
        assert len(list(tmp.iterdir())) == 3  # the upgrade's folder and both images'
        env["POCKET_ID_BINARY"] = str(write_double(tmp / "good", python()))
        second = subprocess.run(
            [*cli, "rehearse", "--no-kill", "--format", "json", "--config", str(site)],
            env=env,
            cwd=site.parent,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert "removed 3 sandbox(es) left in" in second.stdout, second.stdout + second.stderr
        assert [p.name for p in tmp.iterdir()] == ["good"]
        assert leftovers(str(tmp)) == []
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
