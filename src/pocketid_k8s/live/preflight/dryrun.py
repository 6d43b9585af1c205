"""Ask the API server itself whether it would take the bundle: every object as a
server-side apply with ``dryRun=All`` in kustomization order, and a Pod built from
the Deployment's template through Pod Security admission. Nothing is stored.

A namespace the bundle creates does not exist before the first sync, and the API
server refuses (NotFound) a dry-run of any object inside it. Those objects are
then dry-run created in ``default`` instead: schema validation, defaulting and
the cluster's generic admission still run; what cannot be asked is admission that
depends on the namespace itself (its Pod Security level, quotas, limit ranges),
and the row says so.
"""

from __future__ import annotations

import copy
from typing import Any, Final

from pocketid_k8s.live.kube import Answer
from pocketid_k8s.live.preflight.context import Context
from pocketid_k8s.live.preflight.plan import Item
from pocketid_k8s.live.preflight.settings import kind_fixes
from pocketid_k8s.live.report import Row, Status

__all__ = ["dry_run", "pod_from_template", "pod_security"]

STAND_IN_NAMESPACE: Final = "default"
PSA_ENFORCE: Final = "pod-security.kubernetes.io/enforce"


def _missing_namespace(answer: Answer) -> bool:
    details = answer.body.get("details") or {}
    return answer.status == 404 and details.get("kind") == "namespaces"


def _in_stand_in(ctx: Context, item: Item) -> Answer | None:
    """Dry-run create ``item`` in the stand-in namespace; None when that is not possible."""
    obj = copy.deepcopy(item.obj)
    obj["metadata"]["namespace"] = STAND_IN_NAMESPACE
    path = ctx.kube.path_of(obj)
    if path is None:
        return None
    return ctx.kube.dry_run_create(path.rsplit("/", 1)[0], obj)


def _rights(ctx: Context, item: Item) -> None:
    resource = (ctx.kube.resources(str(item.obj["apiVersion"])) or {}).get(item.kind)
    if resource is None:
        return
    group = str(item.obj["apiVersion"]).rpartition("/")[0]
    ctx.need("patch", resource.plural, group, item.namespace or "")


def dry_run(ctx: Context) -> list[Row]:
    """One row: every object accepted, or which were refused and why."""
    refused: list[str] = []
    warnings: list[str] = []
    stand_in: list[str] = []
    unserved: set[str] = set()
    for item in ctx.plan.items:
        _rights(ctx, item)
        path = ctx.kube.path_of(item.obj)
        if path is None:
            refused.append(f"{item.file}: {item.kind} is not served at {item.obj['apiVersion']}")
            unserved.add(str(item.obj["apiVersion"]).rpartition("/")[0])
            continue
        answer = ctx.kube.dry_run_apply(item.obj, path)
        if _missing_namespace(answer) and item.namespace:
            found = _in_stand_in(ctx, item)
            if found is not None and found.status != 409:  # 409: a same-named object exists
                answer = found
                stand_in.append(item.file)
        if not answer.ok:
            refused.append(f"{item.file}: {answer.message}")
        warnings += [f"{item.file}: {_warning_text(w)}" for w in answer.warnings]
    count = len(ctx.plan.items)
    if refused:
        # The API server's answer can be several lines (the Go diff of an immutable field):
        # then each refusal starts a line of its own, and the row keeps the lines.
        lines = any("\n" in text for text in refused)
        return [
            Row(
                "dry-run",
                Status.FAIL,
                f"{len(refused)} of {count} objects refused:"
                + ("\n" + "\n".join(refused) if lines else " " + "; ".join(refused)),
                hint="fix the config (or the file) so that the API server accepts each object"
                + (f"; for the kinds not served: {kind_fixes(unserved)}" if unserved else ""),
                multiline=lines,
            )
        ]
    detail = f"all {count} objects accepted by a server-side apply (dryRun=All), in order"
    if stand_in:
        detail += (
            f"; {len(stand_in)} of them in namespace {STAND_IN_NAMESPACE} since theirs does not "
            "exist yet (schema and generic admission checked; that namespace's own quotas "
            "and limits could not be)"
        )
    if warnings:
        return [
            Row(
                "dry-run",
                Status.WARN,
                f"{detail}, with warnings: " + "; ".join(warnings),
                hint="each warning names a field the API server will ignore or change",
            )
        ]
    return [Row("dry-run", Status.PASS, detail)]


def _warning_text(header: str) -> str:
    """The text of a ``Warning: 299 - "text"`` header."""
    text = header.split(" ", 2)[-1]
    return text.strip('"')


def pod_from_template(deployment: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
    """A Pod with the Deployment's pod template, as its ReplicaSet would create it."""
    template = deployment["spec"]["template"]
    meta = deployment["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{meta['name']}-preflight",
            "namespace": namespace or meta["namespace"],
            "labels": dict((template.get("metadata") or {}).get("labels") or {}),
        },
        "spec": copy.deepcopy(template["spec"]),
    }


def pod_security(ctx: Context) -> list[Row]:
    """The Deployment's pod through the namespace's Pod Security admission (dry-run create)."""
    found = ctx.plan.first("Deployment")
    if found is None:
        return [Row("pod-security", Status.SKIP, "the bundle has no Deployment")]
    deployment = found.obj
    ns = found.namespace or STAND_IN_NAMESPACE
    ctx.need("create", "pods", "", ns)
    namespace = ctx.get(f"/api/v1/namespaces/{ns}")
    bundle_ns = next((i.obj for i in ctx.plan.of_kind("Namespace") if i.name == ns), None)
    if namespace is None:
        planned = ((bundle_ns or {}).get("metadata") or {}).get("labels") or {}
        level = planned.get(PSA_ENFORCE)
        return [
            Row(
                "pod-security",
                Status.SKIP,
                f"namespace {ns} does not exist yet, so the API server cannot evaluate the pod "
                f"at its Pod Security level ({level or 'the cluster default'}); the first "
                "sync creates it (then run preflight again)",
            )
        ]
    labels = (namespace.get("metadata") or {}).get("labels") or {}
    level = labels.get(PSA_ENFORCE, "the cluster default")
    pod = pod_from_template(deployment, ns)
    account = pod["spec"].get("serviceAccountName")
    note = ""
    if account and ctx.get(f"/api/v1/namespaces/{ns}/serviceaccounts/{account}") is None:
        pod["spec"]["serviceAccountName"] = "default"  # the bundle's does not exist yet
        note = f" (as ServiceAccount default: {account} does not exist yet)"
    answer = ctx.kube.dry_run_create(f"/api/v1/namespaces/{ns}/pods", pod)
    if not answer.ok:
        return [
            Row(
                "pod-security",
                Status.FAIL,
                f"a pod from the Deployment's template is refused in {ns}{note}: {answer.message}",
                hint="give the pod and its containers the securityContext that level requires",
            )
        ]
    warned = [_warning_text(w) for w in answer.warnings]
    if warned:
        return [
            Row(
                "pod-security",
                Status.WARN,
                f"admitted in {ns} (enforce: {level}){note}, with warnings: " + "; ".join(warned),
                hint="the warn or audit level of the namespace is stricter than the pod",
            )
        ]
    return [
        Row(
            "pod-security",
            Status.PASS,
            f"a pod from the Deployment's template is admitted in {ns} (enforce: {level}){note}",
        )
    ]
