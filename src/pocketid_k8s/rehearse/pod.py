"""The Pocket-ID pod as the manifests describe it: environment, mounts, probes, strategy, resources.

The environment is resolved by :meth:`pocketid_k8s.check.context.Context.environment`
(the kubelet's order and rules); this module only fills in the values that the
checker leaves out: a Secret's data, and a throwaway value for a Secret that
the bundle holds only sealed.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Final

from pocketid_k8s.check.context import Context, Environment, Workload
from pocketid_k8s.check.model import Resource, get
from pocketid_k8s.contract import env as names
from pocketid_k8s.contract import image, pocketid, table
from pocketid_k8s.contract import sealed_secrets as ss
from pocketid_k8s.contract.image import Version
from pocketid_k8s.errors import PocketIdK8sError
from pocketid_k8s.rehearse.identity import Identity, identity_of

__all__ = ["ManifestError", "Mount", "Pod", "PodError", "Probe", "pod_from"]

PROBES: Final = ("startupProbe", "readinessProbe", "livenessProbe")


class PodError(PocketIdK8sError):
    """The manifests hold no Pocket-ID pod that can be rehearsed."""


class ManifestError(PodError):
    """A field of the manifests holds a value the API server would not accept; the message
    names the object and the field (never a Secret's value), the caller adds the fix."""


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
    notes = []
    if len(found) > 1:
        notes.append(f"{len(found)} Pocket-ID containers found; rehearsing the first")
    container, pod = workload.container, workload.pod
    sealed = _Sealed()
    resolved = context.environment(workload)
    env, missing = _environment(context, workload, resolved, notes, sealed)
    mounts = [_mount(context, workload, m, sealed) for m in container.get("volumeMounts") or []]
    owner = f"{workload.resource.kind}/{workload.resource.name}"
    working_dir = _no_dotdot(
        str(container.get("workingDir") or pocketid.WORKDIR),
        f"{owner}: container {container.get('name')!r} workingDir",
    )
    ports = {
        str(p.get("name") or p.get("containerPort")): int(p["containerPort"])
        for p in container.get("ports") or []
        if isinstance(p, dict) and isinstance(p.get("containerPort"), int)
    }
    strategy = get(workload.resource.doc, "spec", "strategy") or {}
    kind = workload.resource.kind
    strategy_type = str(strategy.get("type") or ("RollingUpdate" if kind == "Deployment" else ""))
    if kind == "StatefulSet":
        strategy_type = "StatefulSet (one pod at a time)"
    surge = get(strategy, "rollingUpdate", "maxSurge")
    resources_ = container.get("resources") or {}
    return Pod(
        workload=workload,
        env=env,
        notes=notes,
        missing=missing,
        throwaway=sealed.labels,
        secret_env=[n for n, v in resolved.values.items() if v.from_secret and n in env],
        working_dir=working_dir,
        mounts=mounts,
        probes={
            k: _probe(k, container[k], ports, f"{owner}: container {container.get('name')!r} {k}")
            for k in PROBES
            if isinstance(container.get(k), dict)
        },
        strategy=strategy_type,
        max_surge="25%" if surge is None else str(surge),
        replicas=_whole(
            get(workload.resource.doc, "spec", "replicas"), 1, f"{owner}: spec.replicas"
        )
        or 1,
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
    )


def throwaway_value() -> str:
    """A random stand-in for a sealed value: 32 random bytes, URL-safe text (43 characters)."""
    return secrets.token_urlsafe(32)


def _environment(
    context: Context,
    workload: Workload,
    resolved: Environment,
    notes: list[str],
    sealed: _Sealed,
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
            notes.append(f"{name}: a fieldRef/resourceFieldRef value is not played; left unset")
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
    if holder.kind == "ConfigMap":
        plain = {str(k): str(v).encode() for k, v in (holder.doc.get("data") or {}).items()}
        binary = holder.doc.get("binaryData") or {}
        return {
            **plain,
            **{str(k): _decoded(holder, "binaryData", k, v) for k, v in binary.items()},
        }
    if holder.kind == ss.KIND:
        label = f"SealedSecret {holder.name}"
        if label not in sealed.labels:
            sealed.labels.append(label)
        return {
            str(key): sealed.values.setdefault((holder.name, str(key)), throwaway_value().encode())
            for key in get(holder.doc, "spec", "encryptedData") or {}
        }
    data = {
        str(k): _decoded(holder, "data", k, v) for k, v in (holder.doc.get("data") or {}).items()
    }
    data.update({str(k): str(v).encode() for k, v in (holder.doc.get("stringData") or {}).items()})
    return data


def _mount(context: Context, workload: Workload, mount: dict[str, Any], sealed: _Sealed) -> Mount:
    name = str(mount.get("name") or "")
    owner = f"{workload.resource.kind}/{workload.resource.name}"
    where = f"{owner}: volumeMount {name!r} mountPath"
    path = _no_dotdot(str(mount.get("mountPath") or "").rstrip("/") or "/", where)
    volume = workload.volume(name) or {}
    read_only = bool(mount.get("readOnly"))
    source = next((k for k in volume if k != "name"), "missing")
    if source == "persistentVolumeClaim":
        claim = str(get(volume, source, "claimName") or name)
        return Mount(path, name, source, claim=claim, read_only=read_only)
    if source in ("secret", "configMap"):
        spec = volume[source] or {}
        holder_name = str(spec.get("secretName" if source == "secret" else "name") or "")
        kinds = ("Secret", ss.KIND) if source == "secret" else ("ConfigMap",)
        holder = context.find(kinds, holder_name, workload.resource.namespace)
        data = _data(holder, sealed) if holder is not None else {}
        default_mode = _whole(
            spec.get("defaultMode"), 0o644, f"{owner}: volume {name!r} {source}.defaultMode"
        )
        items = spec.get("items")
        files: dict[str, tuple[bytes, int]] = {}
        if isinstance(items, list):
            for item in items:
                key = str(item.get("key"))
                relative = _no_dotdot(
                    str(item.get("path") or key),
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
        return Mount(path, name, source, read_only=True, files=files)
    return Mount(path, name, source, read_only=read_only)


def _probe(kind: str, spec: dict[str, Any], ports: dict[str, int], where: str) -> Probe:
    http = spec.get("httpGet")
    port: int | None = None
    path: str | None = None
    if isinstance(http, dict):
        path = str(http.get("path") or "/")
        raw = http.get("port")
        port = raw if isinstance(raw, int) else ports.get(str(raw))
    return Probe(
        kind=kind,
        path=path,
        port=port,
        period=_whole(spec.get("periodSeconds"), 10, f"{where}.periodSeconds"),
        timeout=_whole(spec.get("timeoutSeconds"), 1, f"{where}.timeoutSeconds"),
        failure_threshold=_whole(spec.get("failureThreshold"), 3, f"{where}.failureThreshold"),
        success_threshold=_whole(spec.get("successThreshold"), 1, f"{where}.successThreshold"),
        initial_delay=_whole(spec.get("initialDelaySeconds"), 0, f"{where}.initialDelaySeconds"),
    )
