"""check: a YAML file in a kustomization's folder that the kustomization never names is
never deployed (refs/unlisted-file, issue 18 item 21)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from hypothesis import given
from hypothesis import strategies as st

from pocketid_k8s.check import run_check
from pocketid_k8s.check.model import Finding
from pocketid_k8s.check.unlisted import _name

KUSTOMIZATION = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"


def config_map(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: x\n"


def unlisted(folder: Path) -> list[Finding]:
    return [f for f in run_check([str(folder)]).findings if f.rule == "refs/unlisted-file"]


def test_a_file_the_kustomization_does_not_list_is_reported(tmp_path: Path) -> None:
    """One warning naming the file and the kustomization that leaves it out."""
    (tmp_path / "kustomization.yaml").write_text(KUSTOMIZATION + "resources:\n- a.yaml\n")
    (tmp_path / "a.yaml").write_text(config_map("a"))
    (tmp_path / "b.yaml").write_text(config_map("b") + "---\n" + config_map("c"))
    (finding,) = unlisted(tmp_path)
    assert finding.file == str(tmp_path / "b.yaml")
    assert finding.message == (
        f"b.yaml is not listed in {tmp_path / 'kustomization.yaml'}, so kustomize (and Argo "
        "CD) never deploys it"
    )


def test_a_file_named_as_a_patch_counts_as_listed(tmp_path: Path) -> None:
    """Any mention (a patch, ./-prefixed) counts: only files never named are reported."""
    (tmp_path / "kustomization.yaml").write_text(
        KUSTOMIZATION + "resources:\n- ./a.yaml\npatches:\n- path: b.yaml\n"
    )
    (tmp_path / "a.yaml").write_text(config_map("a"))
    (tmp_path / "b.yaml").write_text(config_map("b"))
    assert unlisted(tmp_path) == []


def test_a_folder_without_kustomization_is_not_judged(tmp_path: Path) -> None:
    """Without a kustomization.yaml every file is applied as it is: nothing to report."""
    (tmp_path / "a.yaml").write_text(config_map("a"))
    assert unlisted(tmp_path) == []


@given(st.text(alphabet="ab./ ", max_size=12))
def test_a_mentioned_name_is_the_one_pathlib_gives(path: str) -> None:
    """The file name read from a kustomization's string is PurePath's name of it."""
    assert _name(path) == PurePosixPath(path).name
