"""An Argo CD Application, for users without an ApplicationSet."""

from __future__ import annotations

from pocketid_k8s.config import Config
from pocketid_k8s.contract.argocd import API_VERSION
from pocketid_k8s.render._meta import Manifest, metadata


def application(config: Config) -> Manifest:
    argocd = config.argocd
    return {
        "apiVersion": API_VERSION,
        "kind": "Application",
        "metadata": metadata(config, config.site.name, namespace=argocd.application_namespace),
        "spec": {
            "project": argocd.project,
            "source": {
                "repoURL": argocd.repo_url,
                "targetRevision": argocd.target_revision,
                "path": config.site.app_dir,
            },
            "destination": {"server": argocd.server, "namespace": config.site.namespace},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
    }
