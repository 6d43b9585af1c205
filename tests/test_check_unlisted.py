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


def test_an_unlisted_file_is_reported_whatever_its_objects_shape(tmp_path: Path) -> None:
    """The finding is about the file: it stands when its object has a field of the wrong
    shape (which silences the rules about that object)."""
    (tmp_path / "kustomization.yaml").write_text(KUSTOMIZATION + "resources:\n- a.yaml\n")
    (tmp_path / "a.yaml").write_text(config_map("a"))
    (tmp_path / "b.yaml").write_text(config_map("b") + "data: [not, a, map]\n")
    report = run_check([str(tmp_path)])
    assert "input/shape" in {f.rule for f in report.findings if f.file.endswith("b.yaml")}
    assert [f.file for f in unlisted(tmp_path)] == [str(tmp_path / "b.yaml")]


def test_each_app_folder_reports_its_own_unlisted_files(tmp_path: Path) -> None:
    """In a repository of several app folders (each checked on its own), each kustomization
    judges the files of its own folder only: a file of one is never judged by another."""
    for app, listed in (("one", "a.yaml"), ("two", "b.yaml")):
        folder = tmp_path / "apps" / app
        folder.mkdir(parents=True)
        (folder / "kustomization.yaml").write_text(KUSTOMIZATION + f"resources:\n- {listed}\n")
        (folder / "a.yaml").write_text(config_map(f"{app}-a"))
        (folder / "b.yaml").write_text(config_map(f"{app}-b"))
    (tmp_path / "apps" / "plain").mkdir()
    (tmp_path / "apps" / "plain" / "c.yaml").write_text(config_map("c"))
    report = run_check([str(tmp_path / "apps")])
    assert len(report.app_objects) == 3
    assert [f.file for f in unlisted(tmp_path / "apps")] == [
        str(tmp_path / "apps" / "one" / "b.yaml"),
        str(tmp_path / "apps" / "two" / "a.yaml"),
    ]


@given(st.text(alphabet="ab./ ", max_size=12))
def test_a_mentioned_name_is_the_one_pathlib_gives(path: str) -> None:
    """The file name read from a kustomization's string is PurePath's name of it."""
    assert _name(path) == PurePosixPath(path).name
