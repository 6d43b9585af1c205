"""What every preflight check gets: the connected API server, the plan, and what our
identity may do. A check that lacks a right is skipped with the right it lacks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pocketid_k8s.live.kube import Kube, KubeForbidden
from pocketid_k8s.live.preflight.plan import Plan

__all__ = ["Context", "Denied"]


class Denied(Exception):
    """Our identity may not do what a check needs; the check is skipped, saying which right."""


@dataclass
class Context:
    kube: Kube
    plan: Plan
    rights: dict[tuple[str, str, str, str], bool] = field(default_factory=dict)
    """(verb, resource, group, namespace) -> allowed, from SelfSubjectAccessReviews."""

    def may(self, verb: str, resource: str, group: str = "", namespace: str = "") -> bool:
        key = (verb, resource, group, namespace)
        if key not in self.rights:
            self.rights[key] = self.kube.may(verb, resource, group, namespace)
        return self.rights[key]

    def need(self, verb: str, resource: str, group: str = "", namespace: str = "") -> None:
        if not self.may(verb, resource, group, namespace):
            where = f" in namespace {namespace}" if namespace else ""
            what = f"{resource}.{group}" if group else resource
            raise Denied(f"{verb} {what}{where}")

    def get(self, path: str, *, metadata_only: bool = False) -> dict[str, Any] | None:
        """Like Kube.get, but a refusal (403) skips the check instead of ending the run."""
        try:
            return self.kube.get(path, metadata_only=metadata_only)
        except KubeForbidden:
            raise Denied(f"get {path.split('?', maxsplit=1)[0]}") from None
