"""Which ApplicationSet would generate an Application for the app folder, read from its
generators offline, and the name its template gives the folder. (Against the real API
server, with a stand-in ApplicationSet CRD: test_verify.py and test_preflight.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from pocketid_k8s.contract.appset import render_name
from pocketid_k8s.live.argo import applicationset_covers

PATH = "k8s-apps/utilities/pocket-id"


def appset(*generators: dict[str, Any]) -> dict[str, Any]:
    return {"spec": {"generators": list(generators)}}


def git(*directories: dict[str, Any]) -> dict[str, Any]:
    return {"git": {"repoURL": "https://git.example.org/k8s.git", "directories": list(directories)}}


@pytest.mark.parametrize(
    ("generators", "verdict"),
    [
        (
            (git({"path": "k8s-apps/*/*"}),),
            "yes: its git directories generator matches k8s-apps/*/*",
        ),
        (
            (git({"path": "k8s-apps/utilities/pocket-id/"}),),
            "yes: its git directories generator matches k8s-apps/utilities/pocket-id/",
        ),
        ((git({"path": "k8s-apps/media/*"}),), "no"),
        (
            (
                git(
                    {"path": "k8s-apps/*/*"},
                    {"path": "k8s-apps/utilities/pocket-id", "exclude": True},
                ),
            ),
            "no",
        ),
        (({"list": {"elements": [{"path": PATH}]}},), None),
        (
            ({"list": {"elements": []}}, git({"path": "k8s-apps/*/*"})),
            "yes: its git directories generator matches k8s-apps/*/*",
        ),
    ],
    ids=[
        "glob",
        "exact with slash",
        "other folder",
        "excluded",
        "list: cannot tell",
        "list and git",
    ],
)
def test_applicationset_covers(generators: tuple[dict[str, Any], ...], verdict: str | None) -> None:
    assert applicationset_covers(appset(*generators), PATH) == verdict


@pytest.mark.parametrize(
    ("go", "template", "name"),
    [
        (False, "{{path.basename}}", "Pocket_ID"),
        (False, "{{ path.basenameNormalized }}", "pocket-id"),
        (False, "{{path[1]}}-{{path.basename}}", "utilities-Pocket_ID"),
        (False, "{{path}}", PATH.replace("pocket-id", "Pocket_ID")),
        (False, "{{path[3]}}", None),
        (False, "{{cluster}}-x", None),
        (True, "{{.path.basename}}", "Pocket_ID"),
        (True, "{{ .path.basenameNormalized }}", "pocket-id"),
        (True, "{{index .path.segments 1}}-{{ normalize .path.basename }}", "utilities-pocket-id"),
        (True, "{{ .path.basename | normalize }}", "pocket-id"),
        (True, "{{ .path.basename | upper }}", None),
        (True, "{{path.basename}}", None),
    ],
)
def test_generated_name(go: bool, template: str, name: str | None) -> None:
    """The Application name Argo CD's two template engines give the folder Pocket_ID; a
    template using anything else is not guessed."""
    folder = PATH.replace("pocket-id", "Pocket_ID")
    assert render_name({"spec": {"goTemplate": go}}, template, folder) == name
