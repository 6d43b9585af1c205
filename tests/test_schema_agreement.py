"""An agreement table: mutations of the bundle's objects (unknown field, wrong type,
missing required field, bad enum value), judged by ``check``'s schema rules offline and
by a real kube-apiserver (server-side apply, dryRun=All, the real CRDs). Where they
disagree, either ``check`` has a bug or the difference is a documented limit (LIMITS).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from pocketid_k8s.check import run_check
from pocketid_k8s.config import Config
from pocketid_k8s.render import render
from tests.kubeapi import KubeAPI

Obj = dict[str, Any]
SCHEMA_RULES = ("schema/core", "schema/custom")


def container(obj: Obj) -> Obj:
    result: Obj = obj["spec"]["template"]["spec"]["containers"][0]
    return result


def setter(path: str, value: object) -> Callable[[Obj], None]:
    """Set a dotted path (numbers index lists)."""

    def mutate(obj: Obj) -> None:
        *parents, last = path.split(".")
        node: Any = obj
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


def deleter(path: str) -> Callable[[Obj], None]:
    def mutate(obj: Obj) -> None:
        *parents, last = path.split(".")
        node: Any = obj
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[int(last) if last.isdigit() else last]

    return mutate


MUTATIONS: dict[str, tuple[str, Callable[[Obj], None]]] = {
    "unchanged deployment": ("deployment.yaml", lambda obj: None),
    "deployment: unknown field": ("deployment.yaml", setter("spec.template.spec.hostname2", "x")),
    "deployment: replicas as string": ("deployment.yaml", setter("spec.replicas", "1")),
    "deployment: container without image": (
        "deployment.yaml",
        deleter("spec.template.spec.containers.0.image"),
    ),
    "deployment: unknown strategy": ("deployment.yaml", setter("spec.strategy.type", "Sideways")),
    "service: unknown protocol": ("service.yaml", setter("spec.ports.0.protocol", "HTTP")),
    "service: port as string": ("service.yaml", setter("spec.ports.0.port", "80")),
    "configmap: number value": ("configmap.yaml", setter("data.PORT", 1411)),
    "pvc: unknown access mode": (
        "storage.yaml",
        setter("spec.accessModes", ["ReadWriteSometimes"]),
    ),
    "pvc: no size": ("storage.yaml", deleter("spec.resources.requests")),
    "deployment: selector misses the template": (
        "deployment.yaml",
        setter("spec.selector.matchLabels", {"app": "other"}),
    ),
    "pvc: bad quantity": ("storage.yaml", setter("spec.resources.requests.storage", "2 GB")),
    "ingress: unknown pathType": (
        "ingress.yaml",
        setter("spec.rules.0.http.paths.0.pathType", "Prefixx"),
    ),
    "networkpolicy: unknown protocol": (
        "networkpolicy.yaml",
        setter("spec.ingress.0.ports.0.protocol", "ICMP"),
    ),
    "certificate: unknown field": ("certificate.yaml", setter("spec.dnsName", "a.example.org")),
    "certificate: missing issuerRef": ("certificate.yaml", deleter("spec.issuerRef")),
    "certificate: dnsNames as string": ("certificate.yaml", setter("spec.dnsNames", "a.example")),
    "middleware: permanent as string": (
        "middleware.yaml",
        setter("spec.redirectRegex.permanent", "yes"),
    ),
    "middleware: unknown field": ("middleware.yaml", setter("spec.redirectRegexx", {})),
    "sealedsecret: missing encryptedData": ("sealedsecret.yaml", deleter("spec.encryptedData")),
    "recurringjob: retain as string": ("recurringjob-backup.yaml", setter("spec.retain", "14")),
    "recurringjob: unknown task": ("recurringjob-backup.yaml", setter("spec.task", "backups")),
    "recurringjob: unknown field": ("recurringjob-backup.yaml", setter("spec.schedule", "daily")),
    # Labels and Ingress hosts: the API server's own validation (issue 18 items 4 and 5)
    "deployment: version label ends with '-'": (
        "deployment.yaml",
        lambda obj: obj["metadata"]["labels"].update({"app.kubernetes.io/version": "v2.2.0-"}),
    ),
    "deployment: template label over 63 characters": (
        "deployment.yaml",
        setter("spec.template.metadata.labels.extra", "v" * 64),
    ),
    "service: label value starts with '_'": ("service.yaml", setter("metadata.labels.x", "_v2")),
    "service: label key with two slashes": ("service.yaml", setter("metadata.labels.a/b/c", "x")),
    "sealedsecret: label over 63 characters": (
        "sealedsecret.yaml",
        setter("metadata.labels.extra", "t" * 70),
    ),
    "ingress: host is an IP": ("ingress.yaml", setter("spec.rules.0.host", "192.168.1.10")),
    "ingress: host is an IPv6 address": ("ingress.yaml", setter("spec.rules.0.host", "fd00::1")),
    "ingress: host in upper case": ("ingress.yaml", setter("spec.rules.0.host", "ID.Example.org")),
    "ingress: wildcard host": ("ingress.yaml", setter("spec.rules.0.host", "*.example.org")),
}

ACCEPTED: frozenset[str] = frozenset({"unchanged deployment", "ingress: wildcard host"})
"""Mutations the API server accepts: check must accept them too."""

LIMITS: dict[str, str] = {}
"""Mutations where check and the API server disagree, and why that is accepted."""


@pytest.fixture(scope="module")
def site(kube_api: KubeAPI) -> Config:
    config = Config.model_validate(
        {
            "site": {"namespace": kube_api.unique("agree")},
            "backup": {"longhorn_namespace": kube_api.unique("longhorn")},
        }
    )
    kube_api.namespace(config.site.namespace)
    kube_api.namespace(config.backup.longhorn_namespace)
    return config


def server_refuses(api: KubeAPI, obj: Obj) -> tuple[bool, str]:
    response = api.apply_response(obj, dry_run=True)
    return response.is_error, response.text[:300]


def check_refuses(obj: Obj, folder: Path, crd_schemas: Path) -> tuple[bool, list[str]]:
    path = folder / "object.yaml"
    path.write_text(yaml.safe_dump(obj))
    report = run_check([str(path)], kube_version="1.35", schema_location=str(crd_schemas))
    found = [f"{f.rule}: {f.message}" for f in report.findings if f.rule in SCHEMA_RULES]
    return bool(found), found


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_check_agrees_with_the_api_server(
    mutation: str, site: Config, kube_api: KubeAPI, crd_schemas: Path, tmp_path: Path
) -> None:
    file, mutate = MUTATIONS[mutation]
    obj = copy.deepcopy(dict(render(site))[file])
    mutate(obj)
    server, answer = server_refuses(kube_api, obj)
    offline, findings = check_refuses(obj, tmp_path, crd_schemas)
    if mutation in LIMITS:
        assert offline != server, f"no longer a limit: {LIMITS[mutation]}"
        return
    assert offline == server, (
        f"check {'refuses' if offline else 'accepts'} ({findings}), the API server "
        f"{'refuses' if server else 'accepts'} ({answer})"
    )
    assert server is (mutation not in ACCEPTED), "the mutation's expected verdict changed"
