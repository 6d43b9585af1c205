"""Which ApplicationSet would generate an Application for the app folder, read from its
generators offline (the API server in the suite does not serve ApplicationSets: their
CRD is not among ../shared/crds, so preflight's use of this is not run against it)."""

from __future__ import annotations

from typing import Any

import pytest

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
