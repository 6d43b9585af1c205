"""What the API server refuses in core kinds although their OpenAPI schemas allow it.

The published schemas of core kinds carry types, not the rules of the API server's own
validation (``pkg/apis/*/validation`` in Kubernetes): enumerations such as a port's
protocol or an Ingress path's type, a container's required image, quantities. Found by
the agreement test (tests/test_schema_agreement.py), which compares ``check`` with a real
kube-apiserver; each rule below is one the server enforces, as of Kubernetes 1.35.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from pocketid_k8s.check.model import POD_SPEC_PATHS, Finding, Path, Resource, dotted
from pocketid_k8s.check.rules import finding
from pocketid_k8s.quantity import parse_quantity

__all__ = ["api_rules"]

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


def _walk(node: Any, parts: list[str], path: Path) -> Iterator[tuple[Path, Any]]:  # noqa: ANN401 - YAML data
    """Every (path, value) that ``parts`` (with ``*`` for each item or key) reaches."""
    if not parts:
        yield path, node
        return
    head, rest = parts[0], parts[1:]
    if head == "*":
        if isinstance(node, list):
            for index, item in enumerate(node):
                yield from _walk(item, rest, (*path, index))
        elif isinstance(node, dict):
            for key, item in node.items():
                yield from _walk(item, rest, (*path, str(key)))
    elif isinstance(node, dict) and head in node:
        yield from _walk(node[head], rest, (*path, head))


def _reach(doc: Any, base: Path, pattern: str) -> Iterator[tuple[Path, Any]]:  # noqa: ANN401 - YAML data
    node = doc
    for part in base:
        node = node.get(part) if isinstance(node, dict) else None
    if node is not None:
        yield from _walk(node, pattern.split("."), base)


def _refused(resource: Resource, path: Path, message: str) -> Finding:
    return finding(
        resource,
        "schema/core",
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
