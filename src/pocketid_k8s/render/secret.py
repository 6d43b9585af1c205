"""The SealedSecret placeholder, until the key is sealed with ``pocketid-k8s seal``.

It is deliberately not decryptable: the controller reports it as broken, no
Secret appears and the pod waits for it, so Pocket-ID never starts with a
missing, empty or made-up key. It carries no secret of any kind.
"""

from __future__ import annotations

from pocketid_k8s.config import Config
from pocketid_k8s.markers import PLACEHOLDER_ANNOTATION, PLACEHOLDER_VALUE
from pocketid_k8s.render._meta import Manifest, common_labels, metadata


def sealed_secret_placeholder(config: Config) -> Manifest:
    secret = config.secret
    return {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": metadata(
            config,
            secret.name,
            component="server",
            annotations={
                PLACEHOLDER_ANNOTATION: "not sealed yet; run: pocketid-k8s seal --cert CERT.pem"
            },
        ),
        "spec": {
            "encryptedData": {secret.key: PLACEHOLDER_VALUE},
            "template": {
                "metadata": {
                    "name": secret.name,
                    "namespace": config.site.namespace,
                    "labels": common_labels(config, "server"),
                },
                "type": "Opaque",
            },
        },
    }
