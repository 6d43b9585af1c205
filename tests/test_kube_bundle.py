"""The rendered bundle against a real kube-apiserver with the real CRDs: every object
applies server-side in kustomization order with no warning, and a Pod from the
Deployment's template is admitted under Pod Security ``restricted``."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pocketid_k8s.config import Config
from pocketid_k8s.render import Manifest, render
from tests.kubeapi import KubeAPI

VARIANTS: dict[str, dict[str, Any]] = {
    "spec defaults": {},
    "no internal host": {"ingress": {"internal_host": ""}},
    "public host": {
        "pocket_id": {"app_url": "https://login.example.org"},
        "ingress": {"public_host": "login.example.org"},
    },
    "key by secretKeyRef": {"deployment": {"key_delivery": "env"}},
    "envFrom with ENCRYPTION_KEY": {
        "deployment": {"key_delivery": "envFrom"},
        "secret": {"key": "ENCRYPTION_KEY"},
    },
    "backup group only": {"backup": {"mode": "group"}},
    "no backup, no network policy": {
        "backup": {"mode": "none"},
        "network_policy": {"enabled": False},
    },
    "no cpu limit, digest, extra env": {
        "deployment": {"cpu_limit": ""},
        "pocket_id": {
            "image": "ghcr.io/pocket-id/pocket-id:v2.2.0@sha256:" + "a" * 64,
            "env": {"LOG_LEVEL": "info", "ANALYTICS_DISABLED": "true"},
        },
    },
    "rolling update, spec paths": {
        "deployment": {"strategy": "RollingUpdate", "health_path": "/health"},
    },
}


def site(api: KubeAPI, sections: dict[str, Any]) -> Config:
    """``sections`` in namespaces of this test's own (namespaces never finish deleting)."""
    merged = copy.deepcopy(sections)
    merged.setdefault("site", {})["namespace"] = api.unique("pid")
    merged.setdefault("backup", {})["longhorn_namespace"] = api.unique("longhorn")
    return Config.model_validate(merged)


def pod_from(deployment: Manifest, name: str = "probe") -> dict[str, Any]:
    template = deployment["spec"]["template"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": deployment["metadata"]["namespace"],
            "labels": template["metadata"]["labels"],
        },
        "spec": copy.deepcopy(template["spec"]),
    }


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_bundle_applies_in_kustomization_order_without_warnings(
    kube_api: KubeAPI, variant: str
) -> None:
    config = site(kube_api, VARIANTS[variant])
    kube_api.namespace(config.backup.longhorn_namespace)  # Longhorn's own, a prerequisite
    applied = []
    for file, obj in render(config):
        response = kube_api.apply_response(obj)
        assert response.status_code in (200, 201), f"{file}: {response.text[:600]}"
        assert response.headers.get_list("warning") == [], file
        applied.append(file)
    assert applied == [file for file, _ in render(config)]
    stored = kube_api.get(
        f"/apis/apps/v1/namespaces/{config.site.namespace}/deployments/{config.site.name}"
    )
    assert stored["metadata"]["managedFields"][0]["manager"] == "tests"


def test_bundle_needs_the_longhorn_namespace(kube_api: KubeAPI) -> None:
    """The RecurringJobs go into Longhorn's namespace, which the bundle does not create."""
    config = site(kube_api, {})
    job = dict(render(config))["recurringjob-backup.yaml"]
    response = kube_api.apply_response(job)
    assert response.status_code == 404
    assert response.json()["message"] == (
        f'namespaces "{config.backup.longhorn_namespace}" not found'
    )


@pytest.fixture
def applied(kube_api: KubeAPI) -> dict[str, Manifest]:
    config = site(kube_api, {"backup": {"mode": "none"}})
    objects = dict(render(config))
    for obj in objects.values():
        kube_api.apply(obj)
    return objects


def test_pod_from_the_template_is_admitted_under_restricted(
    kube_api: KubeAPI, applied: dict[str, Manifest]
) -> None:
    namespace = applied["namespace.yaml"]["metadata"]
    assert namespace["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    response = kube_api.http.post(
        f"/api/v1/namespaces/{namespace['name']}/pods",
        params={"dryRun": "All"},
        json=pod_from(applied["deployment.yaml"]),
    )
    assert response.status_code == 201, response.text[:800]
    assert response.headers.get_list("warning") == []


def test_restricted_refuses_the_template_without_its_security_contexts(
    kube_api: KubeAPI, applied: dict[str, Manifest]
) -> None:
    """The same admission refuses a pod without them: the test above can fail."""
    pod = pod_from(applied["deployment.yaml"])
    del pod["spec"]["securityContext"]
    del pod["spec"]["containers"][0]["securityContext"]
    response = kube_api.http.post(
        f"/api/v1/namespaces/{pod['metadata']['namespace']}/pods",
        params={"dryRun": "All"},
        json=pod,
    )
    assert response.status_code == 403
    message = response.json()["message"]
    assert 'violates PodSecurity "restricted:latest"' in message
    for violation in (
        "allowPrivilegeEscalation != false",
        "unrestricted capabilities",
        "runAsNonRoot != true",
        "seccompProfile",
    ):
        assert violation in message
