"""Does the NetworkPolicy admit the namespace where the ingress controller's pods
actually run? k3s runs Traefik in kube-system, its Helm chart in traefik; a wrong
namespace makes every request time out at the proxy, and only the cluster can tell.

A controller with ``hostNetwork: true`` sends its traffic from the node's address, which
no ``namespaceSelector`` matches (Kubernetes leaves NetworkPolicy for host-network pods
undefined; kube-router of k3s, Calico and Cilium see the node): then only an ``ipBlock``
holding the nodes' addresses, or a rule open to every source, admits it.
"""

from __future__ import annotations

import ipaddress
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


def _controller_pods(ctx: Context, name: str) -> tuple[list[dict[str, Any]], str]:
    """The controller's pods (or its Deployments' pod templates, as pods without status)."""
    ctx.need("list", "pods")
    pods = ctx.get(f"/api/v1/pods?labelSelector=app.kubernetes.io/name={name}") or {}
    found = [p for p in pods.get("items") or [] if isinstance(p, dict)]
    if found:
        return found, f"pods labelled app.kubernetes.io/name={name}"
    ctx.need("list", "deployments", "apps")
    deployments = ctx.get(f"/apis/apps/v1/deployments?fieldSelector=metadata.name={name}") or {}
    templates = [
        {
            "metadata": {"namespace": (d.get("metadata") or {}).get("namespace")},
            "spec": ((d.get("spec") or {}).get("template") or {}).get("spec") or {},
        }
        for d in deployments.get("items") or []
        if isinstance(d, dict)
    ]
    return templates, f"Deployment {name}"


def _peers(policies: list[Any]) -> list[dict[str, Any]]:
    """Every ``from`` peer of the policies' ingress rules; a rule without ``from`` admits every
    source, and is one empty peer."""
    found = []
    for policy in policies:
        for rule in (policy.obj.get("spec") or {}).get("ingress") or []:
            found += [peer for peer in rule.get("from") or [{}] if isinstance(peer, dict)]
    return found


def _in_block(address: str, block: dict[str, Any]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
        network = ipaddress.ip_network(str(block.get("cidr")), strict=False)
        excepted = [ipaddress.ip_network(str(e), strict=False) for e in block.get("except") or []]
    except ValueError:
        return False
    return ip in network and not any(ip in e for e in excepted)


def _host_network(policies: list[Any], pods: list[dict[str, Any]], how: str) -> Row | None:
    """The row for a controller on the host network; None when none of its pods is."""
    host = [p for p in pods if (p.get("spec") or {}).get("hostNetwork") is True]
    if not host:
        return None
    peers = _peers(policies)
    if any(not peer for peer in peers):
        return Row(
            "network-policy",
            Status.PASS,
            f"the ingress controller runs on the host network ({how}), and a rule admits "
            "every source",
        )
    addresses = sorted(
        {
            str((p.get("status") or {}).get("hostIP"))
            for p in host
            if (p.get("status") or {}).get("hostIP")
        }
    )
    blocks = [peer["ipBlock"] for peer in peers if isinstance(peer.get("ipBlock"), dict)]
    shut_out = [a for a in addresses if not any(_in_block(a, b) for b in blocks)]
    nodes = ", ".join(addresses) if addresses else "the nodes' addresses"
    if addresses and not shut_out:
        return Row(
            "network-policy",
            Status.PASS,
            f"the ingress controller runs on the host network ({how}); an ipBlock admits "
            f"its nodes' addresses {nodes}",
        )
    return Row(
        "network-policy",
        Status.FAIL,
        f"the ingress controller runs with hostNetwork: true ({how}), so its requests come "
        f"from the node's address ({', '.join(shut_out) or 'unknown until its pods run'}), which "
        "no namespaceSelector matches: every request would time out at the proxy",
        hint="set [network_policy] enabled = false, or keep it and add a NetworkPolicy of "
        f"your own that admits an ipBlock of the nodes' addresses ({nodes}) on the pod's port",
    )


def network_policy(ctx: Context) -> list[Row]:  # noqa: PLR0911 - one return per verdict
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
    pods: list[dict[str, Any]] = []
    for name in sorted(names):
        found_pods, method = _controller_pods(ctx, name)
        pods += found_pods
        namespaces |= {str((p.get("metadata") or {}).get("namespace")) for p in found_pods}
        how.append(method)
    host_row = _host_network(policies, pods, ", ".join(how))
    if host_row is not None:
        return [host_row]
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
