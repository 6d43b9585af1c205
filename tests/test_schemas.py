"""Every rendered object validates: core kinds strictly for Kubernetes 1.32, custom
kinds against the CRD schemas in ../shared/crd-schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from pocketid_k8s.bundle import build_bundle
from pocketid_k8s.config import Config
from pocketid_k8s.render import Manifest, application, render
from tests.conftest import config_with

KUBERNETES_VERSION = "1.32.0"
CUSTOM_GROUPS = {"bitnami.com", "cert-manager.io", "traefik.io", "longhorn.io", "argoproj.io"}

VARIANTS = {
    "spec-site": Config(),
    "key-as-env": config_with(deployment={"key_delivery": "env", "cpu_limit": ""}),
    "spec-literal": config_with(
        deployment={
            "health_path": "/health",
            "data_mount_path": "/data",
            "key_delivery": "envFrom",
            "strategy": "RollingUpdate",
        },
        ingress={"redirect_internal": False},
        backup={"mode": "none"},
        network_policy={"enabled": False},
    ),
    "with-application": config_with(
        argocd={"application": True, "repo_url": "https://git.example.com/homelab.git"}
    ),
}


def objects_of(config: Config) -> list[Manifest]:
    found = [manifest for _, manifest in render(config)]
    if config.argocd.application:
        found.append(application(config))
    return found


def schema_for(folder: Path, obj: dict[str, Any]) -> dict[str, Any]:
    group, version = obj["apiVersion"].split("/")
    path = folder / group / f"{obj['kind'].lower()}_{version}.json"
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


@pytest.mark.parametrize("variant", VARIANTS)
def test_core_kinds_validate_strictly(variant: str) -> None:
    """Namespace, ConfigMap, Deployment, ... pass kubernetes-validate in strict mode."""
    checked = 0
    for obj in objects_of(VARIANTS[variant]):
        if obj["apiVersion"].split("/")[0] in CUSTOM_GROUPS:
            continue
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        checked += 1
    assert checked >= 5


@pytest.mark.parametrize("variant", VARIANTS)
def test_custom_kinds_validate_against_crd_schemas(variant: str, crd_schemas: Path) -> None:
    """SealedSecret, Certificate, Middleware, RecurringJob, Application match their CRDs."""
    checked = set()
    for obj in objects_of(VARIANTS[variant]):
        if obj["apiVersion"].split("/")[0] not in CUSTOM_GROUPS:
            continue
        jsonschema.validate(obj, schema_for(crd_schemas, obj))
        checked.add(obj["kind"])
    assert {"SealedSecret", "Certificate"} <= checked


def test_the_schemas_reject_a_broken_object(crd_schemas: Path) -> None:
    """The CRD validation is not vacuous: an unknown field in a Middleware fails."""
    middleware = dict(render(Config()))["middleware.yaml"]
    broken = {**middleware, "spec": {"redirectRegex": {"regexp": "^x"}}}
    with pytest.raises(jsonschema.ValidationError, match="'regexp' was unexpected"):
        jsonschema.validate(broken, schema_for(crd_schemas, broken))


def test_strict_core_validation_is_not_vacuous() -> None:
    """An unknown container field fails strict validation."""
    deployment = dict(render(Config()))["deployment.yaml"]
    spec = deployment["spec"]["template"]["spec"]
    broken_container = {**spec["containers"][0], "livenessProbes": {}}
    broken = {
        **deployment,
        "spec": {
            **deployment["spec"],
            "template": {
                **deployment["spec"]["template"],
                "spec": {**spec, "containers": [broken_container]},
            },
        },
    }
    with pytest.raises(kubernetes_validate.ValidationError, match="livenessProbes"):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_application_points_at_the_app_folder(tmp_path: Path) -> None:
    """The optional Application: project utilities, automated prune and self-heal."""
    config = VARIANTS["with-application"]
    bundle = build_bundle(config, tmp_path)
    path = Path("k8s-manifests/argocd/applications/pocket-id.yaml")
    assert path.as_posix() in {p.as_posix() for p in bundle.files}
    app = application(config)
    assert app["spec"] == {
        "project": "utilities",
        "source": {
            "repoURL": "https://git.example.com/homelab.git",
            "targetRevision": "main",
            "path": "k8s-apps/utilities/pocket-id",
        },
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "pocket-id"},
        "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
    }
