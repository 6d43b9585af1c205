"""One home for the facts the tool relies on: Pocket-ID, Argo CD and sealed-secrets.

Every module takes these facts from here only (a test fails when a Pocket-ID
literal appears elsewhere in ``src``). The package sits at the bottom of the
import layers: it imports nothing of the project.
"""

from __future__ import annotations

from pocketid_k8s.contract import argocd, env, image, pocketid, sealed_secrets, table, values
from pocketid_k8s.contract.env import UI_SETTINGS, parse_bool
from pocketid_k8s.contract.image import (
    DEFAULT_IMAGE,
    REPOSITORIES,
    PocketIdImage,
    is_pocket_id,
    parse_image,
)
from pocketid_k8s.contract.pocketid import (
    BINARY,
    DATA_DIR,
    DEFAULT_PORT,
    HEALTH_PATH,
    MIN_KEY_BYTES,
    WORKDIR,
)
from pocketid_k8s.contract.table import DEAD_ENV

__all__ = [
    "BINARY",
    "DATA_DIR",
    "DEAD_ENV",
    "DEFAULT_IMAGE",
    "DEFAULT_PORT",
    "HEALTH_PATH",
    "MIN_KEY_BYTES",
    "REPOSITORIES",
    "UI_SETTINGS",
    "WORKDIR",
    "PocketIdImage",
    "argocd",
    "env",
    "image",
    "is_pocket_id",
    "parse_bool",
    "parse_image",
    "pocketid",
    "sealed_secrets",
    "table",
    "values",
]
