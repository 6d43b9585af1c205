"""What ``verify`` checks, shared by its outside and inside halves (which import this, not
each other or verify: no import circle)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from pocketid_k8s.errors import PocketIdK8sError

__all__ = ["Target", "VerifyError"]


class VerifyError(PocketIdK8sError):
    """The verification cannot run at all: a bad URL, option or CA bundle."""


@dataclass(frozen=True)
class Target:
    """What to verify. Names default from the site config in the command line."""

    app_url: str = ""
    internal_url: str | None = None
    internal_app_url: str | None = None
    ca_bundle: Path | None = None
    timeout: float = 10.0
    http_port: int = 80
    outside: bool = True
    kube: bool = False
    kubeconfig: Path | None = None
    context: str | None = None
    namespace: str = "pocket-id"
    name: str = "pocket-id"
    claim: str = "pocket-id-data"
    certificates: tuple[str, ...] = ("pocket-id-public-tls", "pocket-id-tls")
    secret: str = "pocket-id-secrets"
    application: str = "pocket-id"
    application_namespace: str = "argocd"
    app_path: str = "k8s-apps/utilities/pocket-id"
    """The app folder in the repository: the Application that deploys it is looked for."""

    def tls_context(self) -> ssl.SSLContext:
        try:
            context = ssl.create_default_context(
                cafile=str(self.ca_bundle) if self.ca_bundle else None
            )
        except (OSError, ssl.SSLError) as exc:
            raise VerifyError(
                f"{self.ca_bundle}: not a usable CA bundle ({exc}); fix: give a PEM file of CA "
                "certificates"
            ) from None
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context
