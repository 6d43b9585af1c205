"""Rules from the Pocket-ID v2 runtime contract (what the program really needs).

Facts, read from upstream's source at v2.2.0: /healthz is the only health
endpoint (204 once started; any other path is the web UI's fallback, 200);
all state lives in /app/data; ENCRYPTION_KEY (>= 16 bytes) or
ENCRYPTION_KEY_FILE is required; TRUST_PROXY is a boolean in v2.2 and must be
true behind a proxy; an instance lock allows one process; passkeys are bound
to APP_URL's host.
"""

from __future__ import annotations

from collections.abc import Iterator
from posixpath import dirname, join, normpath
from typing import Final
from urllib.parse import urlsplit

from pocketid_k8s.check.context import Context, Environment, Workload, covering_mount
from pocketid_k8s.check.model import Finding, Resource, Severity
from pocketid_k8s.check.rules import finding
from pocketid_k8s.check.view import ExecAction
from pocketid_k8s.contract import env as E
from pocketid_k8s.contract import pocketid as pid
from pocketid_k8s.contract.env import BOOL_TRUE as TRUE_VALUES
from pocketid_k8s.contract.env import UI_SETTINGS
from pocketid_k8s.contract.image import show_version
from pocketid_k8s.contract.table import DEAD_ENV, DEAD_SINCE, FIRST_V2, lookup
from pocketid_k8s.contract.values import validate

HEALTH: Final = pid.HEALTH_PATH
WORKDIR: Final = pid.WORKDIR
DATA: Final = pid.DATA_DIR
OLD_DATA: Final = pid.OLD_DATA_DIR
MIN_KEY: Final = pid.MIN_KEY_BYTES
PROBES: Final = ("startupProbe", "readinessProbe", "livenessProbe")


def check(ctx: Context) -> Iterator[Finding]:
    for workload in ctx.pocket_ids:
        env = ctx.environment(workload)
        version, _ = workload.facts
        yield from _health_probe(workload)
        yield from _data_path(workload, env)
        if version >= FIRST_V2:  # the key is required, and the lock held, from v2.0.0
            yield from _encryption_key(workload, env)
            yield from _single_instance(workload)
        if version >= pid.FIRST_V1:  # APP_URL and TRUST_PROXY are read from v1.0.0
            yield from _proxy_and_hosts(ctx, workload, env)
        yield from _ui_config_env(workload, env)
        yield from _removed_env(workload, env)
        yield from _non_root_fsgroup(workload)


def _health_probe(w: Workload) -> Iterator[Finding]:
    rule, res, base = "pocketid/health-probe", w.resource, w.container_path
    ports = {str(p.get("name")) for p in w.container.get("ports") or []}
    ports |= {str(p.get("containerPort")) for p in w.container.get("ports") or []}
    for name, probe in w.probes:
        if probe is None:
            continue
        http = probe.get("httpGet")
        if http is not None:
            path = http.get("path") or "/"
            if path != HEALTH:
                yield finding(
                    res,
                    rule,
                    f"{name} GETs {path}, which Pocket-ID does not serve: the web UI's fallback "
                    "answers 200 with index.html, so the probe passes while testing nothing",
                    f"use path {HEALTH} (204 once {pid.started_when(w.facts[0])})",
                    (*base, name, "httpGet", "path"),
                )
            if ports and str(http.get("port")) not in ports:
                yield finding(
                    res,
                    rule,
                    f"{name} targets port {http.get('port')}, which the container does not declare",
                    "probe the container's http port",
                    (*base, name, "httpGet", "port"),
                )
        elif "exec" in probe:
            yield from _exec_probe(w, name, probe["exec"])
        else:
            yield finding(
                res,
                rule,
                f"{name} only opens the port, which does not show that start-up finished",
                f"use httpGet {HEALTH}",
                (*base, name),
                severity=Severity.WARNING,
            )
    missing = [name for name, probe in w.probes[1:] if probe is None]
    if missing:
        yield finding(
            res,
            rule,
            f"no {' or '.join(missing)}: the kubelet cannot tell a hung or starting "
            "Pocket-ID from a healthy one",
            f"add them, with httpGet {HEALTH}",
            base,
            severity=Severity.WARNING,
        )


def _layout(w: Workload) -> tuple[str, str]:
    """(working folder, data folder) of the image: v0.x ran in /app/backend."""
    version, _ = w.facts
    if version < pid.FIRST_V1:
        return pid.OLD_WORKDIR, OLD_DATA
    return WORKDIR, DATA


def _exec_probe(w: Workload, name: str, exec_: ExecAction) -> Iterator[Finding]:
    """``pocket-id healthcheck`` is a real check from v2.8.0; curl left the image in v2.14.0."""
    rule, res, path = "pocketid/health-probe", w.resource, (*w.container_path, name, "exec")
    command = " ".join(map(str, exec_.get("command") or []))
    version, known = w.facts
    if pid.HEALTHCHECK_COMMAND in command:
        if version >= pid.HEALTHCHECK_REAL_SINCE and known:
            return
        yield finding(
            res,
            rule,
            f"{name} runs 'pocket-id {pid.HEALTHCHECK_COMMAND}', which before "
            f"{show_version(pid.HEALTHCHECK_REAL_SINCE)} exits 0 on any HTTP status "
            f"(this image: {show_version(w.version)}), so it fails only when nothing listens",
            f"use httpGet {HEALTH}",
            path,
            severity=Severity.WARNING,
        )
    elif "curl" in command and version >= pid.CURL_REMOVED and known:
        yield finding(
            res,
            rule,
            f"{name} runs curl, which the image no longer has from "
            f"{show_version(pid.CURL_REMOVED)}: the probe always fails",
            f"use httpGet {HEALTH}",
            path,
        )
    else:
        yield finding(
            res,
            rule,
            f"{name} runs a command instead of asking {HEALTH}",
            f"use httpGet {HEALTH}",
            path,
            severity=Severity.WARNING,
        )


def _sqlite_path(env: Environment, workdir: str, data: str) -> str | None:
    """Where the SQLite database is (absolute), or None for PostgreSQL.

    None too where pocketid/env-value already reports the value as losing the data (in
    memory, or an upper-case postgres scheme read as a path): one finding per defect.
    """
    value = env.literal(E.DB_CONNECTION_STRING)
    if value is None or value == "":
        return join(data, pid.DATABASE_FILE)
    row = lookup(E.DB_CONNECTION_STRING, pid.CHECKED_VERSION)
    if value.startswith(E.POSTGRES_PREFIXES) or (
        row is not None and validate(row, value, {}, pid.CHECKED_VERSION) is not None
    ):
        return None
    path = value.removeprefix("file:").split("?", 1)[0]
    return normpath(join(workdir, path))


def _data_path(w: Workload, env: Environment) -> Iterator[Finding]:
    rule, res, base = "pocketid/data-path", w.resource, w.container_path
    mounts = w.mounts
    if WORKDIR in mounts:
        yield finding(
            res,
            rule,
            f"a volume is mounted at {WORKDIR}, hiding the program and its scripts",
            f"mount the data volume at {DATA}",
            (*base, "volumeMounts", mounts[WORKDIR][1]),
        )
        return
    workdir, data = _layout(w)
    database = _sqlite_path(env, workdir, data)
    uploads = env.literal(E.UPLOAD_PATH) or join(pid.DATA_DIR_RELATIVE, pid.UPLOADS_DIR)
    checks = [("database", dirname(database))] if database else []
    if (env.literal(E.FILE_BACKEND) or E.FILE_BACKEND_DEFAULT) == E.FILE_BACKEND_DEFAULT:
        checks.append(("uploads folder", normpath(join(workdir, uploads))))
    old = [m for m in mounts if data != OLD_DATA and (m == OLD_DATA or m.startswith(OLD_DATA))]
    moved = (
        f"; the volume at {old[0]} receives nothing: the data folder moved to {DATA} in v1.0"
        if old
        else ""
    )
    reported: list[str] = []
    for what, folder in checks:
        if any(folder == r or folder.startswith(r + "/") for r in reported):
            continue  # already reported with the folder that holds it
        reported.append(folder)
        mount = covering_mount(mounts, folder)
        volume = w.volume(mounts[mount][0]) if mount else None
        shown = ", ".join(sorted(mounts)) or "none"
        if mount is None or volume is None:
            where = (
                "the root filesystem is read-only, so Pocket-ID cannot create it and refuses "
                "to start"
                if (w.container.get("securityContext") or {}).get("readOnlyRootFilesystem") is True
                else "it lives in the container's writable layer, and every restart loses all "
                "users, passkeys and signing keys"
            )
            yield finding(
                res,
                rule,
                f"the {what} ({folder}) is on no volume (mounts: {shown}); {where}{moved}",
                f"mount the persistent volume at {data} (where the image keeps all state)",
                (*base, "volumeMounts", mounts[old[0]][1])
                if old
                else (*base, "volumeMounts")
                if mounts
                else base,
            )
        elif not ({"persistentVolumeClaim", "hostPath", "nfs", "csi"} & set(volume)):
            yield finding(
                res,
                rule,
                f"the {what} ({folder}) is on volume {volume.get('name')!r}, which does not "
                "outlive the pod; a restart loses all users, passkeys and signing keys",
                "back it with a PersistentVolumeClaim",
                (*base, "volumeMounts", mounts[mount][1]),
            )


def _encryption_key(w: Workload, env: Environment) -> Iterator[Finding]:
    rule, res, base = "pocketid/encryption-key", w.resource, w.container_path
    key_file = env.values.get(E.ENCRYPTION_KEY_FILE)
    key = env.values.get(E.ENCRYPTION_KEY)
    if key_file is not None or key is not None:
        return  # its value and file: check/environment.py
    near = [
        (k, s, p)
        for k, s, p in env.invalid_keys
        if k.upper().replace("-", "_").replace(".", "_") == E.ENCRYPTION_KEY
    ]
    if near:
        k, source, path = near[0]
        yield finding(
            res,
            rule,
            f"the key is provided through {source} under {k!r}, which is not a "
            "valid variable name: older kubelets skip it and newer ones pass it as "
            f"{k!r}, so Pocket-ID never sees ENCRYPTION_KEY and refuses to start",
            "mount the Secret and set ENCRYPTION_KEY_FILE to the file, or map it with "
            "env ENCRYPTION_KEY valueFrom secretKeyRef",
            path,
        )
    elif env.unknown_sources:
        if set(env.unknown_sources) <= set(env.required_unknown):
            return  # refs/missing-reference's finding: one per missing source
        yield finding(
            res,
            rule,
            "ENCRYPTION_KEY is not set in the checked manifests; it may come from "
            f"{', '.join(env.unknown_sources)}, which is not among them",
            "check those files too",
            base,
            severity=Severity.WARNING,
        )
    else:
        yield finding(
            res,
            rule,
            "ENCRYPTION_KEY is not provided by any means; Pocket-ID exits with "
            f"'{pid.KEY_TOO_SHORT}'",
            "seal a key (pocketid-k8s seal), mount it and set ENCRYPTION_KEY_FILE",
            base,
        )


def _proxy_and_hosts(ctx: Context, w: Workload, env: Environment) -> Iterator[Finding]:
    res, base = w.resource, w.container_path
    ingresses = ctx.ingresses_for(ctx.services_for(w))
    app_url = env.values.get(E.APP_URL)
    # APP_URL
    if app_url is None or app_url.value is None:
        if app_url is None and env.unknown_sources:
            if not set(env.unknown_sources) <= set(env.required_unknown):
                # else refs/missing-reference's finding: one per missing source
                yield finding(
                    res,
                    "pocketid/app-url",
                    "APP_URL is not set in the checked manifests; it may come from "
                    f"{', '.join(env.unknown_sources)}, which is not among them",
                    "check those files too",
                    base,
                    severity=Severity.WARNING,
                )
        elif app_url is None:
            yield finding(
                res,
                "pocketid/app-url",
                "APP_URL is not set, so the OIDC issuer and the "
                f"passkey domain are {pid.DEFAULT_APP_URL}",
                "set APP_URL to the public https origin, e.g. https://auth.example.com",
                base,
                severity=None if ingresses else Severity.WARNING,
            )
        host = None
    else:
        url = app_url.value.lower().rstrip("/")  # as Pocket-ID reads it
        parts = urlsplit(url)
        host = parts.hostname
        tls = any(i.view.get("spec", {}).get("tls") for i in ingresses)
        if parts.scheme == "http" and tls and host:
            yield finding(
                res,
                "pocketid/app-url",
                f"APP_URL {app_url.value!r} is http while the Ingress serves TLS: passkeys and "
                "__Host- cookies fail",
                "use the public https origin, e.g. https://auth.example.com",
                app_url.path,
            )
    if not ingresses:
        return
    # TRUST_PROXY
    trust = env.values.get(E.TRUST_PROXY)
    value = trust.value if trust is not None else None
    names = ", ".join(sorted(i.name for i in ingresses))
    version, _ = w.facts
    row = lookup(E.TRUST_PROXY, version)
    if value is not None and row is not None and validate(row, value, {}, version) is not None:
        pass  # a value Pocket-ID refuses: check/environment.py reports it
    elif trust is not None and trust.known is None:
        pass  # from a Secret or a source not in the set
    elif trust is None or (value is not None and not _trusts(value)):
        yield finding(
            res,
            "pocketid/trust-proxy",
            f"Ingress {names} routes to Pocket-ID but TRUST_PROXY "
            "is not true: Pocket-ID starts, but at run time every request seems to come from "
            "the proxy, so all users share one rate-limit bucket and logins fail with 'too "
            "many requests' under normal use (a runtime outage, not a start-up refusal); "
            "audit logs show the proxy's address",
            "set TRUST_PROXY=true, and a NetworkPolicy that admits only the ingress controller",
            trust.path if trust else base,
        )
    # one host
    if host is None:
        return
    url_row = lookup(E.APP_URL, version)
    if app_url is not None and app_url.value is not None and url_row is not None:
        problem = validate(url_row, app_url.value, {}, version)
        if problem is not None and problem.outcome.outage:
            return  # Pocket-ID refuses APP_URL itself: pocketid/app-url's one finding
    origin = f"{parts.scheme}://{parts.netloc}"  # as Pocket-ID reads it, without query
    for ingress in ingresses:
        for r, rule in enumerate(ingress.view.get("spec", {}).get("rules") or []):
            other = rule.get("host")
            if other and other != host and not _redirects(ctx, ingress, origin):
                yield finding(
                    ingress,
                    "pocketid/one-host",
                    f"host {other} serves Pocket-ID, but passkeys "
                    f"are bound to APP_URL's host {host}: the page loads there, but passkey "
                    "login fails and the session cookies are not shared",
                    f"redirect {other} to {app_url.value if app_url else host} (a Traefik "
                    "redirectRegex Middleware), or drop the host",
                    ("spec", "rules", r, "host"),
                )


def _trusts(value: str) -> bool:
    """Whether a TRUST_PROXY value Pocket-ID accepts trusts the proxy (true, or a list)."""
    parsed = E.parse_bool(value.strip())
    return parsed is True or (parsed is None and bool(value.strip()))


def _redirects(ctx: Context, ingress: Resource, app_url: str) -> bool:
    annotations = ingress.annotations
    for key in (
        "nginx.ingress.kubernetes.io/permanent-redirect",
        "nginx.ingress.kubernetes.io/temporal-redirect",
    ):
        if str(annotations.get(key, "")).lower().startswith(app_url):
            return True
    chain = str(annotations.get("traefik.ingress.kubernetes.io/router.middlewares", ""))
    for ref in filter(None, (part.strip() for part in chain.split(","))):
        name = ref.split("@", 1)[0]
        for middleware in ctx.middlewares(name, ingress.namespace):
            redirect = middleware.view.get("spec", {}).get("redirectRegex") or {}
            replacement = redirect.get("replacement") or ""
            if replacement.lower().startswith(app_url):
                return True
    return False


def _single_instance(w: Workload) -> Iterator[Finding]:
    rule, res = "pocketid/single-instance", w.resource
    kind = res.kind
    spec = res.view.get("spec") or {}
    replicas = spec.get("replicas")
    version, _ = w.facts
    holder = (
        "admits one actor host at a time"
        if version >= pid.ACTOR_HOSTS_SINCE
        else "holds an instance lock in its database"
    )
    why = (
        f"Pocket-ID {show_version(version)} {holder}, so a second process exits with "
        f"'{pid.second_instance(version)}'"
    )
    if kind == "DaemonSet":
        yield finding(
            res,
            rule,
            f"a DaemonSet runs one pod per node; {why}",
            "use a Deployment with strategy Recreate and one replica",
            ("kind",),
        )
    if isinstance(replicas, int) and replicas > 1:
        yield finding(
            res, rule, f"replicas: {replicas}; {why}", "use 1 replica", ("spec", "replicas")
        )
    if kind == "Deployment":
        given_type = (spec.get("strategy") or {}).get("type")
        strategy = given_type or "RollingUpdate"
        if strategy != "Recreate":
            given = "" if given_type else " (the default)"
            yield finding(
                res,
                rule,
                f"strategy {strategy}{given}: the surge pod cannot take "
                f"{pid.single_holder(version)} (nor a ReadWriteOnce volume on another node), "
                "so the rollout never finishes",
                "set spec.strategy.type: Recreate",
                ("spec", "strategy", "type") if given == "" else ("spec",),
            )


def _ui_config_env(w: Workload, env: Environment) -> Iterator[Finding]:
    given = env.literal(E.UI_CONFIG_DISABLED) or ""
    if given.strip() in TRUE_VALUES:
        return
    if given and E.parse_bool(given) is None:
        return  # Pocket-ID refuses the value itself: pocketid/env-value's one finding

    ignored = [
        (name, value)
        for name, value in sorted(env.values.items())
        if name.removesuffix(E.FILE_SUFFIX) in UI_SETTINGS
    ]
    if not ignored:
        return
    names = ", ".join(name for name, _ in ignored)
    yield finding(
        w.resource,
        "pocketid/ui-config-env",
        f"{names} {'is a UI setting' if len(ignored) == 1 else 'are UI settings'}, read from "
        "the environment only when UI_CONFIG_DISABLED=true; here the database value wins and "
        f"{'this variable is' if len(ignored) == 1 else 'these variables are'} ignored",
        "set UI_CONFIG_DISABLED=true (settings then come from the environment only), "
        "or remove them and use the admin UI",
        ignored[0][1].path,
    )


def _removed_env(w: Workload, env: Environment) -> Iterator[Finding]:
    rule = "pocketid/removed-env"
    version, _ = w.facts
    for name, value in sorted(env.values.items()):
        if name in DEAD_ENV and version >= DEAD_SINCE[name]:
            yield finding(
                w.resource,
                rule,
                f"{name} does nothing in Pocket-ID {show_version(version)} ({DEAD_ENV[name]})",
                "remove it (or use its new name)",
                value.path,
            )


def _non_root_fsgroup(w: Workload) -> Iterator[Finding]:
    pod_ctx = w.pod.get("securityContext") or {}
    ctx = w.container.get("securityContext") or {}
    user = ctx.get("runAsUser", pod_ctx.get("runAsUser"))
    non_root = (
        (isinstance(user, int) and user != 0)
        or ctx.get("runAsNonRoot")
        or pod_ctx.get("runAsNonRoot")
        or bool(w.pocket_id_image and w.pocket_id_image.distroless)
    )
    mount = covering_mount(w.mounts, DATA)
    volume = w.volume(w.mounts[mount][0]) if mount else None
    if non_root and volume and "persistentVolumeClaim" in volume and pod_ctx.get("fsGroup") is None:
        yield finding(
            w.resource,
            "pocketid/non-root-fsgroup",
            "the pod runs as non-root but sets no "
            f"fsGroup, so it cannot write the volume (the image's entrypoint chowns {DATA} "
            "only when started as root)",
            "set securityContext.fsGroup to the group the pod runs as "
            f"({pid.IMAGE_USER} for the image)",
            (*w.pod_path, "securityContext"),
        )
