"""The typed view of a Kubernetes object: the fields the rules read, each of its own shape.

A parsed YAML document is ``Mapping[str, object]``: anything may be anywhere. The rules
read :class:`Object` instead, a ``TypedDict(total=False)`` body in kopf's style, filled
by one validating reader (:func:`read`, msgspec underneath): a field of the wrong shape
is left out of the view and recorded as a :class:`Problem` (path, type found, type
expected), so no rule ever meets a shape it does not expect, and mypy --strict refuses a
rule that reads the raw document.

The static type is one superset (:class:`Spec` holds the spec fields of every kind the
rules read); each kind is converted with only its own fields (:data:`SPEC_FIELDS`), so a
Service's ``selector`` (a label map) and a NetworkPolicy's ``podSelector`` (a label
selector) never meet.
"""

# Unlike the other modules, no `from __future__ import annotations`: the TypedDicts' fields are
# then types at once, not strings that typing compiles one by one at import and evaluates again
# when the reader is built (startup: about 4 ms of a check of the bundle).

import re
from collections.abc import Mapping
from functools import cache
from typing import Final, TypedDict, Union, cast, get_args, get_origin, get_type_hints

import msgspec

__all__ = [
    "Container",
    "Object",
    "PodSpec",
    "Problem",
    "Scalar",
    "Spec",
    "Volume",
    "read",
]

Scalar = str | int | float | bool | None
"""A leaf that the rules only compare or show (label values, ConfigMap data, env values)."""
Unread = dict[str, object] | None
"""A field whose presence matters but whose content no rule reads (a volume's type)."""

MAX_PROBLEMS: Final = 64
"""Past this many wrong-shaped fields, the object is not read at all."""
MAX_NULLS: Final = 1024
"""Null fields (absent, as the API server reads them) dropped before giving up."""


# --- metadata -----------------------------------------------------------------------------


class ObjectMeta(TypedDict, total=False):
    name: str
    namespace: str
    labels: dict[str, Scalar]
    annotations: dict[str, Scalar]


class LabelRequirement(TypedDict, total=False):
    key: str
    operator: str
    values: list[Scalar]


class LabelSelector(TypedDict, total=False):
    matchLabels: dict[str, Scalar]
    matchExpressions: list[LabelRequirement]


# --- containers ---------------------------------------------------------------------------


class ContainerPort(TypedDict, total=False):
    name: str
    containerPort: int
    hostPort: int
    protocol: str


class KeyRef(TypedDict, total=False):
    name: str
    key: str
    optional: bool


class EnvVarSource(TypedDict, total=False):
    secretKeyRef: KeyRef
    configMapKeyRef: KeyRef
    fieldRef: Unread
    resourceFieldRef: Unread


class EnvVar(TypedDict, total=False):
    name: str
    value: Scalar
    valueFrom: EnvVarSource


class SourceRef(TypedDict, total=False):
    name: str
    optional: bool


class EnvFromSource(TypedDict, total=False):
    prefix: str
    configMapRef: SourceRef
    secretRef: SourceRef


class VolumeMount(TypedDict, total=False):
    name: str
    mountPath: str
    readOnly: bool
    subPath: str
    subPathExpr: str


class Capabilities(TypedDict, total=False):
    add: list[str]
    drop: list[str]


class SeccompProfile(TypedDict, total=False):
    type: str


class SecurityContext(TypedDict, total=False):
    """A container's securityContext and the pod's (the fields both may hold)."""

    privileged: bool
    allowPrivilegeEscalation: bool
    readOnlyRootFilesystem: bool
    runAsNonRoot: bool
    runAsUser: int
    runAsGroup: int
    fsGroup: int
    capabilities: Capabilities
    seccompProfile: SeccompProfile


class HTTPGet(TypedDict, total=False):
    path: str
    port: int | str
    scheme: str


class ExecAction(TypedDict, total=False):
    command: list[Scalar]


class TCPSocket(TypedDict, total=False):
    port: int | str


class Probe(TypedDict, total=False):
    httpGet: HTTPGet
    exec: ExecAction
    tcpSocket: TCPSocket
    grpc: Unread
    periodSeconds: int
    timeoutSeconds: int
    failureThreshold: int
    successThreshold: int
    initialDelaySeconds: int


class Resources(TypedDict, total=False):
    requests: dict[str, Scalar]
    limits: dict[str, Scalar]


class Container(TypedDict, total=False):
    name: str
    image: str
    command: list[str]
    args: list[str]
    workingDir: str
    ports: list[ContainerPort]
    env: list[EnvVar]
    envFrom: list[EnvFromSource]
    volumeMounts: list[VolumeMount]
    securityContext: SecurityContext
    resources: Resources
    startupProbe: Probe
    readinessProbe: Probe
    livenessProbe: Probe


# --- volumes ------------------------------------------------------------------------------


class KeyToPath(TypedDict, total=False):
    key: str
    path: str
    mode: int


class SecretVolume(TypedDict, total=False):
    secretName: str
    name: str
    """In a projected volume's sources."""
    items: list[KeyToPath]
    optional: bool
    defaultMode: int


class ConfigMapVolume(TypedDict, total=False):
    name: str
    items: list[KeyToPath]
    optional: bool
    defaultMode: int


class ClaimVolume(TypedDict, total=False):
    claimName: str
    readOnly: bool


class ProjectedSource(TypedDict, total=False):
    secret: SecretVolume
    configMap: ConfigMapVolume


class Projected(TypedDict, total=False):
    sources: list[ProjectedSource]
    defaultMode: int


class Volume(TypedDict, total=False):
    """A pod volume: its name, the types the rules follow, and every other type by name only
    (the Pod Security Standard is about which types there are)."""

    name: str
    persistentVolumeClaim: ClaimVolume
    secret: SecretVolume
    configMap: ConfigMapVolume
    projected: Projected
    emptyDir: Unread
    csi: Unread
    downwardAPI: Unread
    ephemeral: Unread
    hostPath: Unread
    nfs: Unread
    awsElasticBlockStore: Unread
    azureDisk: Unread
    azureFile: Unread
    cephfs: Unread
    cinder: Unread
    fc: Unread
    flexVolume: Unread
    flocker: Unread
    gcePersistentDisk: Unread
    gitRepo: Unread
    glusterfs: Unread
    image: Unread
    iscsi: Unread
    photonPersistentDisk: Unread
    portworxVolume: Unread
    quobyte: Unread
    rbd: Unread
    scaleIO: Unread
    storageos: Unread
    vsphereVolume: Unread


# --- pods and workloads -------------------------------------------------------------------


class PodSpec(TypedDict, total=False):
    containers: list[Container]
    initContainers: list[Container]
    volumes: list[Volume]
    securityContext: SecurityContext
    hostNetwork: bool
    hostPID: bool
    hostIPC: bool
    automountServiceAccountToken: bool
    serviceAccountName: str
    terminationGracePeriodSeconds: int


class PodTemplate(TypedDict, total=False):
    metadata: ObjectMeta
    spec: PodSpec


class RollingUpdate(TypedDict, total=False):
    maxSurge: int | str
    maxUnavailable: int | str


class Strategy(TypedDict, total=False):
    type: str
    rollingUpdate: RollingUpdate


class ClaimTemplate(TypedDict, total=False):
    metadata: ObjectMeta


class JobSpec(TypedDict, total=False):
    template: PodTemplate


class JobTemplate(TypedDict, total=False):
    spec: JobSpec


# --- networking ---------------------------------------------------------------------------


class ServicePort(TypedDict, total=False):
    name: str
    port: int
    targetPort: int | str


class BackendPort(TypedDict, total=False):
    number: int
    name: str


class BackendService(TypedDict, total=False):
    name: str
    port: BackendPort


class Backend(TypedDict, total=False):
    service: BackendService


class IngressPath(TypedDict, total=False):
    path: str
    backend: Backend


class IngressHTTP(TypedDict, total=False):
    paths: list[IngressPath]


class IngressRule(TypedDict, total=False):
    host: str
    http: IngressHTTP


class IngressTLS(TypedDict, total=False):
    hosts: list[Scalar]
    secretName: str


class RedirectRegex(TypedDict, total=False):
    regex: str
    replacement: str


# --- Argo CD ------------------------------------------------------------------------------


class Destination(TypedDict, total=False):
    namespace: str
    server: str
    name: str


class GroupKind(TypedDict, total=False):
    group: str
    kind: str


# --- the object ---------------------------------------------------------------------------


class Spec(PodSpec, total=False):
    """Every spec field the rules read, of every kind (a Pod's spec is a PodSpec)."""

    # Deployment, StatefulSet, DaemonSet, ReplicaSet, Job
    replicas: int
    strategy: Strategy
    template: PodTemplate
    volumeClaimTemplates: list[ClaimTemplate]
    # CronJob
    jobTemplate: JobTemplate
    # Service
    selector: dict[str, Scalar]
    ports: list[ServicePort]
    # Ingress
    defaultBackend: Backend
    rules: list[IngressRule]
    tls: list[IngressTLS]
    # cert-manager Certificate
    secretName: str
    dnsNames: list[Scalar]
    # NetworkPolicy
    podSelector: LabelSelector
    # SealedSecret (template: metadata only)
    encryptedData: dict[str, Scalar]
    # Traefik Middleware
    redirectRegex: RedirectRegex
    # Argo CD Application and AppProject
    project: str
    destination: Destination
    destinations: list[Destination]
    clusterResourceWhitelist: list[GroupKind]
    clusterResourceBlacklist: list[GroupKind]
    namespaceResourceWhitelist: list[GroupKind]
    namespaceResourceBlacklist: list[GroupKind]


class Object(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: ObjectMeta
    spec: Spec
    data: dict[str, Scalar]
    stringData: dict[str, Scalar]
    binaryData: dict[str, Scalar]
    automountServiceAccountToken: bool


_WORKLOAD: Final = ("replicas", "strategy", "template", "volumeClaimTemplates")
_ARGO_PROJECT: Final = (
    "destinations",
    "clusterResourceWhitelist",
    "clusterResourceBlacklist",
    "namespaceResourceWhitelist",
    "namespaceResourceBlacklist",
)
SPEC_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "Pod": tuple(PodSpec.__annotations__),
    "Deployment": _WORKLOAD,
    "StatefulSet": _WORKLOAD,
    "DaemonSet": _WORKLOAD,
    "ReplicaSet": _WORKLOAD,
    "Job": _WORKLOAD,
    "CronJob": ("jobTemplate",),
    "Service": ("selector", "ports"),
    "Ingress": ("defaultBackend", "rules", "tls"),
    "Certificate": ("secretName", "dnsNames"),
    "NetworkPolicy": ("podSelector",),
    "SealedSecret": ("encryptedData", "template"),
    "Middleware": ("redirectRegex",),
    "Application": ("project", "destination"),
    "AppProject": _ARGO_PROJECT,
}
"""The spec fields each kind is read with (other kinds: no spec)."""
TOP_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "ConfigMap": ("data", "binaryData"),
    "Secret": ("data", "stringData"),
    "ServiceAccount": ("automountServiceAccountToken",),
}
"""Top-level fields besides apiVersion, kind, metadata (and spec for the kinds above)."""


@cache
def _hints(typed: type) -> dict[str, object]:
    """``typed``'s fields and their types, worked out once (each kind's reader asks again)."""
    return get_type_hints(typed)


@cache
def _type_of(kind: str) -> type:
    """The runtime TypedDict that ``kind`` is converted to: the superset, cut to its fields."""
    top = _hints(Object)
    fields = {k: top[k] for k in ("apiVersion", "kind", "metadata")}
    fields.update({k: top[k] for k in TOP_FIELDS.get(kind, ())})
    if kind in SPEC_FIELDS:
        spec = _hints(Spec)
        name = f"{kind}Spec"
        fields["spec"] = TypedDict(  # type: ignore[operator]  # a runtime-only subset of Spec
            name, {k: spec[k] for k in SPEC_FIELDS[kind]}, total=False
        )
    return cast(type, TypedDict(f"{kind}Object", fields, total=False))  # type: ignore[operator]


# --- the reader ---------------------------------------------------------------------------

PathPart = str | int
ProblemPath = tuple[PathPart, ...]


class Problem(msgspec.Struct, frozen=True):
    """One field of the wrong shape: where, what it is, what the rules expect."""

    path: ProblemPath
    found: str
    expected: str


_ERROR: Final = re.compile(
    r"^(?P<text>.*?)(?: - at `(?P<key>key` in `)?(?P<path>\$[^`]*)`)?$", re.S
)
_PART: Final = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\[\.\.\.\]")
_EXPECTED: Final = re.compile(r"^Expected `(?P<expected>[^`]*)`, got `(?P<found>[^`]*)`")
_NAMES: Final = {
    "array": "a list",
    "object": "a mapping",
    "null": "null",
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "datetime": "a date and time",
    "date": "a date",
    "time": "a time",
}


def _named(types: str) -> str:
    """msgspec's ``int | str`` -> ``an integer or a string``."""
    if types.replace(" ", "") == "bool|int|float|str|null":
        return "a single value (a string, number or boolean)"
    return " or ".join(_NAMES.get(t.strip(), t.strip()) for t in types.split("|"))


def read(doc: Mapping[str, object], kind: str) -> tuple[Object, list[Problem]]:
    """The typed view of ``doc`` and the fields left out of it for their shape.

    Each failed conversion names one field; it is removed from a working copy (a list of
    objects keeps its length: a bad element becomes ``{}``; a bad element of a list of
    scalars drops the list) and the conversion is tried again, at most
    :data:`MAX_PROBLEMS` times. ``doc`` itself is never changed.
    """
    target = _type_of(kind)
    working: object = doc
    problems: list[Problem] = []
    for _ in range(MAX_PROBLEMS + MAX_NULLS):
        try:
            return cast(Object, msgspec.convert(working, type=target)), problems
        except msgspec.ValidationError as exc:
            if len(problems) >= MAX_PROBLEMS:
                break
            located = _locate(str(exc), working, target)
            if located is None:
                break
            problem, working = located
            if problem.found != "null":  # null is absent, as the API server reads it
                problems.append(problem)
    # too many, or not locatable: nothing of the object is read but what names it
    problems.append(Problem((), "too many fields of the wrong shape", "a Kubernetes object"))
    view: Object = {}
    api, kind_ = doc.get("apiVersion"), doc.get("kind")
    if isinstance(api, str):
        view["apiVersion"] = api
    if isinstance(kind_, str):
        view["kind"] = kind_
    return view, problems


def _locate(message: str, working: object, target: type) -> tuple[Problem, object] | None:
    match = _ERROR.match(message)
    if match is None or match["path"] is None:
        return None
    path: list[PathPart] = []
    for part in _PART.finditer(match["path"][1:]):
        if part[1] is not None:
            path.append(part[1])
        elif part[2] is not None:
            path.append(int(part[2]))
        else:  # '[...]': a value of a mapping; find its key
            holder = _at(working, path)
            value_type = _element(_type_at(target, path))
            bad = _first_bad(holder, value_type)
            if bad is None:
                return None
            path.append(cast(PathPart, bad[0]))
    if match["key"]:  # a key of the wrong type in a mapping
        bad = _first_bad(_at(working, path), None, keys=True)
        if bad is None:
            return None
        key = cast(PathPart, bad[0])
        found = "null" if key is None else type(key).__name__
        problem = Problem((*path, str(key)), f"a key that is {_named(found)}", "a string key")
        return problem, _without(working, path, key, target)
    expected = _EXPECTED.match(match["text"])
    if expected is None:
        shown, wanted = match["text"].strip(), "another shape"
    else:
        shown, wanted = _named(expected["found"]), _named(expected["expected"])
    if not path:
        return None
    return Problem(tuple(path), shown, wanted), _without(working, path[:-1], path[-1], target)


def _at(data: object, path: list[PathPart]) -> object:
    for part in path:
        listed = isinstance(data, list) and isinstance(part, int) and part < len(data)
        if not (listed or (isinstance(data, dict) and part in data)):
            return None
        data = data[part]  # type: ignore[index]
    return data


def _first_bad(holder: object, value_type: object, *, keys: bool = False) -> tuple[object] | None:
    """(the first key of ``holder`` that is not a string (``keys``), or whose value is not of
    ``value_type``,), or None."""
    if not isinstance(holder, dict):
        return None
    for key, value in holder.items():
        if (keys and not isinstance(key, str)) or (not keys and _fails(value, value_type)):
            return (key,)
    return None


def _fails(value: object, type_: object) -> bool:
    try:
        msgspec.convert(value, type=type_)
    except msgspec.ValidationError:
        return True
    return False


def _type_at(root: object, path: list[PathPart]) -> object:
    """The declared type at ``path`` under ``root`` (``object`` where it cannot be told)."""
    current = root
    for part in path:
        current = _unwrap(current)
        if isinstance(part, int) or get_origin(current) is dict:
            current = _element(current)
        elif isinstance(current, type) and hasattr(current, "__annotations__"):
            current = get_type_hints(current).get(part, object)
        else:
            return object
    return _unwrap(current)


def _unwrap(type_: object) -> object:
    """``X | None`` -> ``X``."""
    if get_origin(type_) in (Union, type(int | None)):
        args = [a for a in get_args(type_) if a is not type(None)]
        return args[0] if len(args) == 1 else type_
    return type_


def _element(type_: object) -> object:
    """The element type of ``list[X]`` or the value type of ``dict[K, V]``."""
    args = get_args(_unwrap(type_))
    return args[-1] if args else object


def _is_object(type_: object) -> bool:
    return isinstance(type_, type) and issubclass(type_, dict)


def _without(working: object, path: list[PathPart], last: PathPart, target: type) -> object:
    """A copy of ``working`` without ``path + [last]`` (copied along the path only)."""
    holder = _at(working, path)
    if isinstance(holder, list) and isinstance(last, int):
        if _is_object(_element(_type_at(target, path))):
            replaced = list(holder)
            replaced[last] = {}
            return _replace(working, path, replaced)
        return _replace(working, path[:-1], None, drop=path[-1]) if path else {}
    if isinstance(holder, dict):
        return _replace(working, path, {k: v for k, v in holder.items() if k != last})
    return _replace(working, path[:-1], None, drop=path[-1]) if path else {}


def _replace(
    data: object, path: list[PathPart], new: object, *, drop: PathPart | None = None
) -> object:
    if not path:
        if drop is not None and isinstance(data, dict):
            return {k: v for k, v in data.items() if k != drop}
        if drop is not None and isinstance(data, list) and isinstance(drop, int):
            replaced = list(data)
            replaced[drop] = {}
            return replaced
        return new
    head, rest = path[0], path[1:]
    if isinstance(data, dict):
        return {**data, head: _replace(data[head], rest, new, drop=drop)}
    if isinstance(data, list) and isinstance(head, int):
        copy = list(data)
        copy[head] = _replace(data[head], rest, new, drop=drop)
        return copy
    return data
