"""Traefik Ingresses, and the Middleware that sends the internal host to APP_URL.

Passkeys are bound to APP_URL's host (the WebAuthn relying-party id), so the
internal host name cannot serve logins; it redirects instead.
"""

from __future__ import annotations

from pocketid_k8s.config import Config
from pocketid_k8s.render._meta import Manifest, metadata

TRAEFIK = "traefik.ingress.kubernetes.io"


def redirect_name(config: Config) -> str:
    return f"{config.site.name}-redirect"


def ingress(
    config: Config, name: str, host: str, secret_name: str, middleware: str | None = None
) -> Manifest:
    annotations = {
        f"{TRAEFIK}/router.entrypoints": config.ingress.entrypoint,
        f"{TRAEFIK}/router.tls": "true",
    }
    if middleware:
        # Traefik names a Middleware from Kubernetes as <namespace>-<name>@kubernetescrd.
        annotations[f"{TRAEFIK}/router.middlewares"] = (
            f"{config.site.namespace}-{middleware}@kubernetescrd"
        )
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata(config, name, component="ingress", annotations=annotations),
        "spec": {
            "ingressClassName": config.ingress.class_name,
            "tls": [{"hosts": [host], "secretName": secret_name}],
            "rules": [
                {
                    "host": host,
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {
                                    "service": {
                                        "name": config.service.name,
                                        "port": {"number": config.service.port},
                                    }
                                },
                            }
                        ]
                    },
                }
            ],
        },
    }


def public_ingress(config: Config) -> Manifest:
    return ingress(
        config, f"{config.site.name}-public", config.public_host, config.certificates.public_secret
    )


def internal_ingress(config: Config) -> Manifest:
    middleware = redirect_name(config) if config.ingress.redirect_internal else None
    return ingress(
        config,
        config.site.name,
        config.ingress.internal_host,
        config.certificates.internal_secret,
        middleware,
    )


def redirect_middleware(config: Config) -> Manifest:
    return {
        "apiVersion": "traefik.io/v1alpha1",
        "kind": "Middleware",
        "metadata": metadata(config, redirect_name(config), component="ingress"),
        "spec": {
            "redirectRegex": {
                "regex": _host_pattern(config.ingress.internal_host),
                "replacement": f"{config.pocket_id.app_url}${{1}}",
                "permanent": True,
            }
        },
    }


def _host_pattern(host: str) -> str:
    """A Go (RE2) regex for any URL on ``host``; host names hold only [a-z0-9.-]."""
    return "^https?://" + host.replace(".", "\\.") + "(?::[0-9]+)?(.*)$"
