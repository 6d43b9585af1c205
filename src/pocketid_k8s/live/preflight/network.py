"""Does the NetworkPolicy admit the namespace where the ingress controller's pods
actually run? k3s runs Traefik in kube-system, its Helm chart in traefik; a wrong
namespace makes every request time out at the proxy, and only the cluster can tell."""

from __future__ import annotations

from typing import Any

from pocketid_k8s.live.preflight.context import Context
from pocketid_k8s.live.report import Row, Status

__all__ = ["controller_name", "network_policy"]


def controller_name(controller: str) -> str:
    """ "traefik.io/ingress-controller" -> "traefik"; "k8s.io/ingress-nginx" -> "ingress-nginx"."""
    domain, _, rest = controller.partition("/")
    if rest and rest != "ingress-controller":
        return rest
    return domain.split(".")[0]


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool | None:
    """Whether a label selector selects ``labels``; None when it cannot be told here."""
    if selector.get("matchExpressions"):
        return None
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def _controller_namespaces(ctx: Context, name: str) -> tuple[set[str], str]:
    ctx.need("list", "pods")
    pods = ctx.get(f"/api/v1/pods?labelSelector=app.kubernetes.io/name={name}") or {}
    found = {str(p["metadata"]["namespace"]) for p in pods.get("items") or []}
    if found:
        return found, f"pods labelled app.kubernetes.io/name={name}"
    ctx.need("list", "deployments", "apps")
    deployments = ctx.get(f"/apis/apps/v1/deployments?fieldSelector=metadata.name={name}") or {}
    found = {str(d["metadata"]["namespace"]) for d in deployments.get("items") or []}
    return found, f"Deployment {name}"


def network_policy(ctx: Context) -> list[Row]:
    policies = list(ctx.plan.of_kind("NetworkPolicy"))
    if not policies:
        return [Row("network-policy", Status.SKIP, "the bundle has no NetworkPolicy")]
    classes = {
        str((i.obj.get("spec") or {}).get("ingressClassName"))
        for i in ctx.plan.of_kind("Ingress")
        if (i.obj.get("spec") or {}).get("ingressClassName")
    }
    ctx.need("get", "ingressclasses", "networking.k8s.io")
    names = set()
    for cls in sorted(classes):
        found = ctx.get(f"/apis/networking.k8s.io/v1/ingressclasses/{cls}")
        if found is not None:
            names.add(controller_name(str((found.get("spec") or {}).get("controller", ""))))
    if not names:
        return [
            Row(
                "network-policy",
                Status.SKIP,
                "no IngressClass of the bundle exists, so the ingress controller's pods "
                "cannot be found (see ingress-class)",
            )
        ]
    namespaces: set[str] = set()
    how = []
    for name in sorted(names):
        where_found, method = _controller_namespaces(ctx, name)
        namespaces |= where_found
        how.append(method)
    if not namespaces:
        return [
            Row(
                "network-policy",
                Status.SKIP,
                f"found no pod of the ingress controller ({', '.join(how)}), so which "
                "namespace to admit cannot be told",
            )
        ]
    ctx.need("get", "namespaces")
    shut_out: list[str] = []
    unknown: list[str] = []
    for ns in sorted(namespaces):
        labels = ((ctx.get(f"/api/v1/namespaces/{ns}") or {}).get("metadata") or {}).get(
            "labels"
        ) or {}
        verdicts = []
        for policy in policies:
            for rule in (policy.obj.get("spec") or {}).get("ingress") or []:
                for peer in rule.get("from") or [{}]:
                    selector = peer.get("namespaceSelector")
                    if selector is not None and "podSelector" not in peer:
                        verdicts.append(_selects(selector, labels))
        if True in verdicts:
            continue
        (unknown if None in verdicts else shut_out).append(ns)
    where = ", ".join(sorted(namespaces))
    if shut_out:
        return [
            Row(
                "network-policy",
                Status.FAIL,
                f"the ingress controller runs in {where} ({', '.join(how)}), but the "
                f"NetworkPolicy does not admit {', '.join(shut_out)}: every request would time "
                "out at the proxy",
                hint=f"set [network_policy] ingress_namespace = {shut_out[0]!r}",
            )
        ]
    if unknown:
        return [
            Row(
                "network-policy",
                Status.SKIP,
                f"the ingress controller runs in {where}; the policy's matchExpressions "
                "cannot be evaluated here",
            )
        ]
    return [
        Row(
            "network-policy",
            Status.PASS,
            f"admits {where}, where the ingress controller runs ({', '.join(how)})",
        )
    ]
