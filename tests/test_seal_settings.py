"""`pocketid-k8s seal --set NAME`: one secret setting sealed beside the encryption key,
which stays as it was; the value never shows."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pocketid_k8s.sealing import Scope
from tests.conftest import Controller
from tests.oracles import unseal_cryptography
from tests.test_cli import run
from tests.test_sealing import LABELS

APP = Path("k8s-apps/utilities/pocket-id")
SEALED = APP / "sealedsecret.yaml"
PASSWORD = b"correct horse battery staple"


@pytest.fixture
def site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A site listing SMTP_PASSWORD in [secret] settings, rendered (placeholder secret)."""
    assert run(capsys, "init", cwd=tmp_path)[0] == 0
    config = tmp_path / "pocket-id.toml"
    text = config.read_text()
    config.write_text(
        text.replace(
            'key = "encryption-key"\n', 'key = "encryption-key"\nsettings = ["SMTP_PASSWORD"]\n', 1
        )
    )
    assert run(capsys, "render", cwd=tmp_path)[0] == 0
    (tmp_path / "pw").write_bytes(PASSWORD + b"\n")
    return tmp_path


@pytest.fixture
def sealed_site(site: Path, controller: Controller, capsys: pytest.CaptureFixture[str]) -> Path:
    """The site with its encryption key sealed."""
    assert run(capsys, "seal", "--cert", str(controller.cert), cwd=site)[0] == 0
    return site


def encrypted(path: Path) -> dict[str, str]:
    data: dict[str, str] = yaml.safe_load(path.read_text())["spec"]["encryptedData"]
    return data


def set_password(
    site: Path, controller: Controller, capsys: pytest.CaptureFixture[str], *more: str
) -> tuple[int, str, str]:
    cert = str(controller.cert)
    return run(
        capsys,
        "seal",
        "--cert",
        cert,
        "--set",
        "SMTP_PASSWORD",
        "--from-file",
        "pw",
        *more,
        cwd=site,
    )


def test_set_seals_the_value_for_the_secrets_place(
    sealed_site: Path, controller: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    """The value (without the file's trailing newline) decrypts under the setting's key."""
    assert set_password(sealed_site, controller, capsys)[0] == 0
    value = encrypted(sealed_site / SEALED)["smtp-password"]
    assert unseal_cryptography(controller.key, value, LABELS[Scope.STRICT]) == PASSWORD


def test_set_leaves_the_encryption_key_untouched(
    sealed_site: Path, controller: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    """The sealed encryption key is byte-for-byte the one sealed before."""
    before = encrypted(sealed_site / SEALED)["encryption-key"]
    set_password(sealed_site, controller, capsys)
    assert encrypted(sealed_site / SEALED)["encryption-key"] == before


def test_set_never_shows_the_value(
    sealed_site: Path, controller: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    """Neither output nor any file but the user's own holds the plaintext value."""
    code, out, err = set_password(sealed_site, controller, capsys)
    assert code == 0
    assert PASSWORD.decode() not in out + err
    files = [p for p in sealed_site.rglob("*") if p.is_file() and p.name != "pw"]
    assert not any(PASSWORD in p.read_bytes() for p in files)


def test_set_again_replaces_only_that_value(
    sealed_site: Path, controller: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    """A second --set replaces the setting's value and says so."""
    set_password(sealed_site, controller, capsys)
    (sealed_site / "pw").write_bytes(b"another password")
    code, out, _ = set_password(sealed_site, controller, capsys)
    assert code == 0
    assert "(replaced;" in out
    value = encrypted(sealed_site / SEALED)["smtp-password"]
    assert unseal_cryptography(controller.key, value, LABELS[Scope.STRICT]) == b"another password"


def test_render_keeps_the_sealed_setting(
    sealed_site: Path, controller: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    """After --set, render is current and leaves the file alone, with no warning."""
    set_password(sealed_site, controller, capsys)
    before = (sealed_site / SEALED).read_bytes()
    code, _, err = run(capsys, "render", cwd=sealed_site)
    assert (code, err) == (0, "")
    assert (sealed_site / SEALED).read_bytes() == before


def test_render_warns_of_a_setting_not_sealed_yet(
    sealed_site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sealed Secret without the setting's key: render names the setting and the fix."""
    code, _, err = run(capsys, "render", cwd=sealed_site)
    assert code == 0
    assert f"warning: {SEALED}: has no 'smtp-password' for [secret] settings SMTP_PASSWORD" in err
    assert "seal --cert sealed-secrets.pem --set SMTP_PASSWORD --from-file FILE" in err


def test_set_before_the_key_is_sealed_is_refused(
    site: Path, controller: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    """On the placeholder: exit 2, the file unchanged, the fix is to seal the key first."""
    before = (site / SEALED).read_bytes()
    code, _, err = set_password(site, controller, capsys)
    assert code == 2
    assert "is the placeholder, so there is no sealed Secret to add SMTP_PASSWORD to" in err
    assert (site / SEALED).read_bytes() == before


def test_set_of_an_unlisted_setting_is_refused(
    sealed_site: Path, controller: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    """A name not in [secret] settings: exit 2, nothing written, the config line to add."""
    before = (sealed_site / SEALED).read_bytes()
    cert = str(controller.cert)
    code, _, err = run(
        capsys,
        "seal",
        "--cert",
        cert,
        "--set",
        "LDAP_BIND_PASSWORD",
        "--from-file",
        "pw",
        cwd=sealed_site,
    )
    assert code == 2
    assert "[secret] settings = ['SMTP_PASSWORD', 'LDAP_BIND_PASSWORD']" in err
    assert (sealed_site / SEALED).read_bytes() == before


def test_set_without_from_file_is_refused(
    sealed_site: Path, controller: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    """A setting's value is never made up: --set needs --from-file."""
    code, _, err = run(
        capsys, "seal", "--cert", str(controller.cert), "--set", "SMTP_PASSWORD", cwd=sealed_site
    )
    assert code == 2
    assert "--set SMTP_PASSWORD needs --from-file FILE" in err


def test_an_env_file_line_is_refused_unshown(
    sealed_site: Path, controller: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    """'SMTP_PASSWORD=...' is not the value alone: refused, and the value is not shown."""
    (sealed_site / "pw").write_bytes(b"SMTP_PASSWORD=" + PASSWORD)
    code, out, err = set_password(sealed_site, controller, capsys)
    assert code == 2
    assert "starts with 'SMTP_PASSWORD=', as an env file does" in err
    assert PASSWORD.decode() not in out + err


def test_rotation_keeps_the_sealed_settings(
    sealed_site: Path, controller: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    """seal --rotate replaces the key and keeps each sealed setting as it was."""
    set_password(sealed_site, controller, capsys)
    before = encrypted(sealed_site / SEALED)
    assert run(capsys, "seal", "--cert", str(controller.cert), "--rotate", cwd=sealed_site)[0] == 0
    after = encrypted(sealed_site / SEALED)
    assert after["smtp-password"] == before["smtp-password"]
    assert after["encryption-key"] != before["encryption-key"]


def test_rotation_to_another_scope_drops_the_settings_with_a_warning(
    sealed_site: Path, controller: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    """Values sealed for another scope cannot be kept: dropped, and the user told."""
    set_password(sealed_site, controller, capsys)
    cert = str(controller.cert)
    code, _, err = run(
        capsys, "seal", "--cert", cert, "--rotate", "--scope", "namespace-wide", cwd=sealed_site
    )
    assert code == 0
    assert "the sealed settings (smtp-password) were sealed with scope strict" in err
    assert list(encrypted(sealed_site / SEALED)) == ["encryption-key"]


def test_set_uses_the_files_scope(
    site: Path, controller: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    """In a namespace-wide Secret the value is sealed namespace-wide too."""
    cert = str(controller.cert)
    assert run(capsys, "seal", "--cert", cert, "--scope", "namespace-wide", cwd=site)[0] == 0
    assert set_password(site, controller, capsys)[0] == 0
    value = encrypted(site / SEALED)["smtp-password"]
    assert unseal_cryptography(controller.key, value, LABELS[Scope.NAMESPACE_WIDE]) == PASSWORD


def test_set_into_a_file_without_the_encryption_key_is_refused(
    sealed_site: Path, controller: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sealed file lacking [secret] key (or its spec): exit 2, unchanged, never a crash."""
    manifest = yaml.safe_load((sealed_site / SEALED).read_text())
    del manifest["spec"]
    (sealed_site / SEALED).write_text(yaml.safe_dump(manifest))
    before = (sealed_site / SEALED).read_bytes()
    code, _, err = set_password(sealed_site, controller, capsys)
    assert code == 2
    assert "holds no sealed 'encryption-key' ([secret] key)" in err
    assert (sealed_site / SEALED).read_bytes() == before
