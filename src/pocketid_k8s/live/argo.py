"""Find the Argo CD Application that deploys the app folder, whatever its name: the
user's ApplicationSet generates it under a name of its own pattern. Shared by
``verify`` (its sync and health) and ``preflight`` (whether one will exist)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from pocketid_k8s.contract.appset import GENERATED_BY_KIND, render_name
from pocketid_k8s.contract.argocd import API_VERSION as API

__all__ = [
    "API",
    "Coverage",
    "Found",
    "applicationset_covers",
    "coverage",
    "find_application",
    "no_application",
]

Getter = Callable[[str], "dict[str, Any] | None"]


@dataclass(frozen=True)
class Found:
    app: dict[str, Any]
    how: str

    @property
    def name(self) -> str:
        return str((self.app.get("metadata") or {}).get("name"))


def _norm(path: str) -> str:
    return path.strip().strip("/").removeprefix("./")


def _sources(app: dict[str, Any]) -> list[dict[str, Any]]:
    spec = app.get("spec") or {}
    return [s for s in [spec.get("source"), *(spec.get("sources") or [])] if isinstance(s, dict)]


@dataclass(frozen=True)
class Coverage:
    """Whether one ApplicationSet would generate an Application for the folder, and its name."""

    appset: str
    verdict: str | None
    """As applicationset_covers: "yes: ...", "no", or None (cannot be told)."""
    template: str
    """The Application name template that applies to the folder ('' when there is none)."""
    name: str | None
    """``template`` rendered for the folder; None when it cannot be rendered here."""

    @property
    def yes(self) -> bool:
        return bool(self.verdict and self.verdict.startswith("yes"))

    @property
    def why(self) -> str:
        """Why it would generate one (its verdict after "yes: ")."""
        return (self.verdict or "").removeprefix("yes: ")

    @property
    def named(self) -> str:
        """The generated name and the template it comes from, for a message."""
        if self.name is None:
            return f"named by '{self.template}' (not rendered here)"
        return f"named {self.name} by '{self.template}'"


def coverage(appsets: list[dict[str, Any]], path: str) -> list[Coverage]:
    """For each ApplicationSet: would it generate an Application for ``path``, and under
    which name (the generator's own template, else the ApplicationSet's)."""
    found = []
    for appset in appsets:
        spec = appset.get("spec") or {}
        verdict = applicationset_covers(appset, path)
        template = str(((spec.get("template") or {}).get("metadata") or {}).get("name") or "")
        for generator in spec.get("generators") or []:
            own = ((generator.get("template") or {}) if isinstance(generator, dict) else {}).get(
                "metadata"
            ) or {}
            if own.get("name") and isinstance(generator.get("git"), dict):
                template = str(own["name"])
        name = render_name(appset, template, _norm(path)) if template else None
        set_name = str((appset.get("metadata") or {}).get("name"))
        found.append(Coverage(set_name, verdict, template, name))
    return found


def _generated_name(listing: list[dict[str, Any]], covers: list[Coverage]) -> Found | None:
    """The Application bearing the name an ApplicationSet would generate for the folder."""
    by_name = {str((a.get("metadata") or {}).get("name")): a for a in listing}
    for c in covers:
        if c.yes and c.name and c.name in by_name:
            app = by_name[c.name]
            paths = sorted({str(s["path"]) for s in _sources(app) if s.get("path")})
            return Found(
                app,
                f"the name ApplicationSet {c.appset}'s template '{c.template}' gives the folder; "
                f"its source path is {', '.join(paths) or 'not set'}",
            )
    return None


def find_application(
    get: Getter,
    argo_namespace: str,
    path: str,
    namespace: str,
    name: str = "",
    covers: list[Coverage] | None = None,
) -> Found | None:
    """The Application whose source path is ``path`` and whose destination is ``namespace``,
    else the one bearing the name an ApplicationSet generates for ``path`` (``covers``).

    ``name`` (the name a hand-written Application would have) is tried first, but only
    taken when it deploys that path."""
    listing = get(f"/apis/{API}/namespaces/{argo_namespace}/applications") or {}
    wanted = _norm(path)
    candidates = []
    for app in listing.get("items") or []:
        if not any(_norm(str(s.get("path", ""))) == wanted for s in _sources(app)):
            continue
        destination = (app.get("spec") or {}).get("destination") or {}
        if destination.get("namespace") not in (namespace, None, ""):
            continue
        candidates.append(app)
    if not candidates:
        return _generated_name(listing.get("items") or [], covers or [])
    candidates.sort(key=lambda a: (a.get("metadata") or {}).get("name") != name)
    app = candidates[0]
    owners = [
        o.get("name")
        for o in (app.get("metadata") or {}).get("ownerReferences") or []
        if o.get("kind") == GENERATED_BY_KIND
    ]
    how = f"source path {wanted}, destination namespace {namespace}"
    if owners:
        how += f", generated by ApplicationSet {owners[0]}"
        pattern = next((c for c in covers or [] if c.appset == owners[0] and c.yes), None)
        if pattern and pattern.name == (app.get("metadata") or {}).get("name"):
            how += f" under the name its template '{pattern.template}' gives the folder"
    return Found(app, how)


def no_application(covers: list[Coverage], path: str) -> str:
    """What the ApplicationSets say when no Application deploys ``path`` (for a message)."""
    if not covers:
        return "no ApplicationSet is there either"
    yes = [c for c in covers if c.yes]
    if yes:
        return "; ".join(
            f"ApplicationSet {c.appset} would generate one ({c.why}"
            f", {c.named}) but it does not exist yet: the ApplicationSet controller has not "
            "made it (has it seen the commit?)"
            for c in yes
        )
    parts = []
    no = [c.appset for c in covers if c.verdict == "no"]
    unknown = [c.appset for c in covers if c.verdict is None]
    if no:
        parts.append(
            f"the git directories generators of ApplicationSet {', '.join(no)} do not match {path}"
        )
    if unknown:
        parts.append(
            f"could not tell whether ApplicationSet {', '.join(unknown)} would "
            "generate one (generators other than git directories)"
        )
    return "; ".join(parts)


def applicationset_covers(appset: dict[str, Any], path: str) -> str | None:
    """How ``appset`` would generate an Application for ``path``: "yes: ...", "no", or None
    when it cannot be told offline (generators other than git directories)."""
    wanted = _norm(path)
    spec = appset.get("spec") or {}
    unknown = False
    for generator in spec.get("generators") or []:
        git = generator.get("git") if isinstance(generator, dict) else None
        if not isinstance(git, dict) or "directories" not in git:
            unknown = True
            continue
        included = [
            d for d in git.get("directories") or [] if isinstance(d, dict) and d.get("path")
        ]
        if any(d.get("exclude") and fnmatchcase(wanted, _norm(d["path"])) for d in included):
            continue
        for directory in included:
            if not directory.get("exclude") and fnmatchcase(wanted, _norm(directory["path"])):
                return f"yes: its git directories generator matches {directory['path']}"
    return None if unknown else "no"
