"""What the rules look at: the resource set, its Pocket-ID workloads, and their environment.

The environment is resolved as the kubelet would: ``envFrom`` sources in order,
then ``env`` entries, later ones winning; keys that are not valid variable
names are kept apart, because older kubelets skip them and newer ones pass
them under a name the program never reads.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import defaultdict
from typing import Final

import msgspec

from pocketid_k8s.check.lazy import cached
from pocketid_k8s.check.model import POD_SPEC_PATHS, Path, Resource
from pocketid_k8s.check.view import (
    Backend,
    Container,
    Object,
    PodSpec,
    PodTemplate,
    Probe,
    Scalar,
    Volume,
)
from pocketid_k8s.contract import sealed_secrets as ss
from pocketid_k8s.contract.image import PocketIdImage, Version, is_pocket_id, parse_image
from pocketid_k8s.contract.table import facts_for

ENV_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SECRET_HOLDERS: Final = ("Secret", ss.KIND)
__all__ = [
    "Context",
    "EnvValue",
    "Environment",
    "Workload",
    "covering_mount",
    "ingress_backends",
    "is_pocket_id",
]


class EnvValue(msgspec.Struct, frozen=True):
    """One environment variable: its literal value when known, and where it comes from."""

    value: str | None
    source: str
    path: Path
    literal: bool = False
    from_secret: bool = False
    secret: str | None = None
    """The value decoded from a Secret in the set: validated, never shown."""
    holder: str = ""
    """The ConfigMap or Secret the value comes from (empty for a literal)."""
    key: str = ""
    """The key in ``holder``."""
    optional: bool = False
    """The reference is ``optional``: a missing holder or key leaves the variable unset."""

    @property
    def known(self) -> str | None:
        """The value for validation: literal, from a ConfigMap, or from a Secret."""
        return self.value if self.value is not None else self.secret


class Environment(msgspec.Struct):
    values: dict[str, EnvValue] = msgspec.field(default_factory=dict)
    invalid_keys: list[tuple[str, str, Path]] = msgspec.field(default_factory=list)
    """(key, source, path) of envFrom keys that are not valid variable names."""
    unknown_sources: list[str] = msgspec.field(default_factory=list)
    """envFrom sources not in the checked set: their keys are unknown."""
    required_unknown: list[str] = msgspec.field(default_factory=list)
    """Those of them that are not optional: refs/missing-reference reports each."""

    def literal(self, name: str) -> str | None:
        value = self.values.get(name)
        return value.value if value is not None else None


class Workload(msgspec.Struct):
    """A pod-bearing resource and one of its containers."""

    resource: Resource
    pod_path: Path
    index: int
    init: bool = False

    @property
    def pod(self) -> PodSpec:
        return pod_spec(self.resource.view, self.resource.kind) or {}

    @property
    def container_path(self) -> Path:
        return (*self.pod_path, "initContainers" if self.init else "containers", self.index)

    @property
    def container(self) -> Container:
        pod = self.pod
        containers = (pod.get("initContainers") if self.init else pod.get("containers")) or []
        return containers[self.index] if self.index < len(containers) else {}

    @property
    def probes(self) -> list[tuple[str, Probe | None]]:
        """(name, probe or None) of the startup, readiness and liveness probes."""
        c = self.container
        found = (c.get("startupProbe"), c.get("readinessProbe"), c.get("livenessProbe"))
        return list(zip(("startupProbe", "readinessProbe", "livenessProbe"), found, strict=True))

    @property
    def labels(self) -> dict[str, Scalar]:
        if self.resource.kind == "Pod":
            return self.resource.metadata.get("labels") or {}
        template = _template(self.resource.view, self.resource.kind) or {}
        return (template.get("metadata") or {}).get("labels") or {}

    @property
    def image(self) -> str:
        return self.container.get("image") or ""

    @property
    def pocket_id_image(self) -> PocketIdImage | None:
        return parse_image(self.image)

    @property
    def version(self) -> Version | None:
        image = self.pocket_id_image
        return image.version if image else None

    @property
    def facts(self) -> tuple[Version, bool]:
        """(the version whose facts apply, whether they were read for this image's version)."""
        return facts_for(self.version)

    @property
    def mounts(self) -> dict[str, tuple[str, int]]:
        """mountPath -> (volume name, index in volumeMounts)."""
        found = {}
        for i, mount in enumerate(self.container.get("volumeMounts") or []):
            where = mount.get("mountPath")
            if where:
                found[where.rstrip("/") or "/"] = (str(mount.get("name")), i)
        return found

    def volume(self, name: str) -> Volume | None:
        for volume in self.pod.get("volumes") or []:
            if volume.get("name") == name:
                return volume
        for template in self.resource.view.get("spec", {}).get("volumeClaimTemplates") or []:
            if (template.get("metadata") or {}).get("name") == name:
                return {"name": name, "persistentVolumeClaim": {"claimName": name}}
        return None


def _template(view: Object, kind: str) -> PodTemplate | None:
    """The pod template of a workload kind (None for a Pod and for other kinds)."""
    spec = view.get("spec") or {}
    if kind == "CronJob":
        return ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
    if kind in POD_SPEC_PATHS and kind != "Pod":
        return spec.get("template") or {}
    return None


def pod_spec(view: Object, kind: str) -> PodSpec | None:
    """The pod spec of a pod-bearing object (None for other kinds)."""
    spec = view.get("spec") or {}
    if kind == "Pod":
        return spec
    template = _template(view, kind)
    return None if template is None else template.get("spec") or {}


class Context:
    """The resource set, indexed for the rules."""

    def __init__(self, resources: list[Resource], whole: Context | None = None) -> None:
        self.resources = resources
        self.whole = whole
        """The whole checked set, when this is one app folder of it: what the app refers to
        may be another app's in the same namespace (Argo CD syncs them all), so a lookup that
        finds nothing in the app looks there too."""
        self._by_kind: dict[str, list[Resource]] = defaultdict(list)
        for resource in resources:
            self._by_kind[resource.kind].append(resource)

    def of_kind(self, *kinds: str) -> list[Resource]:
        return [r for kind in kinds for r in self._by_kind.get(kind, [])]

    def find(self, kinds: tuple[str, ...], name: str, namespace: str) -> Resource | None:
        """The object of one of ``kinds`` called ``name`` in ``namespace`` (or unset)."""
        for kind in kinds:
            for resource in self._by_name.get((kind, name), ()):
                if _namespace_fits(resource.namespace, namespace):
                    return resource
        return None if self.whole is None else self.whole.find(kinds, name, namespace)

    def find_secret(self, name: str, namespace: str) -> Resource | None:
        """A Secret, a SealedSecret that makes it, or a Certificate that writes it."""
        found = self.find(SECRET_HOLDERS, name, namespace)
        if found is not None:
            return found
        return next(iter(self.certificates_for(name, namespace)), None)

    def certificates_for(self, secret: str, namespace: str) -> list[Resource]:
        """The Certificates that write the Secret ``secret`` in ``namespace`` (or unset)."""
        found = [
            cert
            for cert in self._certificates_by_secret.get(secret, ())
            if _namespace_fits(cert.namespace, namespace)
        ]
        if found or self.whole is None:
            return found
        return self.whole.certificates_for(secret, namespace)

    def middlewares(self, ref: str, namespace: str) -> list[Resource]:
        """The Traefik Middlewares that an Ingress in ``namespace`` names by ``ref``, as its
        router.middlewares annotation does ('NAMESPACE-NAME'; one without a namespace is in
        the Ingress's)."""
        found = list(self._middlewares_by_ref.get(ref, ()))
        if ref.startswith(f"{namespace}-"):
            found += self._middlewares_without_namespace.get(ref[len(namespace) + 1 :], ())
        return found

    # --- indexes, built once: no rule scans the whole set for each object ---------------

    @cached
    def _middlewares_by_ref(self) -> dict[str, list[Resource]]:
        index: dict[str, list[Resource]] = defaultdict(list)
        for middleware in self.of_kind("Middleware"):
            if middleware.namespace:
                index[f"{middleware.namespace}-{middleware.name}"].append(middleware)
        return index

    @cached
    def _middlewares_without_namespace(self) -> dict[str, list[Resource]]:
        index: dict[str, list[Resource]] = defaultdict(list)
        for middleware in self.of_kind("Middleware"):
            if not middleware.namespace:
                index[middleware.name].append(middleware)
        return index

    @cached
    def _by_name(self) -> dict[tuple[str, str], list[Resource]]:
        index: dict[tuple[str, str], list[Resource]] = defaultdict(list)
        for resource in self.resources:
            index[(resource.kind, resource.name)].append(resource)
        return index

    @cached
    def _certificates_by_secret(self) -> dict[str, list[Resource]]:
        index: dict[str, list[Resource]] = defaultdict(list)
        for cert in self.of_kind("Certificate"):
            secret = cert.view.get("spec", {}).get("secretName")
            if secret:
                index[secret].append(cert)
        return index

    @cached
    def _services_by_pair(self) -> dict[tuple[str, Scalar], list[Resource]]:
        """Services by one pair of their selector: a pod lacking it is not selected."""
        index: dict[tuple[str, Scalar], list[Resource]] = defaultdict(list)
        for service in self.of_kind("Service"):
            selector = service.view.get("spec", {}).get("selector")
            if selector:
                index[_one_pair(selector)].append(service)
        return index

    @cached
    def _pods_by_pair(self) -> dict[tuple[str, Scalar], list[Workload]]:
        """Each pod template's containers (not init containers) by each of its labels."""
        index: dict[tuple[str, Scalar], list[Workload]] = defaultdict(list)
        for workload in self.workloads:
            if not workload.init:
                for pair in workload.labels.items():
                    index[pair].append(workload)
        return index

    @cached
    def _ingresses_by_service(self) -> dict[str, list[Resource]]:
        index: dict[str, list[Resource]] = defaultdict(list)
        for ingress in self.of_kind("Ingress"):
            names = {(b.get("service") or {}).get("name") for _, b in ingress_backends(ingress)}
            for name in names:
                if name is not None:
                    index[name].append(ingress)
        return index

    @cached
    def _position(self) -> dict[int, int]:
        return {id(resource): n for n, resource in enumerate(self.resources)}

    @cached
    def _by_kind_and_namespace(self) -> dict[tuple[str, str], list[Resource]]:
        index: dict[tuple[str, str], list[Resource]] = defaultdict(list)
        for resource in self.resources:
            index[(resource.kind, resource.namespace)].append(resource)
        return index

    def in_namespace(self, kind: str, namespace: str) -> list[Resource]:
        """The objects of ``kind`` in ``namespace``, and those without one (every object when
        ``namespace`` is unset)."""
        if not namespace:
            return self.of_kind(kind)
        index = self._by_kind_and_namespace
        return [*index.get((kind, namespace), ()), *index.get((kind, ""), ())]

    def pods_selected(self, selector: dict[str, Scalar], namespace: str) -> list[Workload]:
        """The pod templates' containers that ``selector`` picks in ``namespace`` (or unset)."""
        found = [
            w
            for w in self._pods_by_pair.get(_one_pair(selector), ())
            if all(w.labels.get(k) == v for k, v in selector.items())
            and _namespace_fits(w.resource.namespace, namespace)
        ]
        if found or self.whole is None:
            return found
        return self.whole.pods_selected(selector, namespace)

    @cached
    def workloads(self) -> list[Workload]:
        """Every container of every pod-bearing resource."""
        found = []
        for kind, pod_path in POD_SPEC_PATHS.items():
            for resource in self.of_kind(kind):
                pod = pod_spec(resource.view, kind)
                if pod is None:
                    continue
                for init, containers in (
                    (False, pod.get("containers")),
                    (True, pod.get("initContainers")),
                ):
                    for i in range(len(containers or [])):
                        found.append(Workload(resource, pod_path, i, init))
        return found

    @cached
    def pocket_ids(self) -> list[Workload]:
        return [w for w in self.workloads if not w.init and is_pocket_id(w.image)]

    def keys_of(self, holder: Resource) -> dict[str, str | None]:
        """Keys of a ConfigMap, Secret or SealedSecret; values only where they are plain."""
        view = holder.view
        if holder.kind == "ConfigMap":
            data = view.get("data") or {}
            return {k: None if v is None else str(v) for k, v in data.items()}
        if holder.kind == "Secret":
            return dict.fromkeys({**(view.get("data") or {}), **(view.get("stringData") or {})})
        if holder.kind == ss.KIND:
            return dict.fromkeys(view.get("spec", {}).get("encryptedData") or {})
        return {}

    def secret_values(self, holder: Resource) -> dict[str, str]:
        """A Secret's values, decoded (for validation only: never put them in a message)."""
        if holder.kind != "Secret":
            return {}
        found = {}
        for key, value in (holder.view.get("data") or {}).items():
            try:
                found[key] = base64.b64decode(str(value), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                continue
        for key, value in (holder.view.get("stringData") or {}).items():
            found[key] = str(value)
        return found

    def environment(self, workload: Workload) -> Environment:
        env = Environment()
        namespace = workload.resource.namespace
        base = workload.container_path
        for i, source in enumerate(workload.container.get("envFrom") or []):
            prefix = source.get("prefix") or ""
            for ref_key, ref, kinds, secret in (
                ("configMapRef", source.get("configMapRef"), ("ConfigMap",), False),
                ("secretRef", source.get("secretRef"), SECRET_HOLDERS, True),
            ):
                if ref is None:
                    continue
                name = ref.get("name") or ""
                label = f"envFrom {ref_key} {name}"
                holder = self.find(kinds, name, namespace)
                if holder is not None and holder.problems:  # not read: input/shape says why
                    env.unknown_sources.append(f"{label} (its fields are of the wrong shape)")
                    continue
                if holder is None:
                    env.unknown_sources.append(label)
                    if not ref.get("optional"):
                        env.required_unknown.append(label)
                    continue
                decoded = self.secret_values(holder) if secret else {}
                for key, value in self.keys_of(holder).items():
                    variable = prefix + key
                    path = (*base, "envFrom", i)
                    if not ENV_NAME.match(variable):
                        env.invalid_keys.append((variable, label, path))
                        continue
                    env.values[variable] = EnvValue(
                        None if secret else value,
                        label,
                        path,
                        literal=False,
                        from_secret=secret,
                        secret=decoded.get(key),
                        holder=name,
                        key=key,
                        optional=bool(ref.get("optional")),
                    )
        for i, entry in enumerate(workload.container.get("env") or []):
            env_name = entry.get("name")
            if not env_name:
                continue
            path = (*base, "env", i)
            if "value" in entry or "valueFrom" not in entry:
                literal = entry.get("value")
                env.values[env_name] = EnvValue(
                    "" if literal is None else str(literal), "env", path, literal=True
                )
                continue
            value_from = entry.get("valueFrom") or {}
            if "secretKeyRef" in value_from:
                ref = value_from["secretKeyRef"]
                holder = self.find(SECRET_HOLDERS, ref.get("name") or "", namespace)
                decoded = self.secret_values(holder) if holder else {}
                env.values[env_name] = EnvValue(
                    None,
                    "secretKeyRef",
                    path,
                    from_secret=True,
                    secret=decoded.get(str(ref.get("key"))),
                    holder=ref.get("name") or "",
                    key=ref.get("key") or "",
                    optional=bool(ref.get("optional")),
                )
            elif "configMapKeyRef" in value_from:
                ref = value_from["configMapKeyRef"]
                holder = self.find(("ConfigMap",), ref.get("name") or "", namespace)
                value = self.keys_of(holder).get(str(ref.get("key"))) if holder else None
                env.values[env_name] = EnvValue(
                    value,
                    "configMapKeyRef",
                    path,
                    holder=ref.get("name") or "",
                    key=ref.get("key") or "",
                    optional=bool(ref.get("optional")),
                )
            else:
                env.values[env_name] = EnvValue(None, "valueFrom", path)
        return env

    def services_for(self, workload: Workload) -> list[Resource]:
        """Services whose selector picks the workload's pods."""
        labels = workload.labels
        found = {
            id(service): service
            for pair in labels.items()
            for service in self._services_by_pair.get(pair, ())
            if _same_namespace(service, workload.resource)
            and all(
                labels.get(k) == v
                for k, v in (service.view.get("spec", {}).get("selector") or {}).items()
            )
        }
        return sorted(found.values(), key=lambda r: self._position[id(r)])

    def ingresses_for(self, services: list[Resource]) -> list[Resource]:
        """Ingresses with a rule or default backend on one of ``services``."""
        found = {
            id(ingress): ingress
            for service in services
            for ingress in self._ingresses_by_service.get(service.name, ())
            if _namespace_fits(ingress.namespace, service.namespace)
        }
        return sorted(found.values(), key=lambda r: self._position[id(r)])


def ingress_backends(ingress: Resource) -> list[tuple[Path, Backend]]:
    """(path, backend) of the default backend and every rule path."""
    found: list[tuple[Path, Backend]] = []
    spec = ingress.view.get("spec") or {}
    default = spec.get("defaultBackend")
    if default is not None:
        found.append((("spec", "defaultBackend"), default))
    for r, rule in enumerate(spec.get("rules") or []):
        for p, item in enumerate((rule.get("http") or {}).get("paths") or []):
            backend = item.get("backend")
            if backend is not None:
                found.append((("spec", "rules", r, "http", "paths", p, "backend"), backend))
    return found


def _same_namespace(a: Resource, b: Resource) -> bool:
    return _namespace_fits(a.namespace, b.namespace)


def _namespace_fits(a: str, b: str) -> bool:
    """Two namespaces are the same one, or either is unset (the namespace of the apply)."""
    return not a or not b or a == b


def _one_pair(selector: dict[str, Scalar]) -> tuple[str, Scalar]:
    """The pair a selector is indexed by: any one works, since a match needs them all."""
    return min(selector.items(), key=lambda pair: (pair[0], str(pair[1])))


def covering_mount(mounts: dict[str, tuple[str, int]], path: str) -> str | None:
    """The mountPath that holds ``path`` (the longest prefix), or None."""
    best = None
    for mount in mounts:
        inside = path == mount or path.startswith(mount.rstrip("/") + "/") or mount == "/"
        if inside and (best is None or len(mount) > len(best)):
            best = mount
    return best
