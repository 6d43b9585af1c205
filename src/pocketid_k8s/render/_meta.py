"""Shared pieces of every rendered object: labels, metadata, annotations."""

from __future__ import annotations

from typing import Any, Final

from pocketid_k8s.config import Config
from pocketid_k8s.contract.argocd import KEEP_ON_PRUNE, SYNC_OPTIONS

Manifest = dict[str, Any]
"""A Kubernetes object as plain data, ready for a safe YAML emitter."""

APP_NAME: Final = "pocket-id"
ARGOCD_SYNC_OPTIONS: Final = SYNC_OPTIONS
__all__ = ["ARGOCD_SYNC_OPTIONS", "KEEP_ON_PRUNE", "Manifest", "common_labels", "metadata"]


def selector_labels(config: Config) -> dict[str, str]:
    """The immutable labels a Deployment selects its pods by (no version: it changes)."""
    return {"app.kubernetes.io/name": APP_NAME, "app.kubernetes.io/instance": config.site.name}


def common_labels(config: Config, component: str | None = None) -> dict[str, str]:
    """The recommended ``app.kubernetes.io/*`` labels."""
    labels = {
        **selector_labels(config),
        "app.kubernetes.io/version": config.pocket_id.image_ref.tag,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": config.site.part_of,
        "app.kubernetes.io/managed-by": config.site.managed_by,
    }
    return {key: value for key, value in labels.items() if value is not None}


def metadata(
    config: Config,
    name: str,
    *,
    namespace: str | None = "",
    component: str | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> Manifest:
    """Object metadata; ``namespace=""`` means the app's namespace, None a cluster object."""
    body: Manifest = {"name": name}
    if namespace is not None:
        body["namespace"] = namespace or config.site.namespace
    body["labels"] = {**common_labels(config, component), **(labels or {})}
    if annotations:
        body["annotations"] = annotations
    return body
