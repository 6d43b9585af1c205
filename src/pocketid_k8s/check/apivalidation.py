"""What the API server refuses in core kinds although their OpenAPI schemas allow it.

The published schemas of core kinds carry types, not the rules of the API server's own
validation (``pkg/apis/*/validation`` in Kubernetes): enumerations such as a port's
protocol or an Ingress path's type, a container's required image, quantities. Found by
the agreement test (tests/test_schema_agreement.py), which compares ``check`` with a real
kube-apiserver; each rule below is one the server enforces, as of Kubernetes 1.35.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Final

from pocketid_k8s.check.model import POD_SPEC_PATHS, Finding, Path, Resource, dotted
from pocketid_k8s.check.rules import finding
from pocketid_k8s.contract import kubernetes as k8s
from pocketid_k8s.quantity import parse_quantity

__all__ = ["api_rules", "meta_rules"]

MAX_LABEL_FINDINGS: Final = 10
"""Labels refused in one object, at the most (a generated object may carry thousands)."""

PROTOCOLS: Final = ("TCP", "UDP", "SCTP")
ENUMS: Final[dict[str, tuple[tuple[str, tuple[str, ...]], ...]]] = {
    "Service": (
        ("spec.ports.*.protocol", PROTOCOLS),
        ("spec.type", ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")),
    ),
    "NetworkPolicy": (
        ("spec.ingress.*.ports.*.protocol", PROTOCOLS),
        ("spec.egress.*.ports.*.protocol", PROTOCOLS),
        ("spec.policyTypes.*", ("Ingress", "Egress")),
    ),
    "Ingress": (
        ("spec.rules.*.http.paths.*.pathType", ("Exact", "Prefix", "ImplementationSpecific")),
    ),
    "PersistentVolumeClaim": (
        (
            "spec.accessModes.*",
            ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"),
        ),
        ("spec.volumeMode", ("Filesystem", "Block")),
    ),
    "Deployment": (("spec.strategy.type", ("Recreate", "RollingUpdate")),),
}
POD_ENUMS: Final = (
    ("restartPolicy", ("Always", "OnFailure", "Never")),
    ("containers.*.imagePullPolicy", ("Always", "IfNotPresent", "Never")),
    ("containers.*.ports.*.protocol", PROTOCOLS),
)
POD_QUANTITIES: Final = (
    "containers.*.resources.requests.*",
    "containers.*.resources.limits.*",
)


def _walk(node: Any, parts: tuple[str, ...], path: Path) -> list[tuple[Path, Any]]:  # noqa: ANN401 - YAML data
    """Every (path, value) that ``parts`` (with ``*`` for each item or key) reaches, in the
    order of the document: a level at a time (every value reached sits at the same depth, so
    this is the order a walk into each in turn gives; no generator per node)."""
    level: list[tuple[Path, Any]] = [(path, node)]
    for head in parts:
        below: list[tuple[Path, Any]] = []
        for at, value in level:
            if head == "*":
                if isinstance(value, list):
                    below += [((*at, index), item) for index, item in enumerate(value)]
                elif isinstance(value, dict):
                    below += [((*at, str(key)), item) for key, item in value.items()]
            elif isinstance(value, dict) and head in value:
                below.append(((*at, head), value[head]))
        if not below:
            return below
        level = below
    return level


def _reach(doc: Any, base: Path, pattern: str) -> list[tuple[Path, Any]]:  # noqa: ANN401 - YAML data
    node = doc
    for part in base:
        node = node.get(part) if isinstance(node, dict) else None
    if node is None:
        return []
    return _walk(node, _parts(pattern), base)


@lru_cache(maxsize=64)
def _parts(pattern: str) -> tuple[str, ...]:
    return tuple(pattern.split("."))


def _refused(resource: Resource, path: Path, message: str, rule: str = "schema/core") -> Finding:
    return finding(
        resource,
        rule,
        f"{dotted(path)}: {message} (the API server refuses it; its schema does not say so)",
        "correct the field as the message says",
        path,
    )


def _selector(resource: Resource) -> list[Finding]:
    """A controller's selector must select its own pod template."""
    spec = resource.doc.get("spec")
    if resource.kind in ("Pod", "Job", "CronJob") or not isinstance(spec, dict):
        return []
    wanted = next((v for _, v in _reach(spec, (), "selector.matchLabels")), None)
    labels = next((v for _, v in _reach(spec, (), "template.metadata.labels")), None) or {}
    if not isinstance(wanted, dict) or not isinstance(labels, dict):
        return []
    missing = {k: v for k, v in wanted.items() if labels.get(k) != v}
    if not missing:
        return []
    return [
        _refused(
            resource,
            ("spec", "template", "metadata", "labels"),
            f"the selector's {missing} are not among the template's labels",
        )
    ]


_label_key_problem = lru_cache(maxsize=4096)(k8s.label_key_problem)
_label_value_problem = lru_cache(maxsize=4096)(k8s.label_value_problem)
"""Remembered: a set of many objects repeats the same few labels."""


def meta_rules(resource: Resource, rule: str) -> list[Finding]:
    """Labels (the object's, its pod template's, its selector's) that the API server refuses
    for any kind, core or custom: a valid key, and a value of at most 63 characters of the
    allowed alphabet (an image tag such as ``v2.2.0_beta-`` made into a label is not one)."""
    found: list[Finding] = []
    places: list[tuple[str, Path]] = [("metadata.labels", ())]
    base = POD_SPEC_PATHS.get(resource.kind)
    if base is not None and resource.kind != "Pod":
        places += [("metadata.labels", base[:-1]), ("selector.matchLabels", base[:-2])]
    for pattern, where in places:
        for path, labels in _reach(resource.doc, where, pattern):
            if not isinstance(labels, dict):
                continue  # a shape the schema reports
            for key, value in labels.items():
                problem = _label_key_problem(key) if isinstance(key, str) else None
                if problem:
                    found.append(_refused(resource, path, f"label key {key!r}: {problem}", rule))
                if isinstance(value, str) and _label_value_problem(value):
                    found.append(
                        _refused(
                            resource,
                            (*path, key),
                            f"label value {value[:80]!r}: {_label_value_problem(value)}",
                            rule,
                        )
                    )
                if len(found) >= MAX_LABEL_FINDINGS:
                    return found
    return found


def _ingress_hosts(resource: Resource) -> list[Finding]:
    """An Ingress rule's host is a DNS name: not an IP address, not Unicode, lower case."""
    found = []
    for path, host in _reach(resource.doc, (), "spec.rules.*.host"):
        if isinstance(host, str) and host and k8s.ingress_host_problem(host):
            reason = k8s.ingress_host_problem(host)
            if reason == k8s.INGRESS_HOST_IP:
                reason += " (and passkeys need a domain: browsers refuse WebAuthn on an IP)"
            found.append(_refused(resource, path, f"{host[:100]!r}: {reason}"))
    return found


def api_rules(resource: Resource) -> list[Finding]:
    """Findings for what the API server's validation of this core kind refuses."""
    doc, kind = resource.doc, resource.kind
    found = []
    for pattern, allowed in ENUMS.get(kind, ()):
        for path, value in _reach(doc, (), pattern):
            if value not in allowed:
                found.append(
                    _refused(resource, path, f"{value!r} is not one of {', '.join(allowed)}")
                )
    if kind == "Ingress":
        found += _ingress_hosts(resource)
    if kind == "PersistentVolumeClaim":
        for path, value in _reach(doc, (), "spec.resources.requests.*"):
            if parse_quantity(str(value)) is None:
                found.append(_refused(resource, path, f"{value!r} is not a quantity"))
        if not any(_reach(doc, (), "spec.resources.requests.storage")):
            found.append(
                _refused(resource, ("spec", "resources", "requests"), "a storage size is required")
            )
    base = POD_SPEC_PATHS.get(kind)
    if base is None:
        return found
    found += _selector(resource)
    for pattern, allowed in POD_ENUMS:
        for path, value in _reach(doc, base, pattern):
            if value not in allowed:
                found.append(
                    _refused(resource, path, f"{value!r} is not one of {', '.join(allowed)}")
                )
    for pattern in POD_QUANTITIES:
        for path, value in _reach(doc, base, pattern):
            if parse_quantity(str(value)) is None:
                found.append(_refused(resource, path, f"{value!r} is not a quantity"))
    for path, container in _reach(doc, base, "containers.*"):
        if isinstance(container, dict) and container.get("image") in (None, ""):
            found.append(_refused(resource, (*path, "image"), "a container needs an image"))
    return found
