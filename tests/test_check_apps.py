"""``check .`` on a repository of many apps: each app folder is checked and reported on its
own, and one object in two files is found across app folders only when it is one (issue 19)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pocketid_k8s.check import run_check
from pocketid_k8s.check.report import text, to_json
from tests.test_check_reference import generated

SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: web
{namespace}spec:
  ports: [{{port: 80}}]
"""
KUSTOMIZATION = """apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
{namespace}resources: [service.yaml]
"""


def _app(root: Path, name: str, *, own: str = "", kustomize: str = "") -> None:
    """An app folder with a kustomization and one Service ``web``."""
    folder = root / name
    folder.mkdir(parents=True)
    own_line = f"  namespace: {own}\n" if own else ""
    (folder / "service.yaml").write_text(SERVICE.format(namespace=own_line))
    set_line = f"namespace: {kustomize}\n" if kustomize else ""
    (folder / "kustomization.yaml").write_text(KUSTOMIZATION.format(namespace=set_line))


def _duplicates(root: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.chdir(root)
    return [f.file for f in run_check(["."]).findings if f.rule == "input/duplicate"]


def test_same_name_in_two_apps_namespaces_is_no_duplicate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two apps whose kustomizations set different namespaces may both hold Service web."""
    _app(tmp_path, "a", kustomize="one")
    _app(tmp_path, "b", kustomize="two")
    assert _duplicates(tmp_path, monkeypatch) == []


def test_same_name_without_namespace_in_two_apps_is_no_duplicate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a namespace, each app's Application destination decides: not one object."""
    _app(tmp_path, "a")
    _app(tmp_path, "b")
    assert _duplicates(tmp_path, monkeypatch) == []


def test_same_object_in_two_apps_is_a_duplicate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Service web in namespace one from two app folders is one object twice."""
    _app(tmp_path, "a", own="one")
    _app(tmp_path, "b", kustomize="one")
    assert _duplicates(tmp_path, monkeypatch) == ["b/service.yaml"]


def test_kustomization_namespace_wins_over_the_objects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kustomize moves both objects to namespace two: the same object, whatever they say."""
    _app(tmp_path, "a", own="one", kustomize="two")
    _app(tmp_path, "b", own="three", kustomize="two")
    assert _duplicates(tmp_path, monkeypatch) == ["b/service.yaml"]


def test_each_app_checked_on_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Apps in namespaces of their own: no app is told its objects are in a foreign one."""
    generated(tmp_path / "apps", 48)
    monkeypatch.chdir(tmp_path)
    report = run_check(["apps"])
    assert [f for f in report.findings if f.rule == "refs/namespace"] == []
    assert report.app_objects == {f"apps/app0000{n}": 16 for n in range(3)}


def test_text_has_a_summary_line_per_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each app folder's findings end with its own summary line, then the whole set's."""
    _app(tmp_path, "a", kustomize="one")
    _app(tmp_path, "b", kustomize="two")
    monkeypatch.chdir(tmp_path)
    lines = text(run_check(["."])).splitlines()
    assert [line for line in lines if line.startswith("app ")] == [
        "app a: 0 errors, 1 warning, 1 info in 2 files (2 objects)",  # input/no-pocket-id
        "app b: 0 errors, 0 warnings, 1 info in 2 files (2 objects)",
    ]
    assert lines[-1] == "0 errors, 1 warning, 2 info in 4 files (4 objects)"


def test_one_app_reads_as_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A single app folder is reported without app lines, as check always has."""
    _app(tmp_path, "a", kustomize="one")
    monkeypatch.chdir(tmp_path)
    assert not any(line.startswith("app ") for line in text(run_check(["."])).splitlines())


def test_json_names_each_findings_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--format json adds ``app``: the folder of the finding's app."""
    _app(tmp_path, "a", kustomize="one")
    _app(tmp_path, "b", kustomize="two")
    monkeypatch.chdir(tmp_path)
    data = json.loads(to_json(run_check(["."])))
    assert [(d["file"], d["app"]) for d in data] == [
        ("a/kustomization.yaml", "a"),  # input/no-pocket-id
        ("a/kustomization.yaml", "a"),
        ("b/kustomization.yaml", "b"),
    ]


def test_application_source_path_is_an_app_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain folder of manifests that an Argo CD Application deploys is an app folder."""
    (tmp_path / "apps/web").mkdir(parents=True)
    (tmp_path / "apps/web/service.yaml").write_text(SERVICE.format(namespace=""))
    _app(tmp_path, "other", kustomize="two")
    (tmp_path / "app.yaml").write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: web}\n"
        "spec:\n  source: {repoURL: 'https://example.test/r.git', path: apps/web}\n"
    )
    monkeypatch.chdir(tmp_path)
    assert run_check(["."]).apps["apps/web/service.yaml"] == "apps/web"


INGRESS = """apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: front
  namespace: one
spec:
  rules:
    - host: web.example.org
      http:
        paths:
          - path: /
            pathType: Prefix
            backend: {service: {name: web, port: {number: 80}}}
"""


def _ingress_app(root: Path) -> None:
    folder = root / "front"
    folder.mkdir()
    (folder / "ingress.yaml").write_text(INGRESS)
    (folder / "kustomization.yaml").write_text(KUSTOMIZATION.replace("service", "ingress"))


def _about_web(root: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.chdir(root)
    return [
        f"{f.rule}: {f.message}"
        for f in run_check(["."]).findings
        if f.file == "front/ingress.yaml" and "web" in f.message
    ]


def test_a_reference_to_another_apps_object_in_its_namespace_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An Ingress in one app routing to a Service another app deploys in the same namespace:
    Argo CD syncs both, so nothing is missing."""
    _ingress_app(tmp_path)
    _app(tmp_path, "b", own="one")
    assert _about_web(tmp_path, monkeypatch) == []


def test_a_reference_to_another_apps_object_elsewhere_is_still_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same Service in another namespace does not serve the Ingress: still reported."""
    _ingress_app(tmp_path)
    _app(tmp_path, "b", own="two")
    assert _about_web(tmp_path, monkeypatch) != []
