"""cert-manager Certificates for the public and the internal host."""

from __future__ import annotations

from pocketid_k8s.config import Config
from pocketid_k8s.render._meta import Manifest, metadata


def certificate(config: Config, secret_name: str, host: str) -> Manifest:
    certs = config.certificates
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": metadata(config, secret_name, component="tls"),
        "spec": {
            "secretName": secret_name,
            "dnsNames": [host],
            "issuerRef": {
                "name": certs.issuer,
                "kind": certs.issuer_kind,
                "group": "cert-manager.io",
            },
        },
    }


def public_certificate(config: Config) -> Manifest:
    return certificate(config, config.certificates.public_secret, config.public_host)


def internal_certificate(config: Config) -> Manifest:
    return certificate(config, config.certificates.internal_secret, config.ingress.internal_host)
