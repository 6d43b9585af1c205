"""The Pocket-ID pod as the manifests describe it: environment, mounts, probes, strategy, resources.

The environment is resolved by :meth:`pocketid_k8s.check.context.Context.environment`
(the kubelet's order and rules); this module only fills in the values that the
checker leaves out: a Secret's data, and a throwaway value for a Secret that
the bundle holds only sealed.
"""

from __future__ import annotations

import base64
import re
import secrets
import shlex
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Final

from pocketid_k8s.check.context import Context, Environment, Workload
from pocketid_k8s.check.model import Resource, dotted
from pocketid_k8s.check.view import Probe as ProbeSpec
from pocketid_k8s.check.view import VolumeMount
from pocketid_k8s.contract import env as names
from pocketid_k8s.contract import image, kubelet, pocketid, table
from pocketid_k8s.contract import sealed_secrets as ss
from pocketid_k8s.contract.image import Version
from pocketid_k8s.errors import PocketIdK8sError
from pocketid_k8s.rehearse.downward import Downward
from pocketid_k8s.rehearse.identity import Identity, identity_of

__all__ = ["ManifestError", "Mount", "Pod", "PodError", "Probe", "pod_from"]

PROBES: Final = ("startupProbe", "readinessProbe", "livenessProbe")
READ_KINDS: Final = ("ConfigMap", "Secret", ss.KIND, "Service", "Ingress", "Middleware")
"""Kinds besides the workload whose fields a rehearsal reads."""
NAME_PART_BYTES: Final = 255
"""The longest file name a Linux filesystem takes: a longer path part cannot be laid out."""
PATH_BYTES: Final = 1024
"""The longest path in the pod laid out (under the sandbox, within Linux's 4096)."""
CLAIM_NAME: Final = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
"""A PersistentVolumeClaim's name, as the API server takes it (a DNS subdomain)."""
VOLUME_NAME: Final = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
"""A pod volume's name, as the API server takes it (a DNS label)."""


class PodError(PocketIdK8sError):
    """The manifests hold no Pocket-ID pod that can be rehearsed."""


class ManifestError(PodError):
    """A field of the manifests holds a value the API server would not accept; the message
    names the object and the field (never a Secret's value), the caller adds the fix."""


def _shaped(resource: Resource) -> None:
    """A ManifestError naming the first field of ``resource`` that is of the wrong shape
    (left out of its view, so never read here): the value is shown only where it cannot be
    a secret."""
    if not resource.problems:
        return
    problem = resource.problems[0]
    owner = f"{resource.kind}/{resource.name}" if resource.name else resource.kind
    if not problem.path:
        raise ManifestError(f"{owner}: {problem.found}, not {problem.expected}")
    value = resource.raw_at(problem.path)
    secret = resource.kind in ("Secret", ss.KIND) or {"env", "data", "stringData"} & {
        str(p) for p in problem.path
    }
    shown = repr(value)
    if secret or len(shown) > 40:
        shown = problem.found
    expected = "a whole number" if problem.expected == "an integer" else problem.expected
    raise ManifestError(f"{owner}: {dotted(problem.path)} is {shown}, not {expected}")


def _whole(value: object, default: int, where: str) -> int:
    """An integer field's value (``default`` when absent), or a ManifestError."""
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    raise ManifestError(f"{where} is {shown}, not a whole number")


def _decoded(holder: Resource, field_: str, key: object, value: object) -> bytes:
    """A Secret's or ConfigMap's base64 value, or a ManifestError that never shows it."""
    try:
        return base64.b64decode(str(value))
    except ValueError:  # binascii.Error is one
        raise ManifestError(
            f"{holder.kind}/{holder.name}: {field_} key {str(key)!r} is not valid base64"
        ) from None


def _no_dotdot(path: str, where: str, *, relative: bool = False) -> str:
    """``path`` unchanged, or a PodError if it has a '..' part (or is absolute where it must
    be relative): joined onto the sandbox it would reach outside it. The API server refuses
    these too."""
    if relative and path.startswith("/"):
        raise PodError(
            f"{where} is an absolute path ({path!r}); fix: write a path relative to the "
            "volume's mount, without '..' parts"
        )
    if ".." in PurePosixPath(path).parts:
        raise PodError(
            f"{where} has a '..' part ({path!r}); fix: write the path without '..' parts"
        )
    if "\x00" in path:
        raise ManifestError(f"{where} holds a NUL character, which no file name may")
    if len(path.encode()) > PATH_BYTES or any(
        len(part.encode()) > NAME_PART_BYTES for part in PurePosixPath(path).parts
    ):
        raise ManifestError(
            f"{where} is longer than {PATH_BYTES} bytes or has a part longer than "
            f"{NAME_PART_BYTES}, which no filesystem takes as a file name"
        )
    return path


@dataclass(frozen=True)
class Probe:
    """One probe of the container, with Kubernetes' defaults filled in."""

    kind: str
    path: str | None
    """The httpGet path, or None for an exec or tcpSocket probe."""
    port: int | None
    period: int
    timeout: int
    failure_threshold: int
    success_threshold: int
    initial_delay: int
    action: str = "httpGet"
    """httpGet, tcpSocket, exec, or grpc (not played)."""
    command: tuple[str, ...] = ()
    """An exec probe's command, as the container would run it (no shell)."""

    def describe(self) -> str:
        """What one attempt does, in the row's words."""
        if self.action == "tcpSocket":
            return f"TCP connect to port {self.port}"
        if self.action == "exec":
            return f"exec {shlex.join(self.command)}"
        if self.action == "grpc":
            return "gRPC health check"
        return f"GET {self.path}"


@dataclass(frozen=True)
class Mount:
    """One volumeMount and what backs it."""

    path: str
    volume: str
    source: str
    """persistentVolumeClaim, emptyDir, secret, configMap, or another volume type."""
    claim: str = ""
    read_only: bool = False
    files: dict[str, tuple[bytes, int]] = field(default_factory=dict)
    """For secret and configMap volumes: relative path -> (content, mode)."""
    sub_path: str = ""
    """The sub-folder (or file) of the volume mounted here ('' for the whole volume)."""

    @property
    def persists(self) -> bool:
        return self.source == "persistentVolumeClaim"


@dataclass
class Pod:
    workload: Workload
    env: dict[str, str]
    notes: list[str]
    """What the rehearsal changed or could not play, in the user's words."""
    missing: list[str]
    """Required references the kubelet would refuse to start without."""
    throwaway: list[str]
    """Where a throwaway random value stands in for a sealed Secret."""
    stand_ins: frozenset[bytes]
    """The throwaway values themselves: a setting that holds one is not known here."""
    secret_env: list[str]
    """Variables whose value comes from a Secret: never shown."""
    working_dir: str
    mounts: list[Mount]
    probes: dict[str, Probe]
    strategy: str
    max_surge: str
    replicas: int
    grace_seconds: int
    requests: dict[str, str]
    limits: dict[str, str]
    ports: dict[str, int]
    version: Version
    identity: Identity
    """The Pocket-ID version whose facts apply (the image's, else the checked one)."""
    said: list[str] = field(default_factory=list)
    """What the pod row says of what was played beyond the basics (downward API variables,
    subPath mounts)."""

    @property
    def name(self) -> str:
        return f"{self.workload.resource.kind}/{self.workload.resource.name}"

    @property
    def listen_port(self) -> int:
        """The port the program listens on inside the container (PORT, else its default)."""
        try:
            return int(self.env.get(names.PORT, pocketid.DEFAULT_PORT))
        except ValueError:
            return pocketid.DEFAULT_PORT


def pod_from(resources: list[Resource]) -> Pod:
    """The one Pocket-ID container among ``resources``, as a :class:`Pod`."""
    context = Context(resources)
    found = context.pocket_ids
    if not found:
        raise PodError(
            f"no Pocket-ID container (image {image.DEFAULT_IMAGE} or another tag) in the "
            "manifests; fix: point --from at the folder that holds its Deployment or StatefulSet"
        )
    workload = found[0]
    _shaped(workload.resource)
    for resource in resources:
        if resource.kind in READ_KINDS:
            _shaped(resource)
    notes = []
    if len(found) > 1:
        notes.append(f"{len(found)} Pocket-ID containers found; rehearsing the first")
    container, pod = workload.container, workload.pod
    sealed = _Sealed()
    resolved = context.environment(workload)
    downward = Downward(workload)
    env, missing = _environment(context, workload, resolved, notes, sealed, downward)
    mounts = [_mount(context, workload, m, sealed) for m in container.get("volumeMounts") or []]
    mounts = [_expanded(m, env, missing, workload) for m in mounts]
    owner = f"{workload.resource.kind}/{workload.resource.name}"
    working_dir = _no_dotdot(
        container.get("workingDir") or pocketid.WORKDIR,
        f"{owner}: container {container.get('name')!r} workingDir",
    )
    ports = {
        str(p.get("name") or p["containerPort"]): p["containerPort"]
        for p in container.get("ports") or []
        if "containerPort" in p
    }
    spec = workload.resource.view.get("spec") or {}
    strategy = spec.get("strategy") or {}
    kind = workload.resource.kind
    strategy_type = strategy.get("type") or ("RollingUpdate" if kind == "Deployment" else "")
    if kind == "StatefulSet":
        strategy_type = "StatefulSet (one pod at a time)"
    surge = (strategy.get("rollingUpdate") or {}).get("maxSurge")
    resources_ = container.get("resources") or {}
    probes = {
        k: _probe(k, spec_, ports, f"{owner}: container {container.get('name')!r} {k}")
        for k, spec_ in workload.probes
        if spec_ is not None
    }
    grpc = [k for k, p in probes.items() if p.action == "grpc"]
    not_played = (
        [
            f"{', '.join(grpc)}: gRPC, not played (Pocket-ID serves no gRPC health service, so "
            "each attempt counts as failed, as it fails in a cluster)"
        ]
        if grpc
        else []
    )
    return Pod(
        workload=workload,
        env=env,
        notes=notes,
        missing=missing,
        throwaway=sealed.labels,
        stand_ins=frozenset(sealed.values.values()),
        secret_env=[n for n, v in resolved.values.items() if v.from_secret and n in env],
        working_dir=working_dir,
        mounts=mounts,
        probes=probes,
        strategy=strategy_type,
        max_surge="25%" if surge is None else str(surge),
        replicas=_whole(spec.get("replicas"), 1, f"{owner}: spec.replicas") or 1,
        grace_seconds=_whole(
            pod.get("terminationGracePeriodSeconds"),
            30,
            f"{owner}: spec.template.spec.terminationGracePeriodSeconds",
        ),
        requests={str(k): str(v) for k, v in (resources_.get("requests") or {}).items()},
        limits={str(k): str(v) for k, v in (resources_.get("limits") or {}).items()},
        ports=ports,
        version=table.facts_for(workload.version)[0],
        identity=identity_of(workload, env),
        said=[
            *([_downward_detail(downward)] if downward.count else []),
            *_sub_paths(mounts),
            *not_played,
        ],
    )


def _downward_detail(downward: Downward) -> str:
    """The pod row's words on the downward API variables: how many, and the stand-ins."""
    stand_ins = (
        f" (stand-ins: {', '.join(downward.stand_ins)}; the pod and host IP are the loopback "
        "address the program listens on)"
        if downward.stand_ins
        else ""
    )
    played = "fieldRef/resourceFieldRef variables played as the kubelet does"
    return f"{downward.count} {played}{stand_ins}"


def throwaway_value() -> str:
    """A random stand-in for a sealed value: 32 random bytes, URL-safe text (43 characters)."""
    return secrets.token_urlsafe(32)


def _environment(
    context: Context,
    workload: Workload,
    resolved: Environment,
    notes: list[str],
    sealed: _Sealed,
    downward: Downward,
) -> tuple[dict[str, str], list[str]]:
    namespace = workload.resource.namespace
    env: dict[str, str] = {}
    missing: list[str] = []
    for key, source, _ in resolved.invalid_keys:
        notes.append(
            f"{source}: key {key!r} is not a variable name: older kubelets skip it, newer ones "
            "pass it under that name; either way Pocket-ID never reads it (skipped here)"
        )
    for source in resolved.unknown_sources:
        missing.append(f"{source}: not in the manifests")
    for name, value in resolved.values.items():
        if value.value is not None:
            env[name] = value.value
            continue
        if value.source == "valueFrom":
            entries = workload.container.get("env") or []
            entry = entries[int(value.path[-1])] if value.path else {}
            try:
                env[name] = downward.value(name, dict(entry.get("valueFrom") or {}))
            except ValueError as exc:
                raise PodError(str(exc)) from None
            continue
        kinds = ("Secret", ss.KIND) if value.from_secret else ("ConfigMap",)
        holder = context.find(kinds, value.holder, namespace)
        data = _data(holder, sealed) if holder is not None else {}
        if value.key not in data:
            if not value.optional:
                missing.append(f"{name}: {value.source} {value.holder}/{value.key} does not exist")
            continue
        env[name] = data[value.key].decode("utf-8", "replace")
    return env, missing


@dataclass
class _Sealed:
    """One throwaway value per sealed key and run, so that the env and the volume agree."""

    values: dict[tuple[str, str], bytes] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)


def _data(holder: Resource, sealed: _Sealed) -> dict[str, bytes]:
    """A holder's keys and values; a sealed value is replaced by a throwaway one."""
    _shaped(holder)
    view = holder.view
    if holder.kind == "ConfigMap":
        plain = {k: str(v).encode() for k, v in (view.get("data") or {}).items()}
        binary = view.get("binaryData") or {}
        return {**plain, **{k: _decoded(holder, "binaryData", k, v) for k, v in binary.items()}}
    if holder.kind == ss.KIND:
        label = f"SealedSecret {holder.name}"
        if label not in sealed.labels:
            sealed.labels.append(label)
        return {
            str(key): sealed.values.setdefault((holder.name, str(key)), throwaway_value().encode())
            for key in view.get("spec", {}).get("encryptedData") or {}
        }
    data = {k: _decoded(holder, "data", k, v) for k, v in (view.get("data") or {}).items()}
    data.update({k: str(v).encode() for k, v in (view.get("stringData") or {}).items()})
    return data


def _mount(context: Context, workload: Workload, mount: VolumeMount, sealed: _Sealed) -> Mount:
    name = mount.get("name") or ""
    owner = f"{workload.resource.kind}/{workload.resource.name}"
    if not VOLUME_NAME.match(name):
        raise ManifestError(
            f"{owner}: volumeMount name {name[:40]!r} is not a volume name (at most 63 "
            "lower-case letters, digits and '-')"
        )
    where = f"{owner}: volumeMount {name!r} mountPath"
    path = _no_dotdot((mount.get("mountPath") or "").rstrip("/") or "/", where)
    sub_path = _sub_path(mount, f"{owner}: volumeMount {name!r}")
    volume = workload.volume(name) or {}
    read_only = bool(mount.get("readOnly"))
    source = next((k for k in volume if k != "name"), "missing")
    if "persistentVolumeClaim" in volume:
        claim = volume["persistentVolumeClaim"].get("claimName") or name
        if not CLAIM_NAME.match(claim):
            raise ManifestError(
                f"{owner}: volume {name!r} persistentVolumeClaim.claimName {claim[:40]!r}"
                f"{'...' if len(claim) > 40 else ''} is not a claim name (at most 253 "
                "lower-case letters, digits, '-' and '.')"
            )
        return Mount(
            path,
            name,
            "persistentVolumeClaim",
            claim=claim,
            read_only=read_only,
            sub_path=sub_path,
        )
    if "secret" in volume or "configMap" in volume:
        source = "secret" if "secret" in volume else "configMap"
        secret, config_map = volume.get("secret") or {}, volume.get("configMap") or {}
        holder_name = secret.get("secretName") if source == "secret" else config_map.get("name")
        kinds = ("Secret", ss.KIND) if source == "secret" else ("ConfigMap",)
        holder = context.find(kinds, holder_name or "", workload.resource.namespace)
        data = _data(holder, sealed) if holder is not None else {}
        mode = secret.get("defaultMode") if source == "secret" else config_map.get("defaultMode")
        default_mode = _whole(mode, 0o644, f"{owner}: volume {name!r} {source}.defaultMode")
        items = secret.get("items") if source == "secret" else config_map.get("items")
        files: dict[str, tuple[bytes, int]] = {}
        if items is not None:
            for item in items:
                key = str(item.get("key"))
                relative = _no_dotdot(
                    item.get("path") or key,
                    f"{owner}: volume {name!r} {source} items[key={key!r}].path",
                    relative=True,
                )
                if key in data:
                    files[relative] = (
                        data[key],
                        _whole(
                            item.get("mode"),
                            default_mode,
                            f"{owner}: volume {name!r} {source} items[key={key!r}].mode",
                        ),
                    )
        else:
            files = {
                _no_dotdot(key, f"{owner}: volume {name!r} {source} key", relative=True): (
                    value,
                    default_mode,
                )
                for key, value in data.items()
            }
        return Mount(path, name, source, read_only=True, files=files, sub_path=sub_path)
    return Mount(path, name, source, read_only=read_only, sub_path=sub_path)


SUB_PATH_EXPR: Final = "$(expr)"
"""Marks a Mount whose sub_path is a subPathExpr still to expand with the container's env."""


def _sub_path(mount: VolumeMount, where: str) -> str:
    """The volumeMount's subPath (checked as the API server checks it), or its subPathExpr
    marked for expansion; '' for neither."""
    sub_path, expression = mount.get("subPath") or "", mount.get("subPathExpr") or ""
    if sub_path and expression:
        raise PodError(f"{where}: subPath and subPathExpr are mutually exclusive; fix: keep one")
    if sub_path:
        return _no_dotdot(sub_path, f"{where} subPath", relative=True).strip("/")
    return SUB_PATH_EXPR + expression if expression else ""


def _expanded(mount: Mount, env: dict[str, str], missing: list[str], workload: Workload) -> Mount:
    """``mount`` with its subPathExpr expanded from the container's variables, as the kubelet
    does at start; one that then leaves the volume stops the container (listed in
    ``missing``, mounted whole here)."""
    if not mount.sub_path.startswith(SUB_PATH_EXPR):
        return mount
    expression = mount.sub_path.removeprefix(SUB_PATH_EXPR)
    value = kubelet.expand_variables(expression, env)
    owner = f"{workload.resource.kind}/{workload.resource.name}"
    where = f"{owner}: volumeMount {mount.volume!r} subPathExpr {expression!r} ({value!r})"
    try:
        _no_dotdot(value, where, relative=True)
    except PodError:
        missing.append(
            f"{where} leaves the volume: the kubelet refuses it (an absolute path or a '..' part)"
        )
        return replace(mount, sub_path="")
    return replace(mount, sub_path=value.strip("/"))


def _sub_paths(mounts: list[Mount]) -> list[str]:
    """The pod row's words on subPath mounts, with the trap of a ConfigMap's or Secret's."""
    said = []
    for mount in mounts:
        if not mount.sub_path:
            continue
        stale = (
            f": a subPath of a {mount.source} volume is copied once, never updated when the "
            f"{mount.source} changes (the program sees the old value until the pod is replaced)"
            if mount.source in ("configMap", "secret", "projected", "downwardAPI")
            else ""
        )
        said.append(f"{mount.path} is {mount.sub_path!r} of volume {mount.volume!r}{stale}")
    return said


def _probe(kind: str, spec: ProbeSpec, ports: dict[str, int], where: str) -> Probe:
    http = spec.get("httpGet")
    tcp = spec.get("tcpSocket")
    port: int | None = None
    path: str | None = None
    action = "httpGet"
    command: tuple[str, ...] = ()
    if http is not None:
        path = http.get("path") or "/"
        raw = http.get("port")
        port = raw if isinstance(raw, int) else ports.get(str(raw))
    elif tcp is not None:
        action = "tcpSocket"
        raw = tcp.get("port")
        port = raw if isinstance(raw, int) else ports.get(str(raw))
    elif "exec" in spec:
        action = "exec"
        command = tuple(str(word) for word in (spec["exec"] or {}).get("command") or [])
    elif "grpc" in spec:
        action = "grpc"
    return Probe(
        kind=kind,
        path=path,
        port=port,
        period=_whole(spec.get("periodSeconds"), 10, f"{where}.periodSeconds"),
        timeout=_whole(spec.get("timeoutSeconds"), 1, f"{where}.timeoutSeconds"),
        failure_threshold=_whole(spec.get("failureThreshold"), 3, f"{where}.failureThreshold"),
        success_threshold=_whole(spec.get("successThreshold"), 1, f"{where}.successThreshold"),
        initial_delay=_whole(spec.get("initialDelaySeconds"), 0, f"{where}.initialDelaySeconds"),
        action=action,
        command=command,
    )
