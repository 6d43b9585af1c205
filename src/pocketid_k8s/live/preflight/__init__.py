"""``preflight``: ask the cluster, before the push, whether the sync will succeed.

Read-only: every question is a GET, a SelfSubjectAccessReview, or a write with
``dryRun=All`` (nothing is stored). Each check is one row (or a few) with a hint
naming the fix; a check our identity has no right for is skipped, saying which
right, and the ``access`` row lists them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Final

from pocketid_k8s.live.kube import Kube, KubeAnswerError, KubeError
from pocketid_k8s.live.preflight import dryrun, gitops, network, prereqs, sealed, state
from pocketid_k8s.live.preflight.context import Context, Denied
from pocketid_k8s.live.preflight.plan import Argo, Item, Plan
from pocketid_k8s.live.report import Outcome, Row, Status, timed

__all__ = ["CHECKS", "Argo", "Item", "Plan", "preflight"]

Check = Callable[[Context], list[Row]]

CHECKS: Final[tuple[tuple[str, Check], ...]] = (
    ("kinds", prereqs.kinds_served),
    ("namespaces", prereqs.namespaces),
    ("dry-run", dryrun.dry_run),
    ("pod-security", dryrun.pod_security),
    ("issuer", prereqs.cluster_issuer),
    ("ingress-class", prereqs.ingress_class),
    ("storage-class", prereqs.storage_class),
    ("middleware", prereqs.middleware),
    ("sealed-secret", sealed.scope),
    ("sealed-controller", sealed.controller),
    ("argocd-project", gitops.project),
    ("argocd-app", gitops.application),
    ("network-policy", network.network_policy),
    ("volume", state.volume),
    ("deployment", state.deployment),
)
"""Every check, by the name of its row, in the order they run and print."""


def preflight(kube: Kube, plan: Plan) -> Outcome:
    """Run every check against ``kube``; a transport failure stops the run (exit 2)."""
    outcome = Outcome()
    ctx = Context(kube, plan)
    try:
        with timed() as ms:
            version = kube.version()
            user = kube.whoami()
        outcome.rows.append(
            Row(
                "api",
                Status.PASS,
                f"{version.get('gitVersion', '?')} at {kube.server} (context {kube.context}"
                f"{', user ' + user if user else ''})",
                ms[0],
            )
        )
        skipped: list[str] = []
        for name, check in CHECKS:
            with timed() as ms:
                try:
                    rows = check(ctx)
                except Denied as denied:
                    rows = [Row(name, Status.SKIP, f"not allowed to {denied}")]
                    skipped.append(f"{name} ({denied})")
                except KubeAnswerError as exc:  # one odd answer fails its check, not the run
                    rows = [Row(name, Status.FAIL, exc.message)]
            outcome.rows += [dataclasses.replace(r, ms=ms[0] / len(rows)) for r in rows]
        outcome.rows.insert(1, _access(skipped))
    except KubeError as exc:
        outcome.stopped = exc.message
    return outcome


def _access(skipped: list[str]) -> Row:
    if not skipped:
        return Row("access", Status.PASS, "this identity may run every check")
    return Row(
        "access",
        Status.WARN,
        f"{len(skipped)} checks skipped for lack of rights: " + "; ".join(skipped),
        hint="the README's read-only ClusterRole grants what they need (the dry-runs also need "
        "create and patch)",
    )
