"""Cross-references: what one object names must exist, and agree, in the set."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import Final

from pocketid_k8s.check.context import Context, Workload, ingress_backends
from pocketid_k8s.check.model import Finding, Path, Resource, Severity
from pocketid_k8s.check.rules import finding
from pocketid_k8s.check.view import IngressTLS, KeyToPath
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
        selector = service.view.get("spec", {}).get("selector")
        if not selector:
            continue
        pods = ctx.pods_selected(selector, service.namespace)
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
            str(value)
            for w in pods
            for p in w.container.get("ports") or []
            for value in (p.get("name"), p.get("containerPort"))
            if value is not None
        }
        for i, port in enumerate(service.view.get("spec", {}).get("ports") or []):
            target = port.get("targetPort", port.get("port"))
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
            name = (backend.get("service") or {}).get("name")
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
            port = (backend.get("service") or {}).get("port") or {}
            wanted = port.get("number", port.get("name"))
            offered = {
                str(value)
                for p in service.view.get("spec", {}).get("ports") or []
                for value in (p.get("port"), p.get("name"))
                if value is not None
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
        for t, tls in enumerate(ingress.view.get("spec", {}).get("tls") or []):
            yield from _tls(ctx, ingress, t, tls, issuer)


def _tls(ctx: Context, ingress: Resource, t: int, tls: IngressTLS, shim: bool) -> Iterator[Finding]:
    secret = tls.get("secretName")
    if not secret:
        return
    certs = ctx.certificates_for(secret, ingress.namespace)
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
    names = [str(n) for c in certs for n in c.view.get("spec", {}).get("dnsNames") or []]
    for h, host in enumerate(tls.get("hosts") or []):
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
    volumes = {v.get("name") for v in w.pod.get("volumes") or []}
    seen: dict[str, str] = {}
    for i, mount in enumerate(w.container.get("volumeMounts") or []):
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
        for ref_key, ref, kinds in (
            ("configMapRef", source.get("configMapRef"), ("ConfigMap",)),
            ("secretRef", source.get("secretRef"), ("Secret", "SealedSecret")),
        ):
            if ref is not None and not ref.get("optional"):
                yield from _exists(
                    ctx,
                    w.resource,
                    kinds,
                    str(ref.get("name")),
                    ns,
                    (*base, "envFrom", i, ref_key, "name"),
                )
    for i, entry in enumerate(w.container.get("env") or []):
        value_from = entry.get("valueFrom") or {}
        for ref_key, key_ref, kinds in (
            ("secretKeyRef", value_from.get("secretKeyRef"), ("Secret", "SealedSecret")),
            ("configMapKeyRef", value_from.get("configMapKeyRef"), ("ConfigMap",)),
        ):
            if key_ref is not None and not key_ref.get("optional"):
                yield from _exists(
                    ctx,
                    w.resource,
                    kinds,
                    str(key_ref.get("name")),
                    ns,
                    (*base, "env", i, "valueFrom", ref_key),
                    key=str(key_ref.get("key")),
                )
    if w.index != 0 or w.init:
        return  # pod-level references once per pod
    for i, volume in enumerate(w.pod.get("volumes") or []):
        path: Path = (*w.pod_path, "volumes", i)
        if "persistentVolumeClaim" in volume:
            claim = str(volume["persistentVolumeClaim"].get("claimName"))
            yield from _exists(ctx, w.resource, ("PersistentVolumeClaim",), claim, ns, path)
        secret, config_map = volume.get("secret"), volume.get("configMap")
        for kinds, optional, holder, items in (
            (
                ("Secret", "SealedSecret"),
                secret is None or secret.get("optional"),
                str((secret or {}).get("secretName")),
                (secret or {}).get("items"),
            ),
            (
                ("ConfigMap",),
                config_map is None or config_map.get("optional"),
                str((config_map or {}).get("name")),
                (config_map or {}).get("items"),
            ),
        ):
            if not optional:
                entries: list[KeyToPath | None] = [*items] if items else [None]
                for item in entries:
                    key = str(item.get("key")) if item is not None else None
                    yield from _exists(ctx, w.resource, kinds, holder, ns, path, key=key)
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
    elif (
        key is not None
        and holder.kind != "Certificate"
        and not holder.problems  # its keys were not read: input/shape says why
        and key not in ctx.keys_of(holder)
    ):
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
        template = (sealed.view.get("spec", {}).get("template") or {}).get("metadata") or {}
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
            mine = sealed.name if field == "name" else sealed.namespace
            theirs = template.get("name") if field == "name" else template.get("namespace")
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
        app_spec = app.view.get("spec") or {}
        project_name = app_spec.get("project") or argocd.DEFAULT_PROJECT
        project = ctx.find(("AppProject",), project_name, "")
        destination = app_spec.get("destination") or {}
        namespace = destination.get("namespace") or ""
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
        dst = argocd.Destination(namespace, server or None, name or None)
        spec = project.view.get("spec") or {}
        verdict = argocd.match_destination(spec.get("destinations") or [], dst)
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
