"""Argo CD facts: annotation names, the in-cluster server, and how a project admits things.

The matching follows Argo CD's ``pkg/apis/application/v1alpha1/app_project_types.go``
(``isDestinationMatched``, ``IsGroupKindPermitted``, ``globMatch``), read
upstream (v2.x, ``argo-cd/v2`` module):

- a destination is admitted when at least one entry matches it (server or
  name, and namespace) and no deny entry (``!pattern``) excludes it: deny
  entries win regardless of their order in the list;
- a pattern starting with ``!`` matches what its rest does not match, so an
  entry ``namespace: '!kube-system'`` also admits every other namespace;
- a cluster-scoped kind is admitted when ``clusterResourceWhitelist`` lists
  it and ``clusterResourceBlacklist`` does not (the blacklist wins); a
  namespaced kind when ``namespaceResourceWhitelist`` is absent or lists it,
  and ``namespaceResourceBlacklist`` does not.

Argo CD's globs (gobwas/glob, filepath.Match) are read here as shell
patterns (``fnmatchcase``); they agree on ``*``, ``?`` and ``[...]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Any, Final, NamedTuple

SYNC_OPTIONS: Final = "argocd.argoproj.io/sync-options"
KEEP_ON_PRUNE: Final = "Prune=false,Delete=false"
"""Argo CD never deletes the object: not when it leaves git, not when the app is deleted."""
PRUNE_FALSE: Final = "Prune=false"
IN_CLUSTER: Final = "https://kubernetes.default.svc"
IN_CLUSTER_NAME: Final = "in-cluster"
"""Argo CD's name for the cluster it runs in."""
API_GROUP: Final = "argoproj.io"
API_VERSION: Final = f"{API_GROUP}/v1alpha1"
DEFAULT_PROJECT: Final = "default"
NAMESPACE_KIND: Final = ("", "Namespace")
"""(group, kind) of the Namespace object, cluster-scoped."""

Entry = Mapping[str, Any]


def _is_deny(pattern: str) -> bool:
    return pattern.startswith("!")


def glob_match(pattern: str, value: str, *, allow_negation: bool = True) -> bool:
    """Argo CD's globMatch: ``!p`` matches what ``p`` does not (where negation is allowed)."""
    if allow_negation and _is_deny(pattern):
        return not fnmatchcase(value, pattern[1:])
    return pattern == "*" or fnmatchcase(value, pattern)


class Destination(NamedTuple):
    """An Application's destination: a cluster by server URL or by name, and a namespace."""

    namespace: str
    server: str | None = None
    name: str | None = None

    def label(self) -> str:
        cluster = f"server {self.server}" if self.server else f"cluster {self.name}"
        return f"namespace {self.namespace} on {cluster}"


class Verdict(NamedTuple):
    """Whether a project admits a destination, and the entries that decided it."""

    admitted: bool
    allowed_by: Entry | None = None
    denied_by: Entry | None = None

    @property
    def deny_pattern(self) -> str:
        """The ``!pattern`` of the deny entry that decided, or ''."""
        for key in ("namespace", "server", "name"):
            value = _field(self.denied_by or {}, key)
            if _is_deny(value):
                return value
        return ""


def _field(entry: Entry, key: str) -> str:
    value = entry.get(key)
    return "" if value is None else str(value)


def _cluster_matched(entry: Entry, dst: Destination) -> tuple[bool, bool]:
    """(server matched, name matched) as Argo CD computes them for one entry."""
    server = bool(dst.server) and glob_match(_field(entry, "server"), str(dst.server))
    name = bool(dst.name) and glob_match(_field(entry, "name"), str(dst.name))
    if not name and not dst.name and dst.server == IN_CLUSTER:
        # Argo CD resolves the in-cluster server to its name before matching the project;
        # an entry naming the cluster 'in-cluster' admits a destination given by server.
        name = bool(_field(entry, "name")) and glob_match(_field(entry, "name"), IN_CLUSTER_NAME)
    return server, name


def match_destination(entries: Iterable[object], dst: Destination) -> Verdict:
    """Argo CD's isDestinationMatched over a project's ``spec.destinations``."""
    allowed_by: Entry | None = None
    denied_by: Entry | None = None
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        server, name = _cluster_matched(entry, dst)
        namespace = glob_match(_field(entry, "namespace"), dst.namespace)
        if (server or name) and namespace:
            allowed_by = allowed_by or entry
        elif (
            (not name and _is_deny(_field(entry, "name")))
            or (not server and _is_deny(_field(entry, "server")))
            or (not namespace and _is_deny(_field(entry, "namespace")))
        ):
            denied_by = denied_by or entry
    return Verdict(allowed_by is not None and denied_by is None, allowed_by, denied_by)


def _in_list(group: str, kind: str, entries: object) -> Entry | None:
    for entry in entries if isinstance(entries, list) else []:
        if (
            isinstance(entry, Mapping)
            and fnmatchcase(kind, _field(entry, "kind"))
            and fnmatchcase(group, _field(entry, "group"))
        ):
            return entry
    return None


class KindVerdict(NamedTuple):
    admitted: bool
    reason: str
    """Why not, in words naming the list; empty when admitted."""


def kind_permitted(
    spec: Mapping[str, Any], group: str, kind: str, *, namespaced: bool
) -> KindVerdict:
    """Argo CD's IsGroupKindPermitted for a project's ``spec``."""
    label = f"{kind} ({group or 'core'})"
    prefix = "namespaceResource" if namespaced else "clusterResource"
    allow, deny = spec.get(f"{prefix}Whitelist"), spec.get(f"{prefix}Blacklist")
    if isinstance(deny, list) and _in_list(group, kind, deny) is not None:
        return KindVerdict(False, f"{prefix}Blacklist denies {label} (the blacklist wins)")
    if namespaced and allow is None:
        return KindVerdict(True, "")
    if _in_list(group, kind, allow) is None:
        return KindVerdict(False, f"{prefix}Whitelist does not admit {label}")
    return KindVerdict(True, "")
