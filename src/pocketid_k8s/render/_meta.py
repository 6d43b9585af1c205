"""Shared pieces of every rendered object: labels, metadata, annotations."""

from __future__ import annotations

import re
from typing import Any, Final

from pocketid_k8s.config import Config
from pocketid_k8s.contract.argocd import KEEP_ON_PRUNE, SYNC_OPTIONS
from pocketid_k8s.contract.kubernetes import LABEL_VALUE_MAX

Manifest = dict[str, Any]
"""A Kubernetes object as plain data, ready for a safe YAML emitter."""

APP_NAME: Final = "pocket-id"
_LABEL_EDGE: Final = re.compile(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$")
ARGOCD_SYNC_OPTIONS: Final = SYNC_OPTIONS
__all__ = ["ARGOCD_SYNC_OPTIONS", "KEEP_ON_PRUNE", "Manifest", "common_labels", "metadata"]


def selector_labels(config: Config) -> dict[str, str]:
    """The immutable labels a Deployment selects its pods by (no version: it changes)."""
    return {"app.kubernetes.io/name": APP_NAME, "app.kubernetes.io/instance": config.site.name}


def version_label(tag: str) -> str | None:
    """An image tag as a label value: tags may be 128 characters and start with '_' or end
    with '-' or '.', which a label value (and so the API server) refuses; the value keeps the
    tag's first 63 characters between its first and last letter or digit (None: none left)."""
    value = _LABEL_EDGE.sub("", _LABEL_EDGE.sub("", tag)[:LABEL_VALUE_MAX])
    return value or None


def common_labels(config: Config, component: str | None = None) -> dict[str, str]:
    """The recommended ``app.kubernetes.io/*`` labels."""
    labels = {
        **selector_labels(config),
        "app.kubernetes.io/version": version_label(config.pocket_id.image_ref.tag),
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
