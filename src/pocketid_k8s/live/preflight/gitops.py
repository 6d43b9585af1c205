"""Argo CD's side: the AppProject in the cluster admits the bundle (destinations,
cluster-scoped kinds, the source repository), and an Application for the app folder
exists or an ApplicationSet would generate one."""

from __future__ import annotations

from fnmatch import fnmatchcase

import yaml

from pocketid_k8s.argocd import ProjectFileError, admit
from pocketid_k8s.contract.argocd import API_GROUP
from pocketid_k8s.live.argo import API, Coverage, coverage, find_application, no_application
from pocketid_k8s.live.preflight.context import Context
from pocketid_k8s.live.preflight.plan import Argo
from pocketid_k8s.live.report import Row, Status

__all__ = ["application", "project"]


def project(ctx: Context) -> list[Row]:
    argo = ctx.plan.argo
    if ctx.kube.resources(API) is None:
        return [Row("argocd-project", Status.SKIP, f"Argo CD's {API} is not served here")]
    ctx.need("get", "appprojects", API_GROUP, argo.namespace)
    found = ctx.get(f"/apis/{API}/namespaces/{argo.namespace}/appprojects/{argo.project}")
    if found is None:
        return [
            Row(
                "argocd-project",
                Status.FAIL,
                f"AppProject {argo.namespace}/{argo.project} does not exist",
                hint=f"set [argocd] project to one of 'kubectl -n {argo.namespace} get "
                "appprojects' (or [argocd] application_namespace to where Argo CD runs)",
            )
        ]
    namespaces = sorted({i.namespace for i in ctx.plan.items if i.namespace})
    kinds = {
        (str(i.obj["apiVersion"]).rpartition("/")[0], i.kind) for i in ctx.plan.items if i.namespace
    }
    text = yaml.safe_dump({k: found.get(k) for k in ("apiVersion", "kind", "metadata", "spec")})
    label = f"AppProject {argo.namespace}/{argo.project}"
    try:
        result = admit(text, label, namespaces, server=argo.server, namespaced_kinds=kinds)
    except ProjectFileError as exc:
        return [Row("argocd-project", Status.FAIL, exc.message)]
    problems = [f"it does not admit {added}" for added in result.added] + result.warnings
    repos = [str(r) for r in (found.get("spec") or {}).get("sourceRepos") or []]
    repo_note = ""
    if not argo.repo_url:
        repo_note = "; the source repository was not checked ([argocd] repo_url is empty)"
    elif not any(fnmatchcase(argo.repo_url, r) for r in repos if not r.startswith("!")) or any(
        fnmatchcase(argo.repo_url, r[1:]) for r in repos if r.startswith("!")
    ):
        problems.append(f"its sourceRepos {repos} do not admit {argo.repo_url}")
    if problems:
        return [
            Row(
                "argocd-project",
                Status.FAIL,
                f"{label}: " + "; ".join(problems),
                hint="pocketid-k8s argocd allow-namespace PROJECT_FILE, commit, and let Argo CD "
                "sync the project first (or add the source repository to sourceRepos)",
            )
        ]
    return [
        Row(
            "argocd-project",
            Status.PASS,
            f"{label} admits {', '.join(namespaces)} and the bundle's kinds{repo_note}",
        )
    ]


def _coverage(ctx: Context) -> list[Coverage] | None:
    """What each ApplicationSet would generate for the folder; None when ApplicationSets are
    not served or our identity may not list them."""
    argo = ctx.plan.argo
    if not ctx.may("list", "applicationsets", API_GROUP, argo.namespace):
        return None
    sets = ctx.get(f"/apis/{API}/namespaces/{argo.namespace}/applicationsets") or {}
    return coverage(sets.get("items") or [], argo.path)


def application(ctx: Context) -> list[Row]:
    argo = ctx.plan.argo
    if ctx.kube.resources(API) is None:
        return [Row("argocd-app", Status.SKIP, f"Argo CD's {API} is not served here")]
    ctx.need("list", "applications", API_GROUP, argo.namespace)
    site_ns = next((i.name for i in ctx.plan.of_kind("Namespace")), "")
    served = "ApplicationSet" in (ctx.kube.resources(API) or {})
    covers = _coverage(ctx) if served else None
    found = find_application(ctx.get, argo.namespace, argo.path, site_ns, covers=covers)
    if found is not None:
        return [
            Row("argocd-app", Status.PASS, f"Application {found.name} deploys it ({found.how})")
        ]
    if not served:
        return [
            Row(
                "argocd-app",
                Status.FAIL,
                f"no Application deploys {argo.path}, and ApplicationSets are not served",
                hint=_application_fix(argo),
            )
        ]
    return _from_applicationsets(ctx, covers)


def _from_applicationsets(ctx: Context, covers: list[Coverage] | None) -> list[Row]:
    """No Application deploys the folder: would an ApplicationSet generate one?"""
    argo = ctx.plan.argo
    if covers is None:  # they may not be listed: the row is skipped, naming the right
        ctx.need("list", "applicationsets", API_GROUP, argo.namespace)
        covers = []
    yes = next((c for c in covers if c.yes), None)
    if yes is not None:
        return [
            Row(
                "argocd-app",
                Status.PASS,
                f"no Application yet, but ApplicationSet {yes.appset} would generate one for "
                f"{argo.path} ({yes.why}; {yes.named})",
            )
        ]
    unknown = [c.appset for c in covers if c.verdict is None]
    if unknown:
        return [
            Row(
                "argocd-app",
                Status.SKIP,
                f"no Application deploys {argo.path} yet; could not tell whether ApplicationSet "
                f"{', '.join(unknown)} would generate one (generators other than git "
                "directories)",
            )
        ]
    return [
        Row(
            "argocd-app",
            Status.FAIL,
            f"no Application deploys {argo.path}, and no ApplicationSet in {argo.namespace} "
            f"would generate one: {no_application(covers, argo.path)}",
            hint="add the folder to your ApplicationSet's git directories, or "
            + _application_fix(argo),
        )
    ]


def _application_fix(argo: Argo) -> str:
    """The fix that reads the config: with [argocd] application = true the Application is
    rendered already, and only has to reach Argo CD."""
    if argo.application:
        return (
            f"the config has [argocd] application = true: commit the Application that render "
            f"wrote under {argo.application_dir or '[argocd] application_dir'}, and have Argo CD "
            "read that folder (an app of apps) or apply it once (kubectl apply -f)"
        )
    return "set [argocd] application = true, render, and commit the Application"
