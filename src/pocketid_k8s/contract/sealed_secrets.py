"""Bitnami sealed-secrets facts, and this project's own marks on the SealedSecret it writes."""

from __future__ import annotations

from typing import Final

API_VERSION: Final = "bitnami.com/v1alpha1"
KIND: Final = "SealedSecret"
ANNOTATION_PREFIX: Final = "sealedsecrets.bitnami.com"
NAMESPACE_WIDE: Final = f"{ANNOTATION_PREFIX}/namespace-wide"
CLUSTER_WIDE: Final = f"{ANNOTATION_PREFIX}/cluster-wide"
SCOPE_ANNOTATIONS: Final = (NAMESPACE_WIDE, CLUSTER_WIDE)
"""A SealedSecret (and its template) carries one of these set to "true" when not strict."""
CONTROLLER_NAME: Final = "sealed-secrets"
CONTROLLER_NAMESPACE: Final = "kube-system"
CONTROLLER_NAMES: Final = (CONTROLLER_NAME, "sealed-secrets-controller")
"""Names to look for the controller's Deployment and Service under: the Helm chart's for a
release named sealed-secrets, and kubeseal's default (the plain controller.yaml's)."""
CERT_PATH: Final = "/v1/cert.pem"
"""Where the controller serves its current certificate (what kubeseal --fetch-cert reads)."""

# --- this project's marks ------------------------------------------------------------------

PLACEHOLDER_ANNOTATION: Final = "pocketid-k8s/placeholder"
PLACEHOLDER_VALUE: Final = "NOT-SEALED-run-pocketid-k8s-seal"
"""What ``render`` writes until ``seal`` has run: not decryptable, carries no secret."""
CERT_SHA256_ANNOTATION: Final = "pocketid-k8s/cert-sha256"
"""On the SealedSecret written by ``seal``: lowercase hex SHA-256 of the DER of the controller
certificate it was sealed for (preflight compares it with the controller's current one)."""
