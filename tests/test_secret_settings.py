"""[secret] settings: Pocket-ID's other secrets, sealed beside the encryption key and read
from their NAME_FILE, never plaintext in the bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from pocketid_k8s import sealing
from pocketid_k8s.bundle import build_bundle, dump_yaml, write_bundle
from pocketid_k8s.check import run_check
from pocketid_k8s.check.model import Resource, Severity
from pocketid_k8s.config import SECRET_MOUNT_PATH, Config, KeyDelivery
from pocketid_k8s.contract import sealed_secrets as ss
from pocketid_k8s.live.kube import Kube
from pocketid_k8s.live.preflight.context import Context
from pocketid_k8s.live.preflight.load import plan_from_config
from pocketid_k8s.live.preflight.sealed import scope
from pocketid_k8s.live.report import Row, Status
from pocketid_k8s.rehearse.pod import pod_from
from pocketid_k8s.render import Manifest, render
from pocketid_k8s.sealing import load_certificate
from tests.conftest import Controller, config_with

SETTINGS: dict[str, dict[str, object]] = {
    "secret": {"settings": ["SMTP_PASSWORD", "MAXMIND_LICENSE_KEY"]}
}


def objects(config: Config) -> dict[str, Manifest]:
    return dict(render(config))


def container(config: Config) -> dict[str, Any]:
    spec: dict[str, Any] = objects(config)["deployment.yaml"]["spec"]["template"]["spec"]
    containers: list[dict[str, Any]] = spec["containers"]
    return containers[0]


def secrets_volume(config: Config) -> dict[str, Any]:
    spec: dict[str, Any] = objects(config)["deployment.yaml"]["spec"]["template"]["spec"]
    (volume,) = [v for v in spec["volumes"] if v["name"] == "secrets"]
    found: dict[str, Any] = volume
    return found


def test_each_setting_is_read_from_its_file_in_the_secrets_folder() -> None:
    """NAME_FILE points at the setting's key in the read-only secrets folder, by name."""
    env = container(config_with(**SETTINGS))["env"]
    assert env[1:] == [
        {"name": "MAXMIND_LICENSE_KEY_FILE", "value": "/run/secrets/pocket-id/maxmind-license-key"},
        {"name": "SMTP_PASSWORD_FILE", "value": "/run/secrets/pocket-id/smtp-password"},
    ]


def test_the_secrets_volume_projects_each_settings_key() -> None:
    """The one Secret volume gives the encryption key and each setting its own file."""
    items = secrets_volume(config_with(**SETTINGS))["secret"]["items"]
    assert [item["key"] for item in items] == [
        "encryption-key",
        "maxmind-license-key",
        "smtp-password",
    ]


def test_settings_are_mounted_whatever_the_key_delivery() -> None:
    """With the key from a secretKeyRef, the settings still get the folder, the key not."""
    config = config_with(deployment={"key_delivery": KeyDelivery.ENV.value}, **SETTINGS)
    items = secrets_volume(config)["secret"]["items"]
    assert [item["key"] for item in items] == ["maxmind-license-key", "smtp-password"]
    mounts = container(config)["volumeMounts"]
    assert {"name": "secrets", "mountPath": "/run/secrets/pocket-id", "readOnly": True} in mounts


def test_the_placeholder_holds_a_placeholder_for_each_setting() -> None:
    """Until sealed, each setting's key is the undecryptable placeholder, so the pod waits."""
    data = objects(config_with(**SETTINGS))["sealedsecret.yaml"]["spec"]["encryptedData"]
    assert data == {
        "encryption-key": ss.PLACEHOLDER_VALUE,
        "maxmind-license-key": ss.PLACEHOLDER_VALUE,
        "smtp-password": ss.PLACEHOLDER_VALUE,
    }


def test_no_setting_no_change() -> None:
    """An empty [secret] settings renders exactly the bundle without it."""
    assert render(config_with(secret={"settings": []})) == render(Config())


def written(config: Config, root: Path) -> Path:
    """``config``'s bundle written under ``root``; the app folder."""
    write_bundle(build_bundle(config, root), root)
    return root / config.site.app_dir


def test_check_accepts_the_rendered_settings(tmp_path: Path) -> None:
    """check finds no error in a bundle with settings: each NAME_FILE has its file."""
    folder = written(config_with(**SETTINGS), tmp_path)
    report = run_check([str(folder)])
    errors = [f.rule for f in report.findings if f.severity is Severity.ERROR]
    assert errors == []


def test_check_names_a_setting_whose_file_no_volume_provides(tmp_path: Path) -> None:
    """A NAME_FILE without its key in the secrets volume is a pocketid/env-file error."""
    folder = written(config_with(**SETTINGS), tmp_path)
    deployment = folder / "deployment.yaml"
    text = deployment.read_text()
    item = "          - key: smtp-password\n            path: smtp-password\n"
    broken = text.replace(item, "")
    assert broken != text
    deployment.write_text(broken)
    report = run_check([str(folder)])
    assert "pocketid/env-file" in {f.rule for f in report.findings}


def test_rehearse_gives_each_sealed_setting_a_throwaway_file() -> None:
    """The rehearsed pod reads a random stand-in for each sealed setting, never a value."""
    pod = pod_from([Resource(doc, name) for name, doc in render(config_with(**SETTINGS))])
    (mount,) = [m for m in pod.mounts if m.path == SECRET_MOUNT_PATH]
    assert sorted(mount.files) == ["encryption-key", "maxmind-license-key", "smtp-password"]
    content, _ = mount.files["smtp-password"]
    assert len(content) == 43
    assert pod.env["SMTP_PASSWORD_FILE"] == f"{SECRET_MOUNT_PATH}/smtp-password"


def test_rehearse_refuses_a_sealed_database_connection_string() -> None:
    """A sealed DB_CONNECTION_STRING cannot be rehearsed: its throwaway stand-in would be a
    SQLite file name to Pocket-ID, not the database the cluster uses."""
    import pytest

    from pocketid_k8s.rehearse.database import refuse_postgres
    from pocketid_k8s.rehearse.pod import PodError

    config = config_with(secret={"settings": ["DB_CONNECTION_STRING"]})
    pod = pod_from([Resource(doc, name) for name, doc in render(config)])
    with pytest.raises(PodError, match=r"the database connection string \(the file "):
        refuse_postgres(pod.env, pod.mounts, pod.working_dir, pod.version, pod.stand_ins)


class _NoCluster:
    """Test double for the cluster client: the sealed-secret row never asks the cluster."""


def sealed_secret_row(config: Config, root: Path) -> Row:
    plan = plan_from_config(config, root)
    (row,) = scope(Context(cast(Kube, _NoCluster()), plan))
    return row


def test_preflight_fails_a_sealed_secret_without_a_setting(
    tmp_path: Path, controller: Controller
) -> None:
    """A sealed key without the setting's key: the row fails and names the seal --set fix."""
    config = config_with(**SETTINGS)
    folder = written(config, tmp_path)
    cert = load_certificate(controller.cert)
    sealed = sealing.sealed_secret(config, cert, b"k" * 32)
    (folder / "sealedsecret.yaml").write_text(sealing.SEALED_HEADER + dump_yaml([sealed]))
    row = sealed_secret_row(config, tmp_path)
    assert row.status is Status.FAIL
    assert row.detail == (
        "sealedsecret.yaml has no 'smtp-password' ([secret] settings SMTP_PASSWORD), "
        "'maxmind-license-key' ([secret] settings MAXMIND_LICENSE_KEY): the pod could not "
        "mount its secrets and would wait"
    )
    assert "seal --cert CERT.pem --set SMTP_PASSWORD --from-file FILE" in row.hint


def test_preflight_passes_a_sealed_secret_with_every_setting(
    tmp_path: Path, controller: Controller
) -> None:
    """Every setting sealed beside the key: the row passes."""
    config = config_with(**SETTINGS)
    folder = written(config, tmp_path)
    cert = load_certificate(controller.cert)
    sealed = sealing.sealed_secret(config, cert, b"k" * 32)
    for key in ("smtp-password", "maxmind-license-key"):
        sealed = sealing.with_setting(sealed, config, cert, key, b"value", sealing.Scope.STRICT)
    (folder / "sealedsecret.yaml").write_text(sealing.SEALED_HEADER + dump_yaml([sealed]))
    assert sealed_secret_row(config, tmp_path).status is Status.PASS


def test_a_sealed_database_string_warns_of_the_network_policy(tmp_path: Path) -> None:
    """A sealed DB_CONNECTION_STRING: the NetworkPolicy's ports need PostgreSQL's."""
    config = config_with(secret={"settings": ["DB_CONNECTION_STRING"]})
    assert build_bundle(config, tmp_path).warnings == [
        "[secret] settings: DB_CONNECTION_STRING is sealed, so render cannot see the database's "
        "port, and the NetworkPolicy lets the pod reach only TCP ports [443, 465, 587]; fix: "
        "add the PostgreSQL port (5432 unless yours differs) to [network_policy] egress_ports"
    ]


def test_the_postgres_port_in_the_policy_is_not_warned_about(tmp_path: Path) -> None:
    """With 5432 among the egress ports there is nothing to say."""
    config = config_with(
        secret={"settings": ["DB_CONNECTION_STRING"]},
        network_policy={"egress_ports": [443, 5432]},
    )
    assert build_bundle(config, tmp_path).warnings == []
