"""Cross-references: what one object names must exist, and agree, in the set."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import Final

from pocketid_k8s.check.context import Context, Workload, ingress_backends
from pocketid_k8s.check.model import Finding, Path, Resource, Severity, get
from pocketid_k8s.check.rules import finding
from pocketid_k8s.contract import DATA_DIR, argocd
from pocketid_k8s.contract import sealed_secrets as ss

OUTSIDE_APP_NAMESPACE: Final = frozenset(("RecurringJob", "Application", "AppProject", "Namespace"))
"""Kinds that live in their controller's namespace, or in none."""
SYNC_OPTIONS: Final = argocd.SYNC_OPTIONS
SCOPE_ANNOTATIONS: Final = ss.SCOPE_ANNOTATIONS


def check(ctx: Context) -> Iterator[Finding]:
    yield from _services(ctx)
    yield from _ingresses(ctx)
    for workload in ctx.workloads:
        yield from _pod_references(ctx, workload)
        yield from _volume_mounts(workload)
    yield from _namespaces(ctx)
    yield from _prune_protection(ctx)
    yield from _sealed_scopes(ctx)
    yield from _argocd_destinations(ctx)


def _services(ctx: Context) -> Iterator[Finding]:
    for service in ctx.of_kind("Service"):
        selector = get(service.doc, "spec", "selector")
        if not isinstance(selector, dict) or not selector:
            continue
        pods = [
            w
            for w in ctx.workloads
            if not w.init
            and all(w.labels.get(k) == v for k, v in selector.items())
            and (
                not w.resource.namespace
                or not service.namespace
                or w.resource.namespace == service.namespace
            )
        ]
        if not pods:
            if ctx.workloads:
                yield finding(
                    service,
                    "refs/service-selector",
                    f"the selector {selector} matches no pod template in the set",
                    "make it match the Deployment's template labels",
                    ("spec", "selector"),
                )
            continue
        ports = {
            str(p.get(key))
            for w in pods
            for p in w.container.get("ports") or []
            if isinstance(p, dict)
            for key in ("name", "containerPort")
            if p.get(key) is not None
        }
        for i, port in enumerate(get(service.doc, "spec", "ports") or []):
            target = port.get("targetPort", port.get("port")) if isinstance(port, dict) else None
            if target is not None and str(target) not in ports:
                yield finding(
                    service,
                    "refs/service-selector",
                    f"targetPort {target} is not a "
                    f"port of the selected containers ({', '.join(sorted(ports)) or 'none'})",
                    "target the container's port by name or number",
                    ("spec", "ports", i, "targetPort"),
                )


def _ingresses(ctx: Context) -> Iterator[Finding]:
    for ingress in ctx.of_kind("Ingress"):
        for path, backend in ingress_backends(ingress):
            name = get(backend, "service", "name")
            if name is None:
                continue
            service = ctx.find(("Service",), str(name), ingress.namespace)
            if service is None:
                yield finding(
                    ingress,
                    "refs/ingress-backend",
                    f"the backend Service {name} is not in the set",
                    "add it, or correct the name",
                    (*path, "service", "name"),
                )
                continue
            port = get(backend, "service", "port") or {}
            wanted = port.get("number", port.get("name"))
            offered = {
                str(p.get(k))
                for p in get(service.doc, "spec", "ports") or []
                if isinstance(p, dict)
                for k in ("port", "name")
                if p.get(k) is not None
            }
            if wanted is not None and str(wanted) not in offered:
                yield finding(
                    ingress,
                    "refs/ingress-backend",
                    f"Service {name} has no port {wanted} (it has {', '.join(sorted(offered))})",
                    "use one of the Service's ports",
                    (*path, "service", "port"),
                )
        issuer = any(k.startswith("cert-manager.io/") for k in ingress.annotations)
        for t, tls in enumerate(get(ingress.doc, "spec", "tls") or []):
            yield from _tls(ctx, ingress, t, tls, issuer)


def _tls(ctx: Context, ingress: Resource, t: int, tls: object, shim: bool) -> Iterator[Finding]:
    secret = get(tls, "secretName")
    if not secret:
        return
    certs = [
        c
        for c in ctx.of_kind("Certificate")
        if get(c.doc, "spec", "secretName") == secret
        and (not c.namespace or not ingress.namespace or c.namespace == ingress.namespace)
    ]
    if not certs:
        if (
            not shim
            and ctx.find(("Secret", "SealedSecret"), str(secret), ingress.namespace) is None
        ):
            yield finding(
                ingress,
                "refs/ingress-tls",
                f"no Certificate in the set writes the TLS Secret {secret}",
                "add a cert-manager Certificate with that secretName",
                ("spec", "tls", t, "secretName"),
                severity=Severity.WARNING,
            )
        return
    names = [str(n) for c in certs for n in get(c.doc, "spec", "dnsNames") or []]
    for h, host in enumerate(get(tls, "hosts") or []):
        if not any(_covers(name, str(host)) for name in names):
            yield finding(
                ingress,
                "refs/ingress-tls",
                f"the certificate in {secret} covers "
                f"{', '.join(names) or 'no name'}, not {host}: browsers will refuse it",
                f"add {host} to the Certificate's dnsNames",
                ("spec", "tls", t, "hosts", h),
            )


def _covers(name: str, host: str) -> bool:
    if name.startswith("*."):
        return host.count(".") == name.count(".") and fnmatchcase(host, name)
    return name == host


def _volume_mounts(w: Workload) -> Iterator[Finding]:
    """Each mount names a volume of the pod, and no two share a mountPath (API server rules)."""
    volumes = {v.get("name") for v in w.pod.get("volumes") or [] if isinstance(v, dict)}
    seen: dict[str, str] = {}
    for i, mount in enumerate(w.container.get("volumeMounts") or []):
        if not isinstance(mount, dict):
            continue
        name, where = mount.get("name"), mount.get("mountPath")
        path: Path = (*w.container_path, "volumeMounts", i)
        if name not in volumes:
            yield finding(
                w.resource,
                "refs/volume-mounts",
                f"container {w.container.get('name')!r} mounts {name!r}, which is not a volume "
                "of the pod; the API server refuses it",
                "add the volume under the pod's volumes, or correct the name",
                (*path, "name"),
            )
        if isinstance(where, str) and where.rstrip("/") in seen:
            yield finding(
                w.resource,
                "refs/volume-mounts",
                f"container {w.container.get('name')!r} mounts {name!r} at {where}, where it "
                f"already mounts {seen[where.rstrip('/')]!r}; the API server refuses two mounts "
                "at one path",
                f"give each volume its own mountPath (Pocket-ID's data belongs at {DATA_DIR})",
                (*path, "mountPath"),
            )
        elif isinstance(where, str):
            seen[where.rstrip("/")] = str(name)


def _pod_references(ctx: Context, w: Workload) -> Iterator[Finding]:
    ns, base = w.resource.namespace, w.container_path
    for i, source in enumerate(w.container.get("envFrom") or []):
        for ref_key, kinds in (
            ("configMapRef", ("ConfigMap",)),
            ("secretRef", ("Secret", "SealedSecret")),
        ):
            ref = get(source, ref_key)
            if isinstance(ref, dict) and not ref.get("optional"):
                yield from _exists(
                    ctx,
                    w.resource,
                    kinds,
                    str(ref.get("name")),
                    ns,
                    (*base, "envFrom", i, ref_key, "name"),
                )
    for i, entry in enumerate(w.container.get("env") or []):
        for ref_key, kinds in (
            ("secretKeyRef", ("Secret", "SealedSecret")),
            ("configMapKeyRef", ("ConfigMap",)),
        ):
            ref = get(entry, "valueFrom", ref_key)
            if isinstance(ref, dict) and not ref.get("optional"):
                yield from _exists(
                    ctx,
                    w.resource,
                    kinds,
                    str(ref.get("name")),
                    ns,
                    (*base, "env", i, "valueFrom", ref_key),
                    key=str(ref.get("key")),
                )
    if w.index != 0 or w.init:
        return  # pod-level references once per pod
    for i, volume in enumerate(w.pod.get("volumes") or []):
        if not isinstance(volume, dict):
            continue
        path: Path = (*w.pod_path, "volumes", i)
        if isinstance(volume.get("persistentVolumeClaim"), dict):
            claim = str(volume["persistentVolumeClaim"].get("claimName"))
            yield from _exists(ctx, w.resource, ("PersistentVolumeClaim",), claim, ns, path)
        for ref_key, kinds, name_key in (
            ("secret", ("Secret", "SealedSecret"), "secretName"),
            ("configMap", ("ConfigMap",), "name"),
        ):
            ref = volume.get(ref_key)
            if isinstance(ref, dict) and not ref.get("optional"):
                for item in ref.get("items") or [None]:
                    key = str(item.get("key")) if isinstance(item, dict) else None
                    yield from _exists(
                        ctx, w.resource, kinds, str(ref.get(name_key)), ns, path, key=key
                    )
    account = w.pod.get("serviceAccountName")
    if account:
        yield from _exists(
            ctx,
            w.resource,
            ("ServiceAccount",),
            str(account),
            ns,
            (*w.pod_path, "serviceAccountName"),
        )


def _exists(
    ctx: Context,
    res: Resource,
    kinds: tuple[str, ...],
    name: str,
    ns: str,
    path: Path,
    *,
    key: str | None = None,
) -> Iterator[Finding]:
    holder = ctx.find_secret(name, ns) if "Secret" in kinds else ctx.find(kinds, name, ns)
    if holder is None:
        yield finding(
            res,
            "refs/missing-reference",
            f"{kinds[0]} {name} is not in the checked set; the pod cannot start until it exists",
            f"add {kinds[0]} {name}, or check the files that hold it too",
            path,
        )
    elif key is not None and holder.kind != "Certificate" and key not in ctx.keys_of(holder):
        yield finding(
            res,
            "refs/missing-key",
            f"{holder.kind} {name} has no key {key!r} "
            f"(it has {', '.join(sorted(ctx.keys_of(holder))) or 'none'})",
            "use one of its keys, or add the key",
            path,
        )


def _namespaces(ctx: Context) -> Iterator[Finding]:
    app = [r for r in ctx.resources if r.kind not in OUTSIDE_APP_NAMESPACE and r.namespace]
    counts = Counter(r.namespace for r in app)
    if len(counts) <= 1:
        return
    home = (ctx.pocket_ids[0].resource.namespace if ctx.pocket_ids else "") or counts.most_common(
        1
    )[0][0]
    for resource in app:
        if resource.namespace != home:
            yield finding(
                resource,
                "refs/namespace",
                f"in namespace {resource.namespace}, while "
                f"the app is in {home}: references across namespaces do not resolve",
                f"put it in {home}",
                ("metadata", "namespace"),
            )


def _prune_protection(ctx: Context) -> Iterator[Finding]:
    for resource in ctx.of_kind("PersistentVolumeClaim", "Namespace"):
        options = {o.strip() for o in str(resource.annotations.get(SYNC_OPTIONS, "")).split(",")}
        if argocd.PRUNE_FALSE not in options:
            what = (
                "the database with it"
                if resource.kind == "PersistentVolumeClaim"
                else "everything in it"
            )
            yield finding(
                resource,
                "refs/prune-protection",
                f"Argo CD may prune this {resource.kind} when it leaves git, deleting {what}",
                f"annotate it {SYNC_OPTIONS}: {argocd.KEEP_ON_PRUNE}",
                ("metadata",),
            )


def _sealed_scopes(ctx: Context) -> Iterator[Finding]:
    for sealed in ctx.of_kind("SealedSecret"):
        template = get(sealed.doc, "spec", "template", "metadata") or {}
        outer = {a: sealed.annotations.get(a) == "true" for a in SCOPE_ANNOTATIONS}
        inner_annotations = template.get("annotations") or {}
        inner = {a: inner_annotations.get(a) == "true" for a in SCOPE_ANNOTATIONS}
        if outer != inner:
            yield finding(
                sealed,
                "refs/sealed-secret-scope",
                "the scope annotations on the "
                "SealedSecret and on its template differ, so the controller and "
                "kubeseal disagree about how it was sealed",
                "seal it again with one --scope",
                ("spec", "template", "metadata"),
            )
        strict = not any(outer.values())
        for field in (
            ("name", "namespace")
            if strict
            else ("namespace",)
            if outer[SCOPE_ANNOTATIONS[0]]
            else ()
        ):
            mine, theirs = getattr(sealed, field), template.get(field)
            if theirs and mine and theirs != mine:
                yield finding(
                    sealed,
                    "refs/sealed-secret-scope",
                    f"the template's {field} is "
                    f"{theirs} but the SealedSecret's is {mine}: a value sealed for "
                    f"one cannot be decrypted as the other",
                    "seal it again for the name and namespace it has",
                    ("spec", "template", "metadata", field),
                )


def _argocd_destinations(ctx: Context) -> Iterator[Finding]:
    for app in ctx.of_kind("Application"):
        project_name = str(get(app.doc, "spec", "project") or argocd.DEFAULT_PROJECT)
        project = next((p for p in ctx.of_kind("AppProject") if p.name == project_name), None)
        destination = get(app.doc, "spec", "destination") or {}
        namespace = str(destination.get("namespace") or "")
        if project is None:
            yield finding(
                app,
                "refs/argocd-destination",
                f"its project {project_name} is not in "
                "the checked set, so its destination was not checked",
                "check the project file too",
                ("spec", "project"),
                severity=Severity.INFO,
            )
            continue
        server, name = destination.get("server"), destination.get("name")
        dst = argocd.Destination(
            namespace, str(server) if server else None, str(name) if name else None
        )
        verdict = argocd.match_destination(get(project.doc, "spec", "destinations") or [], dst)
        if not verdict.admitted:
            why = (
                f"its destination {verdict.deny_pattern!r} denies it (deny entries win in any "
                "order)"
                if verdict.denied_by is not None
                else "no entry admits it"
            )
            yield finding(
                app,
                "refs/argocd-destination",
                f"project {project_name} does not admit {dst.label()}: {why}, so Argo CD "
                "refuses to sync it",
                f"pocketid-k8s argocd allow-namespace {project.file}"
                if verdict.denied_by is None
                else "remove or narrow that deny entry in the project",
                ("spec", "destination"),
            )
        spec = get(project.doc, "spec") or {}
        for kind in _cluster_kinds(ctx):
            allowed = argocd.kind_permitted(spec, *kind, namespaced=False)
            if not allowed.admitted:
                yield finding(
                    app,
                    "refs/argocd-destination",
                    f"project {project_name}: {allowed.reason}, so Argo CD refuses to sync "
                    f"the {kind[1]} in the set",
                    f"pocketid-k8s argocd allow-namespace {project.file}"
                    if "Whitelist" in allowed.reason
                    else f"remove {kind[1]} from clusterResourceBlacklist in the project",
                    ("spec", "project"),
                )


def _cluster_kinds(ctx: Context) -> list[tuple[str, str]]:
    """(group, kind) of the cluster-scoped objects in the set that an Application would sync."""
    found = {argocd.NAMESPACE_KIND for _ in ctx.of_kind("Namespace")}
    return sorted(found)
