"""What the bundle takes for granted in the cluster: its kinds served, the namespaces
it does not create, the ClusterIssuer, the IngressClass, the StorageClass, and the
Traefik Middleware beside the Ingress that names it. No API server checks these
references itself; a missing one shows up only after the sync, as a pod or a
certificate that never becomes ready."""

from __future__ import annotations

from pocketid_k8s.live.kube import conditions
from pocketid_k8s.live.preflight.context import Context
from pocketid_k8s.live.preflight.settings import kind_fixes
from pocketid_k8s.live.report import Row, Status

__all__ = ["cluster_issuer", "kinds_served", "middleware", "namespaces", "storage_class"]

MIDDLEWARES_ANNOTATION = "traefik.ingress.kubernetes.io/router.middlewares"
CRD_SUFFIX = "@kubernetescrd"


def kinds_served(ctx: Context) -> list[Row]:
    missing = []
    groups = set()
    kinds = {(str(i.obj["apiVersion"]), i.kind) for i in ctx.plan.items}
    for api_version, kind in sorted(kinds):
        served = ctx.kube.resources(api_version)
        if served is None or kind not in served:
            missing.append(f"{kind} ({api_version})")
            groups.add(api_version.rpartition("/")[0])
    if missing:
        return [
            Row(
                "kinds",
                Status.FAIL,
                "not served by this cluster: " + ", ".join(missing),
                hint=kind_fixes(groups),
            )
        ]
    return [Row("kinds", Status.PASS, f"all {len(kinds)} kinds served at the versions used")]


def namespaces(ctx: Context) -> list[Row]:
    """Namespaces the bundle puts objects in but does not create (e.g. longhorn-system)."""
    needed = sorted(
        {i.namespace for i in ctx.plan.items if i.namespace} - ctx.plan.created_namespaces
    )
    if not needed:
        return [Row("namespaces", Status.PASS, "the bundle creates every namespace it uses")]
    ctx.need("get", "namespaces")
    missing = [ns for ns in needed if ctx.get(f"/api/v1/namespaces/{ns}") is None]
    users = {ns: sorted(i.label for i in ctx.plan.items if i.namespace == ns) for ns in missing}
    if missing:
        return [
            Row(
                "namespaces",
                Status.FAIL,
                "; ".join(
                    f"{ns} does not exist ({', '.join(users[ns])} go there)" for ns in missing
                ),
                hint="install what owns it (Longhorn makes longhorn-system), set [backup] "
                'longhorn_namespace to where it runs, or [backup] mode = "none" to render no '
                "RecurringJob (Longhorn's objects are the only ones outside the app's namespace)",
            )
        ]
    return [Row("namespaces", Status.PASS, f"{', '.join(needed)} exist")]


def cluster_issuer(ctx: Context) -> list[Row]:
    refs = sorted(
        {
            (
                str(((i.obj.get("spec") or {}).get("issuerRef") or {}).get("kind", "Issuer")),
                str(((i.obj.get("spec") or {}).get("issuerRef") or {}).get("name")),
                i.namespace or "",
            )
            for i in ctx.plan.of_kind("Certificate")
        }
    )
    if not refs:
        return [Row("issuer", Status.SKIP, "the bundle has no Certificate")]
    problems, found = [], []
    for kind, name, ns in refs:
        if kind == "ClusterIssuer":
            ctx.need("get", "clusterissuers", "cert-manager.io")
            path = f"/apis/cert-manager.io/v1/clusterissuers/{name}"
        else:
            ctx.need("get", "issuers", "cert-manager.io", ns)
            path = f"/apis/cert-manager.io/v1/namespaces/{ns}/issuers/{name}"
        issuer = ctx.get(path) if ctx.kube.resources("cert-manager.io/v1") else None
        if issuer is None:
            problems.append(f"{kind} {name} does not exist")
            continue
        ready = conditions(issuer).get("Ready") or {}
        if ready.get("status") != "True":
            problems.append(
                f"{kind} {name} is not Ready ({ready.get('message') or 'no Ready condition'})"
            )
        else:
            found.append(f"{kind} {name} Ready")
    if problems:
        return [
            Row(
                "issuer",
                Status.FAIL,
                "; ".join(problems),
                hint="set [certificates] issuer to "
                + (
                    _one_of(ctx, "clusterissuers", "cert-manager.io/v1", "ClusterIssuer")
                    if all(kind == "ClusterIssuer" for kind, _, _ in refs)
                    else f"an Issuer of namespace {refs[0][2]} ([certificates] issuer_kind "
                    "says which kind)"
                )
                + ", or fix the issuer's account or solver",
            )
        ]
    return [Row("issuer", Status.PASS, "; ".join(found))]


def ingress_class(ctx: Context) -> list[Row]:
    names = sorted(
        {
            str((i.obj.get("spec") or {}).get("ingressClassName"))
            for i in ctx.plan.of_kind("Ingress")
            if (i.obj.get("spec") or {}).get("ingressClassName")
        }
    )
    if not names:
        return [Row("ingress-class", Status.SKIP, "no Ingress names an ingressClassName")]
    ctx.need("get", "ingressclasses", "networking.k8s.io")
    missing = [
        n for n in names if ctx.get(f"/apis/networking.k8s.io/v1/ingressclasses/{n}") is None
    ]
    if missing:
        return [
            Row(
                "ingress-class",
                Status.FAIL,
                f"IngressClass {', '.join(missing)} does not exist: no controller would serve "
                "the Ingress",
                hint="set [ingress] class_name to "
                + _one_of(ctx, "ingressclasses", "networking.k8s.io/v1"),
            )
        ]
    return [Row("ingress-class", Status.PASS, f"IngressClass {', '.join(names)} exists")]


def storage_class(ctx: Context) -> list[Row]:
    claims = list(ctx.plan.of_kind("PersistentVolumeClaim"))
    if not claims:
        return [Row("storage-class", Status.SKIP, "the bundle has no PersistentVolumeClaim")]
    ctx.need("get", "storageclasses", "storage.k8s.io")
    rows = []
    for claim in claims:
        name = (claim.obj.get("spec") or {}).get("storageClassName")
        if not name:
            rows.append(Row("storage-class", Status.PASS, f"{claim.label} uses the default class"))
            continue
        if ctx.get(f"/apis/storage.k8s.io/v1/storageclasses/{name}") is None:
            rows.append(
                Row(
                    "storage-class",
                    Status.FAIL,
                    f"StorageClass {name} does not exist: {claim.label} would stay Pending "
                    "and the pod would never start",
                    hint="set [storage] storage_class to "
                    + _one_of(ctx, "storageclasses", "storage.k8s.io/v1"),
                )
            )
        else:
            rows.append(Row("storage-class", Status.PASS, f"StorageClass {name} exists"))
    return rows


def middleware(ctx: Context) -> list[Row]:
    """Traefik looks a Middleware up as NAMESPACE-NAME@kubernetescrd, in the Ingress's namespace."""
    problems, seen = [], []
    middlewares = {(i.namespace, i.name) for i in ctx.plan.of_kind("Middleware")}
    for ingress in ctx.plan.of_kind("Ingress"):
        annotations = (ingress.obj.get("metadata") or {}).get("annotations") or {}
        for listed in str(annotations.get(MIDDLEWARES_ANNOTATION, "")).split(","):
            ref = listed.strip()
            if not ref.endswith(CRD_SUFFIX):
                continue
            qualified = ref.removesuffix(CRD_SUFFIX)
            ns = ingress.namespace or ""
            name = qualified.removeprefix(f"{ns}-")
            if not qualified.startswith(f"{ns}-") or (ns, name) not in middlewares:
                problems.append(
                    f"{ingress.label} names {ref}, but the bundle has no Middleware {name} in "
                    f"its namespace {ns}"
                )
            else:
                seen.append(f"{ingress.label} -> Middleware {ns}/{name}")
    if problems:
        return [
            Row(
                "middleware",
                Status.FAIL,
                "; ".join(problems),
                hint="Traefik resolves NAMESPACE-NAME@kubernetescrd; keep the Middleware in "
                "the Ingress's namespace",
            )
        ]
    if not seen:
        return [Row("middleware", Status.SKIP, "no Ingress names a Traefik Middleware")]
    return [Row("middleware", Status.PASS, "; ".join(seen))]


def _one_of(ctx: Context, plural: str, api_version: str, what: str = "class") -> str:
    """ "one of this cluster's: a, b" (the default marked), or the kubectl command that lists
    them when our identity may not."""
    group = api_version.rpartition("/")[0]
    if not ctx.may("list", plural, group):
        return f"one of 'kubectl get {plural}'"
    found = ctx.get(f"/apis/{api_version}/{plural}") or {}
    names = []
    for item in found.get("items") or []:
        meta = item.get("metadata") or {}
        default = any(
            str(value) == "true"
            for key, value in (meta.get("annotations") or {}).items()
            if key.endswith("/is-default-class")
        )
        names.append(f"{meta.get('name')}{' (the default)' if default else ''}")
    if not names:
        return f"a {what} of this cluster (it has none: 'kubectl get {plural}')"
    return "one of this cluster's: " + ", ".join(sorted(names))
