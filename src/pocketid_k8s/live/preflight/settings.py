"""Which setting of the site config changes what a preflight row found: the fixes the rows
name, so that a cluster without Longhorn, Traefik's CRDs or Argo CD is told what to set
rather than only what to install."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from pocketid_k8s.contract import argocd
from pocketid_k8s.contract import sealed_secrets as ss

__all__ = ["GROUP_FIXES", "kind_fixes"]

GROUP_FIXES: Final = {
    "longhorn.io": 'Longhorn is not installed here: set [backup] mode = "none" (or "group", '
    "which only labels the volume) to render no RecurringJob, or install Longhorn",
    "traefik.io": "Traefik's CRDs are not installed here: set [ingress] redirect_internal = "
    'false (no Middleware) or internal_host = "" (no internal Ingress), or install them',
    argocd.API_GROUP: "Argo CD is not installed here: set [argocd] application = false (no "
    "Application), or install Argo CD",
    "cert-manager.io": "install cert-manager (the bundle's Certificates need it)",
    ss.API_VERSION.rpartition("/")[0]: "install the sealed-secrets controller (the key is a "
    "SealedSecret)",
}
"""An API group the bundle uses, and the fix when the cluster does not serve it."""
DEFAULT_FIX: Final = (
    "install the controller that provides each kind (its CRDs), at a version serving that "
    "apiVersion"
)


def kind_fixes(groups: Iterable[str]) -> str:
    """The fix for the API groups (of kinds) that this cluster does not serve."""
    fixes = dict.fromkeys(GROUP_FIXES.get(group, DEFAULT_FIX) for group in sorted(groups))
    return "; ".join(fixes) or DEFAULT_FIX
