"""The Namespace: the spec's labels, Pod Security "restricted", never pruned."""

from __future__ import annotations

from pocketid_k8s.config import Config
from pocketid_k8s.render._meta import ARGOCD_SYNC_OPTIONS, KEEP_ON_PRUNE, Manifest, metadata

POD_SECURITY_LEVEL = "restricted"


def namespace(config: Config) -> Manifest:
    pod_security = {
        f"pod-security.kubernetes.io/{mode}": POD_SECURITY_LEVEL
        for mode in ("enforce", "audit", "warn")
    }
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": metadata(
            config,
            config.site.namespace,
            namespace=None,
            labels=pod_security,
            annotations={ARGOCD_SYNC_OPTIONS: KEEP_ON_PRUNE},
        ),
    }
