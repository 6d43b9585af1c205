"""Every Pocket-ID setting against the contract table: values, files, the listener, the version.

For each Pocket-ID container: every variable whose value is known (a literal,
or a key of a ConfigMap or Secret in the checked set) is validated against
its row of :mod:`pocketid_k8s.contract.table` for the image's version; every
``*_FILE`` variable is followed to its volume, projected key and Secret;
PORT is compared with the container port, the probes and the Service.
A secret's value is validated but never shown.
"""

from __future__ import annotations

from collections.abc import Iterator
from posixpath import normpath, relpath
from typing import Final

from pocketid_k8s.check.context import Context, Environment, EnvValue, Workload, covering_mount
from pocketid_k8s.check.model import Finding, Severity
from pocketid_k8s.check.rules import finding
from pocketid_k8s.check.view import KeyToPath, ProjectedSource, Volume
from pocketid_k8s.contract import env as E
from pocketid_k8s.contract import pocketid as pid
from pocketid_k8s.contract.image import (
    DEFAULT_IMAGE,
    REGISTRY,
    REPOSITORY,
    PocketIdImage,
    Version,
    show_version,
)
from pocketid_k8s.contract.table import (
    COMPLETE,
    DEAD_ENV,
    FIRST_V2,
    VERIFIED_FROM,
    VERIFIED_UNTIL,
    FileVariant,
    Var,
    complete,
    facts_note,
    is_default,
    lookup,
    read_range,
)
from pocketid_k8s.contract.values import (
    SET_UNKNOWN,
    Problem,
    file_unreadable,
    go_digits,
    message,
    opened_file,
    tls_refused,
    validate,
)

RULE_OF: Final = {
    E.ENCRYPTION_KEY: "pocketid/encryption-key",
    E.APP_URL: "pocketid/app-url",
    E.TRUST_PROXY: "pocketid/trust-proxy",
}
"""Variables whose findings keep the rule that has always covered them."""
PROBES: Final = ("startupProbe", "readinessProbe", "livenessProbe")
CHECKED: Final = show_version(pid.CHECKED_VERSION)


def check(ctx: Context) -> Iterator[Finding]:
    for workload in ctx.pocket_ids:
        env = ctx.environment(workload)
        yield from _version(workload)
        yield from _values(workload, env)
        yield from _files(ctx, workload, env)
        yield from _listener(ctx, workload, env)


# --- the version --------------------------------------------------------------------------


def _version(w: Workload) -> Iterator[Finding]:
    """One finding about the image: its former name and its version are one defect."""
    image = w.pocket_id_image
    if image is None:
        return
    version, known = w.facts
    tag = image.tag or (image.digest and "a digest only") or "no tag"
    said: list[str] = []
    fixes: list[str] = []
    severity = Severity.WARNING
    if image.former_name:
        said.append(
            f"{image.repository} is Pocket-ID's former image name; releases are published as "
            f"{REGISTRY}/{REPOSITORY} now"
        )
        fixes.append(f"use {REGISTRY}/{REPOSITORY} with a pinned v2 tag, e.g. {DEFAULT_IMAGE}")
    if w.version is not None and w.version < FIRST_V2:
        said.append(
            f"image {image.reference} runs Pocket-ID {_release(image)}, "
            "before v2: only its data folder, probes, port and the renamed variables were "
            "checked (the v2 facts do not apply)"
        )
        fixes.append("upgrade to a v2 release (read upstream's migration notes first)")
    elif not known:
        read = (
            f"{show_version(VERIFIED_FROM)} to v{VERIFIED_UNTIL[0]}.{VERIFIED_UNTIL[1]}.x were read"
        )
        unknown = (
            f"the version is unknown ({read}), so settings were checked against "
            f"{show_version(version)}'s facts, the newest read (assumed),"
            if w.version is None
            else f"not a release whose facts were read ({read}), so settings were checked "
            f"against {show_version(version)}'s facts (assumed)"
        )
        said.append(f"image tag {tag}: {unknown} and their findings are warnings")
        fixes.append("pin a verified release tag, e.g. " + pid.CHECKED_TAG)
    elif not complete(version) and not said:
        said.append(
            f"image tag {tag}: checked against {show_version(version)}'s facts, read upstream "
            "for what changes a verdict (verified completely: "
            f"{', '.join(map(show_version, COMPLETE))})"
        )
        fixes.append("nothing to do")
        severity = Severity.INFO
    if said:
        yield finding(
            w.resource,
            "pocketid/version",
            "; ".join(said),
            "; ".join(dict.fromkeys(fixes)),
            (*w.container_path, "image"),
            severity=severity,
        )


def _release(image: PocketIdImage) -> str:
    if image.exact:
        return show_version(image.version)
    if image.former_name and image.on_docker_hub:
        return f"{show_version(image.version)} (the last release pushed under that name)"
    return f"{image.tag} (a moving tag: the newest release of that line)"


# --- values -------------------------------------------------------------------------------


def _literals(env: Environment) -> dict[str, str]:
    """Every value of the container for cross-variable checks (secret ones too, never shown):
    one from outside the checked set stands as SET_UNKNOWN, so a pair is not taken for half."""
    return {
        name: SET_UNKNOWN if value.known is None and not value.optional else value.known or ""
        for name, value in env.values.items()
        if value.known is not None or not value.optional
    }


def _severity(problem: Problem, known: bool) -> Severity:
    if not known:
        return Severity.WARNING
    return Severity.ERROR if problem.outcome.outage else Severity.WARNING


def _say(w: Workload, row: Var, value: EnvValue, problem: Problem) -> str:
    text = message(row, value.known or "", problem)
    if value.from_secret and not row.secret:
        text = text.replace(repr(value.known), "(value not shown: from a Secret)", 1)
    if value.source != "env":
        text += f" (from {value.source})"
    return text + facts_note(w.version)


def _values(w: Workload, env: Environment) -> Iterator[Finding]:
    version, known = w.facts
    if version < FIRST_V2:
        return
    literals = _literals(env)
    ui = E.parse_bool(literals.get(E.UI_CONFIG_DISABLED, "")) is True
    for name, value in sorted(env.values.items()):
        row = lookup(name, version)
        if row is None:
            yield from _not_read(w, name, value, version)
            continue
        if row.ui and not ui:
            continue
        if row.file is not FileVariant.NONE and not row.ui and env.values.get(name + "_FILE"):
            continue  # the file's content replaces this value
        given = value.known
        if given is None:
            continue
        problem = validate(row, given, literals, version)
        if problem is None:
            continue
        yield finding(
            w.resource,
            RULE_OF.get(name, "pocketid/env-value"),
            _say(w, row, value, problem),
            problem.fix,
            value.path,
            severity=_severity(problem, known),
        )


def _not_read(w: Workload, name: str, value: EnvValue, version: Version) -> Iterator[Finding]:
    """A variable another v2 release reads, but not this image's: it does nothing here."""
    span = read_range(name)
    if span is None or name in DEAD_ENV:
        return  # not Pocket-ID's, or reported as removed
    if value.known is not None and is_default(name, value.known):
        return  # the value every version uses anyway
    since, until = span
    if until is not None and version >= until:
        when, severity = f"no longer read from {show_version(until)}", Severity.WARNING
    elif version < since:
        when, severity = f"read only from {show_version(since)}", Severity.INFO
    else:
        return
    yield finding(
        w.resource,
        "pocketid/env-value",
        f"{name} does nothing in {show_version(version)} ({when}), so its value is ignored",
        "remove it, or use the image version that reads it",
        value.path,
        severity=severity,
    )


# --- files --------------------------------------------------------------------------------


def _file_rows(name: str, version: Version, ui: bool, literals: dict[str, str]) -> Var | None:
    row = opened_file(name, version, literals)
    return None if row is None or (row.ui and not ui) else row


def _read_fails(w: Workload, row: Var, name: str, path: str, why: str) -> str:
    words = file_unreadable(row, name, path, w.facts[0])
    return f"{name} names {path}, {why}, so Pocket-ID refuses to start ('{words}')"


def _files(ctx: Context, w: Workload, env: Environment) -> Iterator[Finding]:
    version, known = w.facts
    if version < FIRST_V2:
        return
    literals = _literals(env)
    ui = E.parse_bool(literals.get(E.UI_CONFIG_DISABLED, "")) is True
    severity = None if known else Severity.WARNING
    for name, value in sorted(env.values.items()):
        row = _file_rows(name, version, ui, literals)
        if row is None or not value.value:
            continue
        rule = RULE_OF.get(row.name, "pocketid/env-file")
        path = normpath(value.value) if value.value.startswith("/") else value.value
        if not path.startswith("/"):
            path = normpath(f"{pid.WORKDIR}/{path}")
        problem = _file_problem(ctx, w, name, row, path)
        if problem is not None:
            text, fix = problem
            text += facts_note(w.version)
            yield finding(w.resource, rule, text, fix, value.path, severity=severity)


def _file_problem(
    ctx: Context, w: Workload, name: str, row: Var, path: str
) -> tuple[str, str] | None:
    mount = covering_mount(w.mounts, path)
    fix = f"mount the Secret holding {row.name} and point {name} at its file"
    if mount is None:
        return _read_fails(w, row, name, path, "which is on no mounted volume"), fix
    volume = w.volume(w.mounts[mount][0]) or {}
    if path == mount:
        return (
            _read_fails(w, row, name, path, "which is the mount folder itself, not a file"),
            f"point {name} at the file inside it, e.g. {mount}/<key>",
        )
    inside = relpath(path, mount)
    files = _projected(ctx, w, volume)
    if files is None:
        return None  # not a Secret or ConfigMap volume, or its object is not in the set
    if inside not in files:
        shown = ", ".join(sorted(files)) or "no file"
        return (
            _read_fails(w, row, name, path, f"but volume {volume.get('name')!r} provides {shown}"),
            "project that key (secret.items) or point the variable at a file the volume has",
        )
    content = files[inside]
    if content is not None and row.min_bytes is not None:
        size = len(content.encode())
        if row.file is FileVariant.TRIMMED:
            size = len(content.strip().encode())
        if size < row.min_bytes:
            return (
                f"{name} names {path}, whose content has {size} bytes"
                f"{'' if row.file is FileVariant.UNTRIMMED else ' once trimmed'}; Pocket-ID "
                f"needs at least {row.min_bytes} and refuses to start",
                "seal a key of 32 random bytes (pocketid-k8s seal)",
            )
    return None


def _projected(ctx: Context, w: Workload, volume: Volume) -> dict[str, str | None] | None:
    """Files a Secret/ConfigMap volume provides (path -> content when known), or None."""
    sources: list[tuple[str, str, list[KeyToPath] | None]] = []
    direct: ProjectedSource = {}
    if "secret" in volume:
        direct["secret"] = volume["secret"]
    if "configMap" in volume:
        direct["configMap"] = volume["configMap"]
    holders = [direct]
    holders += (volume.get("projected") or {}).get("sources") or []
    for source in holders:
        if "secret" in source:
            ref = source["secret"]
            sources.append(
                ("secret", ref.get("secretName") or ref.get("name") or "", ref.get("items"))
            )
        if "configMap" in source:
            cm = source["configMap"]
            sources.append(("configMap", cm.get("name") or "", cm.get("items")))
    if not sources:
        return None
    files: dict[str, str | None] = {}
    for kind, name, items in sources:
        kinds = ("Secret", "SealedSecret") if kind == "secret" else ("ConfigMap",)
        holder = ctx.find(kinds, name, w.resource.namespace)
        if holder is None or holder.problems:
            return None
        keys = ctx.keys_of(holder)
        values: dict[str, str | None] = {**keys, **ctx.secret_values(holder)}
        if items:
            for item in items:
                if item.get("key") is not None:
                    key = item["key"]
                    target = item.get("path") or key
                    files[target] = values.get(key) if key in keys else None
        else:
            files.update(values)
    return files


# --- the listener -------------------------------------------------------------------------


def _port_number(w: Workload, port: object) -> int | None:
    """A probe's or Service's port, resolved through the container's named ports."""
    if isinstance(port, int):
        return port
    for declared in w.container.get("ports") or []:
        if declared.get("name") == port:
            return declared.get("containerPort")
    text = str(port)
    return int(text) if go_digits(text) else None


def _listener(ctx: Context, w: Workload, env: Environment) -> Iterator[Finding]:
    version, _ = w.facts
    if version < pid.FIRST_V1:
        return  # v0.x listened through Caddy on port 80
    value = env.values.get(E.PORT)
    given = value.known if value is not None else None
    if value is not None and given is None:
        return  # from a source that is not in the set
    if given is not None and not (go_digits(given) and 0 < int(given) <= 65535):
        return  # pocketid/env-value reports it
    listens = int(given) if given else pid.DEFAULT_PORT
    where: list[str] = []
    declared = {p["containerPort"] for p in w.container.get("ports") or [] if "containerPort" in p}
    if declared and listens not in declared:
        where.append("containerPort " + ", ".join(map(str, sorted(declared))))
    for probe, given_probe in w.probes:
        spec = given_probe or {}
        target = (spec.get("httpGet") or {}).get("port") or (spec.get("tcpSocket") or {}).get(
            "port"
        )
        number = _port_number(w, target) if target is not None else None
        # a port the container does not declare is pocketid/health-probe's finding
        if number is not None and number != listens and (not declared or number in declared):
            where.append(f"the {probe} (port {number})")
    for service in ctx.services_for(w):
        targets = [
            _port_number(w, port.get("targetPort", port.get("port")))
            for port in service.view.get("spec", {}).get("ports") or []
        ]
        known = [t for t in targets if t is not None]
        if known and listens not in known:  # another port may serve metrics: one must match
            where.append(f"Service {service.name} (targetPort {', '.join(map(str, known))})")
    yield from _native_tls(w, env, listens)
    if not where:
        return
    source = f"PORT={listens}" if given else "its default: no PORT is set"
    yield finding(
        w.resource,
        "pocketid/listener",
        f"Pocket-ID listens on {listens} ({source}), but {', '.join(where)} expect another "
        "port: probes fail and the Service sends traffic nowhere",
        f"make PORT, the containerPort, the probes and the Service's targetPort agree "
        f"(Pocket-ID's default is {pid.DEFAULT_PORT})",
        value.path if value is not None else (*w.container_path, "ports"),
    )


def _native_tls(w: Workload, env: Environment, listens: int) -> Iterator[Finding]:
    """TLS_CERT and TLS_KEY (v2.6.0 on) make the port HTTPS only: plain-HTTP probes fail."""
    version, _ = w.facts  # an unverified tag uses v2.2.0's facts: no native TLS
    if version < pid.NATIVE_TLS_SINCE or lookup(pid.NATIVE_TLS_PAIRS[0][0], version) is None:
        return

    def given(name: str) -> bool:
        value = env.values.get(name)
        return value is not None and value.known != ""

    pair = next((p for p in pid.NATIVE_TLS_PAIRS if given(p[0]) and given(p[1])), None)
    if pair is None or tls_refused(_literals(env), version):
        return  # no TLS, or Pocket-ID refuses the settings: pocketid/env-value's one finding
    http = {name: probe.get("httpGet") for name, probe in w.probes if probe is not None}
    plain = [
        probe
        for probe, get in http.items()
        if get is not None
        and (get.get("scheme") or "HTTP").upper() != "HTTPS"
        and _port_number(w, get.get("port")) == listens
    ]
    if pid.HEALTHCHECK_REAL_SINCE <= version < pid.HEALTHCHECK_HTTPS_SINCE:
        plain += [
            f"{probe} ('pocket-id {pid.HEALTHCHECK_COMMAND}' before "
            f"{show_version(pid.HEALTHCHECK_HTTPS_SINCE)})"
            for probe, spec in w.probes
            if pid.HEALTHCHECK_COMMAND
            in " ".join(map(str, ((spec or {}).get("exec") or {}).get("command") or []))
        ]
    if not plain:
        return
    text = (
        f"{pair[0]} and {pair[1]} are set, so Pocket-ID {show_version(version)} serves only "
        f"HTTPS on port {listens}, but the {', '.join(plain)} "
        f"{'GETs' if len(plain) == 1 else 'GET'} it over plain HTTP: Go answers '400 Bad "
        "Request' (client sent an HTTP request to an HTTPS server), the probes fail and the "
        "pod never becomes ready"
    )
    first = env.values[pair[0]]
    yield finding(
        w.resource,
        "pocketid/listener",
        text,
        "set httpGet.scheme: HTTPS on the probes (the kubelet does not verify the "
        "certificate), or let the ingress terminate TLS and remove TLS_CERT/TLS_KEY",
        first.path,
    )
