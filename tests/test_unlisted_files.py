"""render names a YAML file of the user's in the app folder: kustomization.yaml does not list
it, so Argo CD never deploys it (issue 18 item 21)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli import run

APP = Path("k8s-apps/utilities/pocket-id")
MINE = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mine\n"


@pytest.fixture
def site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A rendered site folder."""
    assert run(capsys, "init", cwd=tmp_path)[0] == 0
    assert run(capsys, "render", cwd=tmp_path)[0] == 0
    return tmp_path


def test_render_names_a_file_it_does_not_deploy(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A user's YAML file: a warning naming it and a folder of the user's own."""
    (site / APP / "mine.yaml").write_text(MINE)
    code, _, err = run(capsys, "render", cwd=site)
    assert code == 0
    assert (
        f"warning: {APP / 'mine.yaml'}: is not listed in kustomization.yaml, so Argo CD never "
        "deploys it"
    ) in err
    assert f"e.g. {APP}-extra/ with its own kustomization.yaml" in err


def test_render_check_names_it_too(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """render --check (current otherwise) warns of the file and still exits 0."""
    (site / APP / "mine.yml").write_text(MINE)
    code, _, err = run(capsys, "render", "--check", cwd=site)
    assert code == 0
    assert f"warning: {APP / 'mine.yml'}: is not listed in kustomization.yaml" in err


def test_render_leaves_the_users_file_alone(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The file is neither deleted nor changed, nor added to the list."""
    (site / APP / "mine.yaml").write_text(MINE)
    run(capsys, "render", cwd=site)
    assert (site / APP / "mine.yaml").read_text() == MINE
    assert "mine.yaml" not in (site / APP / "kustomization.yaml").read_text()


def test_our_own_files_are_not_named(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A rendered bundle and its sealed-key file give no such warning; other files neither."""
    (site / APP / "README.md").write_text("notes\n")
    code, _, err = run(capsys, "render", cwd=site)
    assert code == 0
    assert "not listed" not in err


def test_a_stale_file_of_ours_is_deleted_not_named(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file we rendered before (our header) is deleted as stale, without the warning."""
    (site / APP / "old.yaml").write_text((site / APP / "service.yaml").read_text())
    code, out, err = run(capsys, "render", cwd=site)
    assert code == 0
    assert f"delete {APP / 'old.yaml'}" in out
    assert "not listed" not in err
