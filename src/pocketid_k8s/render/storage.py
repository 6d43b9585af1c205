"""The data volume and the Longhorn jobs that snapshot and back it up."""

from __future__ import annotations

from pocketid_k8s.config import BackupMode, Config
from pocketid_k8s.render._meta import ARGOCD_SYNC_OPTIONS, KEEP_ON_PRUNE, Manifest, metadata

LONGHORN_SOURCE_LABEL = "recurring-job.longhorn.io/source"
"""Tells Longhorn to copy the PVC's recurring-job labels to its volume."""
LONGHORN_GROUP_LABEL = "recurring-job-group.longhorn.io"


def persistent_volume_claim(config: Config) -> Manifest:
    storage = config.storage
    labels = {}
    if config.backup.mode is not BackupMode.NONE:
        labels = {
            LONGHORN_SOURCE_LABEL: "enabled",
            f"{LONGHORN_GROUP_LABEL}/{config.backup.group}": "enabled",
        }
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": metadata(
            config,
            storage.claim_name,
            component="storage",
            labels=labels,
            annotations={ARGOCD_SYNC_OPTIONS: KEEP_ON_PRUNE},
        ),
        "spec": {
            "storageClassName": storage.storage_class,
            "accessModes": [storage.access_mode],
            "resources": {"requests": {"storage": storage.size}},
        },
    }


def recurring_job(config: Config, task: str, cron: str, retain: int) -> Manifest:
    name = f"{config.site.name}-{task}"
    return {
        "apiVersion": "longhorn.io/v1beta2",
        "kind": "RecurringJob",
        "metadata": metadata(
            config, name, namespace=config.backup.longhorn_namespace, component="backup"
        ),
        "spec": {
            "name": name,
            "task": task,
            "cron": cron,
            "retain": retain,
            "concurrency": 1,
            "groups": [config.backup.group],
            "labels": {"app.kubernetes.io/instance": config.site.name},
        },
    }


def snapshot_job(config: Config) -> Manifest:
    return recurring_job(
        config, "snapshot", config.backup.snapshot_cron, config.backup.snapshot_retain
    )


def backup_job(config: Config) -> Manifest:
    return recurring_job(config, "backup", config.backup.backup_cron, config.backup.backup_retain)
