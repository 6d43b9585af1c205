"""render writes only inside the output root, only over its own files, and cleans up after
itself; the config cannot point it at the root or make the Application sync itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from pocketid_k8s.bundle import HEADER
from pocketid_k8s.config import load_config
from pocketid_k8s.errors import ConfigError
from tests.conftest import Controller
from tests.test_cli import APP, run

APPLICATION = Path("k8s-manifests/argocd/applications/pocket-id.yaml")


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("link", ["k8s-apps", "k8s-apps/utilities/pocket-id"])
def test_a_symlinked_folder_out_of_the_root_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], link: str
) -> None:
    """A committed symlink leading out of --out: exit 2, nothing written there or here."""
    root, elsewhere = tmp_path / "root", tmp_path / "elsewhere"
    root.mkdir()
    elsewhere.mkdir()
    (elsewhere / "service.yaml").write_text(HEADER + "kind: Service\n")
    (root / link).parent.mkdir(parents=True, exist_ok=True)
    (root / link).symlink_to(elsewhere, target_is_directory=True)
    before = snapshot(elsewhere)
    code, _, err = run(capsys, "render", "--out", str(root))
    assert code == 2
    assert "outside the output root" in err
    assert "nothing was written" in err
    assert snapshot(elsewhere) == before


def test_a_symlinked_folder_inside_the_root_is_fine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A link that stays inside the root is followed as usual."""
    (tmp_path / "real").mkdir()
    (tmp_path / "k8s-apps").symlink_to(tmp_path / "real", target_is_directory=True)
    assert run(capsys, "render", "--out", str(tmp_path))[0] == 0
    assert (tmp_path / "real/utilities/pocket-id/service.yaml").is_file()


def test_a_hand_written_file_with_a_bundle_name_is_not_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """service.yaml without our header: render refuses (exit 2) and changes no file."""
    assert run(capsys, "render", "--out", str(tmp_path))[0] == 0
    mine = tmp_path / APP / "service.yaml"
    mine.write_text("# my own Service\nkind: Service\n")
    (tmp_path / "pocket-id.toml").write_text("[pocket_id]\napp_url = 'https://login.example'\n")
    before = snapshot(tmp_path)
    code, _, err = run(capsys, "render", cwd=tmp_path)
    assert code == 2
    assert f"{APP / 'service.yaml'}: was not written by pocketid-k8s" in err
    assert snapshot(tmp_path) == before


def test_turning_the_application_off_deletes_our_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """application = false after true: the old Application is stale, then deleted."""
    config = tmp_path / "pocket-id.toml"
    config.write_text("[argocd]\napplication = true\nrepo_url = 'https://git.example/h.git'\n")
    assert run(capsys, "render", cwd=tmp_path)[0] == 0
    assert (tmp_path / APPLICATION).is_file()
    config.write_text("")
    code, out, _ = run(capsys, "render", "--check", cwd=tmp_path)
    assert code == 1
    assert f"--- a/{APPLICATION}\n+++ /dev/null" in out
    assert run(capsys, "render", cwd=tmp_path)[0] == 0
    assert not (tmp_path / APPLICATION).exists()


def test_turning_the_application_off_keeps_a_users_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An Application at that path that we did not write is left alone."""
    (tmp_path / APPLICATION).parent.mkdir(parents=True)
    (tmp_path / APPLICATION).write_text("# mine\n")
    assert run(capsys, "render", cwd=tmp_path)[0] == 0
    assert (tmp_path / APPLICATION).read_text() == "# mine\n"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[site]\napp_dir = '.'\n", "[site] app_dir: '.' is not a clean relative folder"),
        (
            "[site]\napp_dir = 'apps/pid'\n[argocd]\napplication = true\n"
            "repo_url = 'https://git.example/h.git'\napplication_dir = 'apps/pid'\n",
            "[argocd] application_dir 'apps/pid' is inside the app folder",
        ),
    ],
    ids=["app-dir-is-the-root", "application-in-the-app-folder"],
)
def test_folders_that_would_break_the_layout_are_refused(
    tmp_path: Path, toml: str, message: str
) -> None:
    """app_dir '.' and an Application inside the app folder are config errors."""
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert message in caught.value.message


def test_a_long_value_is_not_echoed_whole(tmp_path: Path) -> None:
    """A 5000-character value is named by its start and length, not repeated (item 13)."""
    path = tmp_path / "c.toml"
    path.write_text(f"[site]\nnamespace = '{'a' * 5000}'\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f"{'a' * 40!r}... (5000 characters) is not a valid Kubernetes name" in (
        caught.value.message
    )
    assert len(caught.value.message) < 400


def test_a_byte_order_mark_in_the_config_is_accepted(tmp_path: Path) -> None:
    """A UTF-8 BOM (some editors add one) is not 'Invalid statement' (item 13)."""
    path = tmp_path / "c.toml"
    path.write_bytes(b"\xef\xbb\xbf[site]\nnamespace = 'auth'\n")
    assert load_config(path).site.namespace == "auth"


def test_seal_out_a_folder_names_the_folder(
    tmp_path: Path, controller: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    """seal --out DIR says DIR is a folder, not something about a temporary file (item 13)."""
    code, _, err = run(
        capsys, "seal", "--cert", str(controller.cert), "--out", str(tmp_path), cwd=tmp_path
    )
    assert code == 2
    assert f"{tmp_path}: is a folder; nothing was written" in err
    assert ".tmp" not in err
