"""``verify`` from inside the cluster: the rollout, the pods, the volume, the
certificates, the sealed secret (its Secret read as metadata only) and the Argo CD
Application that deploys the app folder, found by what it deploys."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from pocketid_k8s.contract import argocd
from pocketid_k8s.contract import sealed_secrets as ss
from pocketid_k8s.live.argo import Coverage, coverage, find_application, no_application
from pocketid_k8s.live.kube import Kube, KubeAnswerError, KubeForbidden, conditions
from pocketid_k8s.live.report import Row, Status, timed

if TYPE_CHECKING:
    from pocketid_k8s.live.target import Target

__all__ = ["inside"]

BAD_WAITING: Final = (
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "CreateContainerConfigError",
)


def inside(kube: Kube, target: Target) -> list[Row]:
    """Every inside check; a transport or credential failure ends the run (KubeError), and
    so does an identity that may read none of it. A check our identity may not read is
    skipped, saying what was refused (a kubeconfig that may not read Argo CD's namespace
    still verifies the app's own)."""
    rows = []
    refused: KubeForbidden | None = None
    for name, check in _CHECKS:
        with timed() as ms:
            try:
                status, detail = check(kube, target)
            except KubeForbidden as exc:
                refused = refused or exc
                status, detail = Status.SKIP, f"not verified: {exc.message}"
            except KubeAnswerError as exc:
                status, detail = Status.FAIL, exc.message
        rows.append(Row(name, status, detail, ms[0]))
    if refused is not None and all(row.status is Status.SKIP for row in rows):
        raise refused
    return rows


def _deployment(kube: Kube, t: Target) -> tuple[Status, str]:
    ns = t.namespace
    dep = kube.get(f"/apis/apps/v1/namespaces/{ns}/deployments/{t.name}")
    if dep is None:
        return Status.FAIL, f"Deployment {ns}/{t.name} not found"
    spec, status = dep.get("spec") or {}, dep.get("status") or {}
    wanted = spec.get("replicas", 1)
    if status.get("observedGeneration", 0) < (dep.get("metadata") or {}).get("generation", 0):
        return Status.FAIL, "the controller has not seen the newest spec yet"
    available = status.get("availableReplicas", 0)
    updated = status.get("updatedReplicas", 0)
    if updated < wanted or available < wanted:
        reason = conditions(dep).get("Progressing", {}).get("message", "")
        return (
            Status.FAIL,
            f"{available}/{wanted} available, {updated} updated{': ' + reason if reason else ''}",
        )
    return Status.PASS, f"rolled out, {available}/{wanted} available"


def _pods(kube: Kube, t: Target) -> tuple[Status, str]:
    selector = f"app.kubernetes.io/name=pocket-id,app.kubernetes.io/instance={t.name}"
    pods = kube.get(f"/api/v1/namespaces/{t.namespace}/pods?labelSelector={selector}") or {}
    items = pods.get("items") or []
    if not items:
        return Status.FAIL, f"no pod with labels {selector}"
    worst: tuple[Status, str] = (Status.PASS, "")
    for pod in items:
        name = (pod.get("metadata") or {}).get("name")
        for c in (pod.get("status") or {}).get("containerStatuses") or []:
            restarts = c.get("restartCount", 0)
            waiting = (c.get("state") or {}).get("waiting") or {}
            last = ((c.get("lastState") or {}).get("terminated") or {}).get("reason")
            detail = f"pod {name}: {restarts} restarts" + (f", last ended {last}" if last else "")
            if waiting.get("reason") in BAD_WAITING:
                return Status.FAIL, f"pod {name} is in {waiting['reason']}" + (
                    f" (last ended {last})" if last else ""
                )
            if restarts and worst[0] is Status.PASS:
                worst = (Status.WARN, detail)
            elif worst[1] == "":
                worst = (Status.PASS, detail)
    if worst[1] == "":
        return Status.FAIL, f"pod {items[0]['metadata']['name']} has no running container yet"
    return worst


def _claim(kube: Kube, t: Target) -> tuple[Status, str]:
    pvc = kube.get(f"/api/v1/namespaces/{t.namespace}/persistentvolumeclaims/{t.claim}")
    if pvc is None:
        return Status.FAIL, f"PersistentVolumeClaim {t.claim} not found"
    phase = (pvc.get("status") or {}).get("phase") or "without a phase"
    size = ((pvc.get("status") or {}).get("capacity") or {}).get("storage", "?")
    if phase != "Bound":
        waiting = _waits_for_a_pod(kube, t, pvc)
        if waiting:
            return Status.WARN, f"{t.claim} is {phase}: {waiting}"
        return Status.FAIL, f"{t.claim} is {phase}, not Bound"
    return Status.PASS, f"{t.claim} Bound ({size})"


def _waits_for_a_pod(kube: Kube, t: Target, pvc: dict[str, Any]) -> str:
    """Why a Pending claim is not (yet) a fault: its class binds a volume only once a pod
    that uses it is scheduled (WaitForFirstConsumer: k3s's local-path), and none is; "" else."""
    name = (pvc.get("spec") or {}).get("storageClassName")
    try:
        found = kube.get(f"/apis/storage.k8s.io/v1/storageclasses/{name}") if name else None
        selector = f"app.kubernetes.io/name=pocket-id,app.kubernetes.io/instance={t.name}"
        pods = kube.get(f"/api/v1/namespaces/{t.namespace}/pods?labelSelector={selector}") or {}
    except KubeForbidden:
        return ""
    if (found or {}).get("volumeBindingMode") != "WaitForFirstConsumer":
        return ""
    if any((p.get("spec") or {}).get("nodeName") for p in pods.get("items") or []):
        return ""
    return (
        f"its StorageClass {name} binds a volume only when a pod that uses it is scheduled "
        "(WaitForFirstConsumer), and none is yet (see rollout and pods)"
    )


def _certificates(kube: Kube, t: Target) -> tuple[Status, str]:
    details, problems = [], []
    for name in t.certificates:
        cert = kube.get(f"/apis/cert-manager.io/v1/namespaces/{t.namespace}/certificates/{name}")
        if cert is None:
            problems.append(f"Certificate {name} not found")
            continue
        ready = conditions(cert).get("Ready", {})
        if ready.get("status") != "True":
            why = ready.get("message") or "no Ready condition yet (is cert-manager running?)"
            problems.append(f"Certificate {name} is not Ready: {why}")
            continue
        not_after = (cert.get("status") or {}).get("notAfter", "")
        details.append(f"{name} Ready until {not_after[:10] or '?'}")
    if problems:
        return Status.FAIL, "; ".join(problems + details)
    return Status.PASS, "; ".join(details)


def _sealed_secret(kube: Kube, t: Target) -> tuple[Status, str]:
    ns = t.namespace
    sealed = kube.get(f"/apis/{ss.API_VERSION}/namespaces/{ns}/sealedsecrets/{t.secret}")
    if sealed is None:
        return Status.FAIL, f"SealedSecret {t.secret} not found"
    synced = conditions(sealed).get("Synced", {})
    if synced.get("status") != "True":
        return (
            Status.FAIL,
            f"SealedSecret {t.secret} is not Synced: {synced.get('message', 'no condition')}",
        )
    secret = kube.get(f"/api/v1/namespaces/{ns}/secrets/{t.secret}", metadata_only=True)
    if secret is None:
        return Status.FAIL, f"SealedSecret {t.secret} is Synced but its Secret is missing"
    return Status.PASS, f"{t.secret} Synced, Secret present (its data not read)"


def _applicationsets(kube: Kube, t: Target) -> list[Coverage] | None:
    """What each ApplicationSet would generate for the folder; None when ApplicationSets
    are not served or may not be listed (the Application is then found by what it deploys)."""
    if "ApplicationSet" not in (kube.resources(argocd.API_VERSION) or {}):
        return None
    try:
        listing = kube.get(
            f"/apis/{argocd.API_VERSION}/namespaces/{t.application_namespace}/applicationsets"
        )
    except KubeForbidden:
        return None
    return coverage((listing or {}).get("items") or [], t.app_path)


def _application(kube: Kube, t: Target) -> tuple[Status, str]:
    if kube.resources(argocd.API_VERSION) is None:
        return Status.SKIP, f"Argo CD's {argocd.API_VERSION} is not served here"
    covers = _applicationsets(kube, t)
    found = find_application(
        kube.get, t.application_namespace, t.app_path, t.namespace, t.application, covers
    )
    if found is None:
        missing = (
            f"no Application in {t.application_namespace} deploys {t.app_path} to namespace "
            f"{t.namespace}"
        )
        if covers is None:
            return Status.FAIL, missing
        return Status.FAIL, f"{missing}; {no_application(covers, t.app_path)}"
    status = found.app.get("status") or {}
    sync = (status.get("sync") or {}).get("status")
    health = (status.get("health") or {}).get("status")
    which = f"Application {found.name} (found by {found.how})"
    if sync == "Synced" and health == "Healthy":
        return Status.PASS, f"{which}: Synced and Healthy"
    if sync is None and health is None:
        return (
            Status.FAIL,
            f"{which}: Argo CD has not reported its sync or health yet (no status: is its "
            "application controller running, and does the project admit it?)",
        )
    return Status.FAIL, f"{which}: sync {sync or 'not reported'}, health {health or 'not reported'}"


_CHECKS: Final[tuple[tuple[str, Callable[[Kube, Target], tuple[Status, str]]], ...]] = (
    ("rollout", _deployment),
    ("pods", _pods),
    ("volume", _claim),
    ("certificates", _certificates),
    ("sealed-secret", _sealed_secret),
    ("argocd", _application),
)
