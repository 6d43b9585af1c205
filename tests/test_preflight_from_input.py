"""preflight --from a hostile folder: read as check reads (caps, no YAML bomb, no quote of
the file), nothing read from outside the folder; each a PlanError (exit 2), never exit 70 or
unbounded memory. No API server is needed: the plan is made before connecting."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pocketid_k8s.config import Config
from pocketid_k8s.live.preflight.load import PlanError, plan_from_folder

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(8)
)
SECRET = "hunter2-DO-NOT-PRINT"


def folder_with(tmp_path: Path, listed: str, files: dict[str, str | Path]) -> Path:
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "kustomization.yaml").write_text(f"resources:\n- {listed}\n")
    for name, body in files.items():
        if isinstance(body, Path):
            (folder / name).symlink_to(body)
        else:
            (folder / name).write_text(body)
    return folder


def test_devices_are_not_read(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, "a.yaml", {"a.yaml": Path("/dev/zero")})
    with pytest.raises(PlanError, match="leads out of"):  # the link is followed, then refused
        plan_from_folder(Config(), folder)
    (folder / "kustomization.yaml").unlink()
    (folder / "kustomization.yaml").symlink_to("/dev/zero")
    with pytest.raises(PlanError, match=r"kustomization\.yaml: not a regular file"):
        plan_from_folder(Config(), folder)


def test_huge_files_are_refused_at_their_cap(tmp_path: Path) -> None:
    huge = "a: " + "x" * (5 * 1024 * 1024) + "\n"
    folder = folder_with(tmp_path, "a.yaml", {"a.yaml": huge})
    with pytest.raises(PlanError, match="fix: run 'pocketid-k8s check"):
        plan_from_folder(Config(), folder)
    (folder / "kustomization.yaml").write_text(huge)
    with pytest.raises(PlanError, match="larger than 1 MiB, not a kustomization"):
        plan_from_folder(Config(), folder)


def test_a_yaml_bomb_is_refused(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, "a.yaml", {"a.yaml": BOMB})
    with pytest.raises(PlanError, match="billion laughs"):
        plan_from_folder(Config(), folder)


def test_broken_yaml_is_located_not_quoted(tmp_path: Path) -> None:
    body = f"apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\nstringData:\n  k: [{SECRET}\n"
    folder = folder_with(tmp_path, "a.yaml", {"a.yaml": body})
    with pytest.raises(PlanError) as caught:
        plan_from_folder(Config(), folder)
    assert "not valid YAML" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert "\n" not in str(caught.value)


def test_broken_kustomization_is_located_not_quoted(tmp_path: Path) -> None:
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "kustomization.yaml").write_text(f"resources: [{SECRET}\n")
    with pytest.raises(PlanError) as caught:
        plan_from_folder(Config(), folder)
    assert "not valid YAML at line 2" in str(caught.value)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("listed", ["../outside.yaml", "/etc/hostname"])
def test_a_resource_outside_the_folder_is_not_read(listed: str, tmp_path: Path) -> None:
    (tmp_path / "outside.yaml").write_text(f"token: [{SECRET}\n")
    folder = folder_with(tmp_path, listed, {})
    with pytest.raises(PlanError, match="leads out of"):
        plan_from_folder(Config(), folder)


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="--from /dev/zero: not a folder; fix: "):
        plan_from_folder(Config(), Path("/dev/zero"))


def test_a_fifo_is_not_waited_for(tmp_path: Path) -> None:
    """A named pipe listed as a resource would block the read forever."""
    folder = folder_with(tmp_path, "a.yaml", {})
    os.mkfifo(folder / "a.yaml")
    with pytest.raises(PlanError, match="not a regular file"):
        plan_from_folder(Config(), folder)
