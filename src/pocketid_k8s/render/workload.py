"""The ServiceAccount and the Deployment: the pod that runs Pocket-ID.

What the image needs (shared/pocket-id-contract.md): all state under
/app/data, a non-root user given as numbers (the image has no USER), one
instance at a time, /healthz as the only real health endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pocketid_k8s.config import SECRET_MOUNT_PATH, TMP_MOUNT_PATH, Config, KeyDelivery, Strategy
from pocketid_k8s.contract import env as E
from pocketid_k8s.contract.pocketid import IMAGE_USER
from pocketid_k8s.render._meta import Manifest, common_labels, metadata, selector_labels
from pocketid_k8s.render.settings import CONFIG_MAP_NAME, settings_hash

CONTAINER_NAME: Final = "pocket-id"
PORT_NAME: Final = "http"
RUN_AS: Final = IMAGE_USER
"""The user and group the image's entrypoint would drop to (PUID/PGID 1000)."""
SECRET_FILE_MODE: Final = 0o440
"""Readable by the fsGroup, which the kubelet gives the files of a secret volume."""
TMP_SIZE_LIMIT: Final = "64Mi"
CONFIG_HASH_ANNOTATION: Final = "pocketid-k8s/config-hash"
CONTROL_PLANE_LABEL: Final = "node-role.kubernetes.io/control-plane"


@dataclass(frozen=True)
class ProbeTiming:
    """One probe's kubelet settings; the arithmetic is in docs/timing.md."""

    period: int
    timeout: int
    failures: int

    @property
    def budget(self) -> int:
        """Seconds of consecutive failures before the kubelet acts."""
        return self.period * self.failures


STARTUP: Final = ProbeTiming(period=2, timeout=2, failures=60)
"""A first start (key generation, migrations) may take up to 120 s; ready 2 s after it listens."""
READINESS: Final = ProbeTiming(period=5, timeout=2, failures=3)
LIVENESS: Final = ProbeTiming(period=10, timeout=3, failures=5)
"""A hung process is restarted after 50 to 53 s."""


def service_account(config: Config) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata(config, config.site.name, component="server"),
        "automountServiceAccountToken": False,
    }


def deployment(config: Config) -> Manifest:
    dep = config.deployment
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(config, config.site.name, component="server"),
        "spec": {
            "replicas": dep.replicas,
            "revisionHistoryLimit": 3,
            "strategy": {"type": dep.strategy.value}
            if dep.strategy is Strategy.RECREATE
            else {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "selector": {"matchLabels": selector_labels(config)},
            "template": {
                "metadata": {
                    "labels": common_labels(config, "server"),
                    "annotations": {CONFIG_HASH_ANNOTATION: settings_hash(config)},
                },
                "spec": _pod_spec(config),
            },
        },
    }


def _pod_spec(config: Config) -> Manifest:
    dep = config.deployment
    spec: Manifest = {
        "serviceAccountName": config.site.name,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": dep.termination_grace_period_seconds,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "fsGroup": RUN_AS,
            "fsGroupChangePolicy": "OnRootMismatch",
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    if dep.prefer_non_control_plane:
        spec["affinity"] = {
            "nodeAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "preference": {
                            "matchExpressions": [
                                {"key": CONTROL_PLANE_LABEL, "operator": "DoesNotExist"}
                            ]
                        },
                    }
                ]
            }
        }
    spec["containers"] = [_container(config)]
    spec["volumes"] = _volumes(config)
    return spec


def _container(config: Config) -> Manifest:
    dep = config.deployment
    env_from: list[Manifest] = [{"configMapRef": {"name": CONFIG_MAP_NAME}}]
    env: list[Manifest] = []
    if dep.key_delivery is KeyDelivery.FILE:
        env.append(
            {"name": E.ENCRYPTION_KEY_FILE, "value": f"{SECRET_MOUNT_PATH}/{config.secret.key}"}
        )
    elif dep.key_delivery is KeyDelivery.ENV:
        env.append(
            {
                "name": E.ENCRYPTION_KEY,
                "valueFrom": {
                    "secretKeyRef": {"name": config.secret.name, "key": config.secret.key}
                },
            }
        )
    else:
        env_from.append({"secretRef": {"name": config.secret.name}})
    env += [
        {"name": f"{name}_FILE", "value": f"{SECRET_MOUNT_PATH}/{key}"}
        for name, key in _settings(config)
    ]

    limits = {"memory": dep.memory_limit}
    if dep.cpu_limit:
        limits = {"cpu": dep.cpu_limit, **limits}
    container: Manifest = {
        "name": CONTAINER_NAME,
        "image": config.pocket_id.image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": PORT_NAME, "containerPort": config.pocket_id.port, "protocol": "TCP"}],
        "envFrom": env_from,
    }
    if env:
        container["env"] = env
    container |= {
        "startupProbe": _probe(config, STARTUP),
        "readinessProbe": _probe(config, READINESS),
        "livenessProbe": _probe(config, LIVENESS),
        "resources": {
            "requests": {"cpu": dep.cpu_request, "memory": dep.memory_request},
            "limits": limits,
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": _volume_mounts(config),
    }
    return container


def _probe(config: Config, timing: ProbeTiming) -> Manifest:
    return {
        "httpGet": {"path": config.deployment.health_path, "port": PORT_NAME},
        "periodSeconds": timing.period,
        "timeoutSeconds": timing.timeout,
        "failureThreshold": timing.failures,
    }


def _volume_mounts(config: Config) -> list[Manifest]:
    mounts: list[Manifest] = [
        {"name": "data", "mountPath": config.deployment.data_mount_path},
        {"name": "tmp", "mountPath": TMP_MOUNT_PATH},
    ]
    if _secret_files(config):
        mounts.append({"name": "secrets", "mountPath": SECRET_MOUNT_PATH, "readOnly": True})
    return mounts


def _settings(config: Config) -> list[tuple[str, str]]:
    """([secret] settings name, its Secret key), by name: each is read from NAME_FILE."""
    return sorted(config.secret.keys().items())


def _secret_files(config: Config) -> list[str]:
    """The Secret keys the pod reads as files in the read-only secrets folder."""
    keys = [config.secret.key] if config.deployment.key_delivery is KeyDelivery.FILE else []
    return keys + [key for _, key in _settings(config)]


def _volumes(config: Config) -> list[Manifest]:
    volumes: list[Manifest] = [
        {"name": "data", "persistentVolumeClaim": {"claimName": config.storage.claim_name}},
        {"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE_LIMIT}},
    ]
    files = _secret_files(config)
    if files:
        volumes.append(
            {
                "name": "secrets",
                "secret": {
                    "secretName": config.secret.name,
                    "items": [{"key": key, "path": key} for key in files],
                    "defaultMode": SECRET_FILE_MODE,
                },
            }
        )
    return volumes
