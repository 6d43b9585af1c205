"""``verify``: prove that a live installation works, from outside (TLS, redirect,
health, the database, OIDC discovery, keys) and, with cluster access, from inside
(rollout, pods, volume, certificates, sealed secret, Argo CD).

Every check is a row. An instance that cannot be reached from outside gives failing
rows, and the inside checks still run (that is when they help most). Only "could
not run at all" ends the run with exit 2: a URL or option that makes no sense, no
usable kubeconfig, an API server that does not answer.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pocketid_k8s.errors import PocketIdK8sError
from pocketid_k8s.live.kube import KubeError, connect
from pocketid_k8s.live.outside import Progress, outside
from pocketid_k8s.live.report import Outcome
from pocketid_k8s.redact import url_shown

__all__ = ["Target", "VerifyError", "check_url", "verify"]


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


def check_url(url: str, what: str = "URL") -> str:
    """``url`` without a trailing slash, or VerifyError saying what is wrong with it."""
    fix = "fix: give the address users open, e.g. https://auth.example.com"
    shown = url_shown(url)  # a password in the URL is never repeated
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise VerifyError(f"{what} {shown!r} is not a valid URL ({exc}); {fix}") from None
    if "@" in parts.netloc:
        raise VerifyError(
            f"{what} {shown!r} carries a user name or password: Pocket-ID's address has none, "
            f"and verify sends no credentials; {fix}"
        )
    if parts.scheme == "http":
        raise VerifyError(
            f"{what} {shown!r} uses http://: Pocket-ID is verified over HTTPS (passkeys need it; "
            "the plain-HTTP redirect is checked on the side); fix: give the https:// address"
        )
    if parts.scheme != "https" or not parts.hostname:
        raise VerifyError(f"{what} {shown!r} is not an https:// URL with a host name; {fix}")
    host = parts.hostname
    try:
        ipaddress.ip_address(host)
    except ValueError:
        labels = host.rstrip(".").split(".")
        if any(not label or len(label) > 63 for label in labels) or len(host) > 253:
            raise VerifyError(
                f"{what} {shown!r}: {host!r} is not a valid host name (empty or over-long "
                f"label); {fix}"
            ) from None
    if port == 0:
        raise VerifyError(f"{what} {shown!r}: port 0 cannot be connected to; {fix}")
    if parts.query or parts.fragment or parts.path not in ("", "/"):
        raise VerifyError(
            f"{what} {shown!r} has a path, query or fragment; Pocket-ID is served at the root "
            f"of its host; {fix}"
        )
    return url.rstrip("/")


def verify(target: Target, progress: Progress | None = None) -> Outcome:
    """Run the outside checks (unless ``target.outside`` is off), then the inside ones."""
    outcome = Outcome()
    if target.outside:
        outcome.rows += outside(target, progress)
    if target.kube:
        from pocketid_k8s.live.inside import inside

        try:
            with connect(target.kubeconfig, target.context, target.timeout) as kube:
                outcome.rows += inside(kube, target)
        except KubeError as exc:
            outcome.stopped = exc.message
    return outcome
