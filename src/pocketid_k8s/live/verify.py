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
from urllib.parse import urlsplit

from pocketid_k8s.live.kube import KubeError, connect
from pocketid_k8s.live.outside import Progress, outside
from pocketid_k8s.live.report import Outcome
from pocketid_k8s.live.target import Target, VerifyError
from pocketid_k8s.redact import url_shown

__all__ = ["Target", "VerifyError", "check_url", "verify"]


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
