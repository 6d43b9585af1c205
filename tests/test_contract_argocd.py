"""Argo CD's project matching, as one table: deny entries win in any order, the blacklist wins.

Rows follow ``isDestinationMatched`` and ``IsGroupKindPermitted`` in Argo CD's
``pkg/apis/application/v1alpha1/app_project_types.go``.
"""

from __future__ import annotations

from typing import Any

import pytest

from pocketid_k8s.contract.argocd import (
    IN_CLUSTER,
    Destination,
    kind_permitted,
    match_destination,
)

HERE = Destination("pocket-id", server=IN_CLUSTER)
BY_NAME = Destination("pocket-id", name="in-cluster")
OTHER = "https://10.0.0.1:6443"


def dst(namespace: str, server: str = IN_CLUSTER) -> dict[str, str]:
    return {"namespace": namespace, "server": server}


DESTINATIONS: dict[str, tuple[list[dict[str, str]], Destination, bool]] = {
    "exact": ([dst("pocket-id")], HERE, True),
    "glob": ([dst("pocket-*")], HERE, True),
    "star": ([dst("*")], HERE, True),
    "other-namespace": ([dst("paperless")], HERE, False),
    "other-server": ([dst("pocket-id", OTHER)], HERE, False),
    "empty-project": ([], HERE, False),
    "deny-then-star": ([dst("!pocket-id"), dst("*")], HERE, False),
    "star-then-deny": ([dst("*"), dst("!pocket-id")], HERE, False),
    "deny-glob": ([dst("*"), dst("!pocket-*")], HERE, False),
    "deny-other-admits-this": ([dst("!kube-system")], HERE, True),
    "deny-other-with-star": ([dst("*"), dst("!kube-system")], HERE, True),
    "deny-server": ([dst("*"), {"namespace": "*", "server": f"!{IN_CLUSTER}"}], HERE, False),
    "name-entry-for-server-destination": ([{"namespace": "*", "name": "in-cluster"}], HERE, True),
    "name-entry-for-name-destination": ([{"namespace": "*", "name": "in-*"}], BY_NAME, True),
    "server-entry-for-name-destination": ([dst("*")], BY_NAME, False),
    "not-a-mapping-is-ignored": (["junk", dst("pocket-id")], HERE, True),  # type: ignore[list-item]
}


@pytest.mark.parametrize("case", DESTINATIONS)
def test_destination_matching(case: str) -> None:
    """Admitted when an entry matches and no deny entry excludes it, whatever the order."""
    entries, destination, admitted = DESTINATIONS[case]
    assert match_destination(entries, destination).admitted is admitted


def test_the_deny_entry_is_named() -> None:
    """The verdict names the deny pattern that decided, for the message."""
    verdict = match_destination([dst("*"), dst("!pocket-id")], HERE)
    assert (verdict.admitted, verdict.deny_pattern) == (False, "!pocket-id")


KINDS: dict[str, tuple[dict[str, Any], tuple[str, str], bool, bool]] = {
    "cluster-none": ({}, ("", "Namespace"), False, False),
    "cluster-whitelisted": (
        {"clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}]},
        ("", "Namespace"),
        False,
        True,
    ),
    "cluster-glob": (
        {"clusterResourceWhitelist": [{"group": "*", "kind": "*"}]},
        ("", "Namespace"),
        False,
        True,
    ),
    "cluster-blacklist-wins": (
        {
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
            "clusterResourceBlacklist": [{"group": "", "kind": "Namespace"}],
        },
        ("", "Namespace"),
        False,
        False,
    ),
    "namespaced-no-whitelist": ({}, ("apps", "Deployment"), True, True),
    "namespaced-empty-whitelist": (
        {"namespaceResourceWhitelist": []},
        ("apps", "Deployment"),
        True,
        False,
    ),
    "namespaced-blacklisted": (
        {"namespaceResourceBlacklist": [{"group": "apps", "kind": "*"}]},
        ("apps", "Deployment"),
        True,
        False,
    ),
}


@pytest.mark.parametrize("case", KINDS)
def test_kind_permission(case: str) -> None:
    """Cluster kinds need the whitelist; namespaced ones need no whitelist; blacklists win."""
    spec, (group, kind), namespaced, admitted = KINDS[case]
    assert kind_permitted(spec, group, kind, namespaced=namespaced).admitted is admitted
