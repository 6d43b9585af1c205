"""Pure builders: config -> plain Kubernetes objects, one module per concern.

:data:`PARTS` is the bundle's table of contents: which file holds which
object, in the order the files are listed, and when each one is present.
Nothing here does I/O; :mod:`pocketid_k8s.bundle` turns the result into files.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

from pocketid_k8s.config import BackupMode, Config, KeyDelivery, Strategy
from pocketid_k8s.contract import env as E
from pocketid_k8s.contract.pocketid import (
    CHECKED_VERSION,
    DATA_DIR,
    HEALTH_PATH,
    WORKDIR,
    single_holder,
)
from pocketid_k8s.contract.table import lookup
from pocketid_k8s.render._meta import Manifest
from pocketid_k8s.render.argocd import application
from pocketid_k8s.render.ingress import internal_ingress, public_ingress, redirect_middleware
from pocketid_k8s.render.namespace import namespace
from pocketid_k8s.render.network import network_policy, service
from pocketid_k8s.render.secret import sealed_secret_placeholder
from pocketid_k8s.render.settings import config_map
from pocketid_k8s.render.storage import backup_job, persistent_volume_claim, snapshot_job
from pocketid_k8s.render.tls import internal_certificate, public_certificate
from pocketid_k8s.render.version import rendered_for, version_warnings
from pocketid_k8s.render.workload import deployment, service_account

__all__ = [
    "PARTS",
    "SEALED_SECRET_FILE",
    "Manifest",
    "Part",
    "application",
    "deviations",
    "render",
]

SEALED_SECRET_FILE = "sealedsecret.yaml"


def _always(_: Config) -> bool:
    return True


def _internal(config: Config) -> bool:
    return bool(config.ingress.internal_host)


def _redirect(config: Config) -> bool:
    return _internal(config) and config.ingress.redirect_internal


def _network_policy(config: Config) -> bool:
    return config.network_policy.enabled


def _recurring_jobs(config: Config) -> bool:
    return config.backup.mode is BackupMode.RECURRING_JOB


@dataclass(frozen=True)
class Part:
    """One file of the app folder: its name, its builder, and when it is rendered."""

    file: str
    build: Callable[[Config], Manifest]
    present: Callable[[Config], bool] = _always


PARTS: tuple[Part, ...] = (
    Part("namespace.yaml", namespace),
    Part("serviceaccount.yaml", service_account),
    Part("configmap.yaml", config_map),
    Part(SEALED_SECRET_FILE, sealed_secret_placeholder),
    Part("storage.yaml", persistent_volume_claim),
    Part("deployment.yaml", deployment),
    Part("service.yaml", service),
    Part("networkpolicy.yaml", network_policy, _network_policy),
    Part("certificate.yaml", internal_certificate, _internal),
    Part("ingress.yaml", internal_ingress, _internal),
    Part("middleware.yaml", redirect_middleware, _redirect),
    Part("public-certificate.yaml", public_certificate),
    Part("public-ingress.yaml", public_ingress),
    Part("recurringjob-snapshot.yaml", snapshot_job, _recurring_jobs),
    Part("recurringjob-backup.yaml", backup_job, _recurring_jobs),
)


def render(config: Config) -> list[tuple[str, Manifest]]:
    """Every object of the app folder, with its file name, in bundle order."""
    return [(part.file, part.build(config)) for part in PARTS if part.present(config)]


def _state_off_the_volume(config: Config) -> list[tuple[str, str]]:
    """(what, where) of each piece of state the program keeps off the data volume, as the
    config's env places them: the SQLite database and the filesystem uploads folder, each
    relative to the image's working directory unless absolute."""
    env, mount = config.pocket_id.env, config.deployment.data_mount_path

    def default(name: str) -> str:
        row = lookup(name, CHECKED_VERSION)
        return row.default if row is not None else ""

    state: list[tuple[str, str]] = []
    database = env.get(E.DB_CONNECTION_STRING) or default(E.DB_CONNECTION_STRING)
    if not E.is_postgres(database):
        state.append(("database", database.removeprefix("file:").split("?", 1)[0]))
    if env.get(E.FILE_BACKEND, E.FILE_BACKEND_DEFAULT) == E.FILE_BACKEND_DEFAULT:
        state.append(("uploads", env.get(E.UPLOAD_PATH) or default(E.UPLOAD_PATH)))
    located = [(what, posixpath.normpath(posixpath.join(WORKDIR, path))) for what, path in state]
    return [
        (what, path)
        for what, path in located
        if not PurePosixPath(path).is_relative_to(mount) or path == mount
    ]


def deviations(config: Config) -> list[str]:
    """Warnings for each spec value the config opts back into although it breaks Pocket-ID."""
    dep, pid = config.deployment, config.pocket_id
    found: list[str] = version_warnings(config)
    if dep.health_path != HEALTH_PATH:
        found.append(
            f"[deployment] health_path = {dep.health_path!r}: Pocket-ID serves health only on "
            f"{HEALTH_PATH}; other paths answer 200 with the web UI, so the probes test nothing"
        )
    off = dict(_state_off_the_volume(config))
    if off:
        lost = (
            "all users, passkeys and signing keys"
            if "database" in off
            else "the uploaded images (logos, profile pictures)"
        )
        found.append(
            f"[deployment] data_mount_path = {dep.data_mount_path!r}: Pocket-ID keeps its "
            f"{' and '.join(f'{what} in {path}' for what, path in off.items())}, off the "
            f"volume, so every restart loses {lost}; fix: data_mount_path = {DATA_DIR!r}, or "
            f"move them onto the volume with {E.DB_CONNECTION_STRING} and {E.UPLOAD_PATH} "
            "under [pocket_id] env"
        )
    if dep.key_delivery is KeyDelivery.ENV_FROM and config.secret.key != E.ENCRYPTION_KEY:
        found.append(
            f"[deployment] key_delivery = 'envFrom' with the Secret key {config.secret.key!r}: "
            "the variable is not named ENCRYPTION_KEY, so the key never reaches Pocket-ID "
            "and it refuses to start"
        )
    if dep.strategy is Strategy.ROLLING_UPDATE:
        found.append(
            "[deployment] strategy = 'RollingUpdate': the surge pod cannot take Pocket-ID's "
            f"{single_holder(rendered_for(config)).removeprefix('the ')} (and a ReadWriteOnce "
            "volume), so a rollout never finishes"
        )
    if not pid.trust_proxy:
        found.append(
            "[pocket_id] trust_proxy = false: behind Traefik every user shares one rate-limit "
            "bucket and audit logs show the proxy's address"
        )
    if not pid.ui_config_disabled:
        found.append(
            "[pocket_id] ui_config_disabled = false: ALLOW_USER_SIGNUPS is read from the "
            "database, so it is not rendered; set sign-ups in the admin UI"
        )
    if _internal(config) and not config.ingress.redirect_internal:
        found.append(
            f"[ingress] redirect_internal = false: passkey login fails on "
            f"{config.ingress.internal_host} (passkeys are bound to {config.public_host})"
        )
    return found
