"""The ConfigMap of non-secret Pocket-ID settings."""

from __future__ import annotations

import hashlib
import json

from pocketid_k8s.config import Config
from pocketid_k8s.contract import env as E
from pocketid_k8s.contract.image import Version
from pocketid_k8s.contract.table import RENAMED, name_at
from pocketid_k8s.render._meta import Manifest, metadata
from pocketid_k8s.render.version import rendered_for

CONFIG_MAP_NAME = "pocket-id-config"


def settings(config: Config) -> dict[str, str]:
    """The environment the ConfigMap gives the program, in a stable order."""
    pid = config.pocket_id
    data = {E.APP_URL: pid.app_url, E.PORT: str(pid.port)}
    if pid.ui_config_disabled:
        # Read from the environment only when UI_CONFIG_DISABLED=true; otherwise the value
        # in the database wins and the variable is ignored, so it is not rendered.
        data[E.ALLOW_USER_SIGNUPS] = pid.allow_user_signups.value
    data[E.UI_CONFIG_DISABLED] = _bool(pid.ui_config_disabled)
    data[E.TRUST_PROXY] = _bool(pid.trust_proxy)
    data.update(pid.env)
    return _spelled_for(data, rendered_for(config))


def _spelled_for(data: dict[str, str], version: Version) -> dict[str, str]:
    """Each variable under the name ``version`` reads (a renamed setting, either spelling;
    given both, the value under the version's own spelling wins)."""
    current = {before: name for name, (before, _) in RENAMED.items()}
    spelled: dict[str, str] = {}
    for name, value in data.items():
        target = name_at(current.get(name, name), version)
        if name == target or target not in data:
            spelled[target] = value
    return spelled


def settings_hash(config: Config) -> str:
    """A digest of the settings, so that changing them rolls the pod (envFrom is read once)."""
    encoded = json.dumps(settings(config), sort_keys=True).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]


def config_map(config: Config) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(config, CONFIG_MAP_NAME, component="server"),
        "data": settings(config),
    }


def _bool(value: bool) -> str:
    return "true" if value else "false"
