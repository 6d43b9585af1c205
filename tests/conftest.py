"""Shared fixtures: the repository, the shared reference data, the rendered bundle."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pocketid_k8s.config import Config
from pocketid_k8s.render import Manifest, render

ROOT = Path(__file__).resolve().parents[1]
REQUIRE_PEERS = os.environ.get("POCKETID_K8S_REQUIRE_PEERS") == "1"
"""Set by .ci/run: what a developer's machine may skip, CI must have."""


def skip_or_fail(reason: str) -> None:
    """Skip with ``reason``, or fail when CI requires every peer and data set."""
    if REQUIRE_PEERS:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def crd_schemas() -> Path:
    """The CRD schemas in ../shared (or $POCKETID_K8S_SHARED), in the CRDs-catalog layout."""
    shared = Path(os.environ.get("POCKETID_K8S_SHARED", ROOT.parent / "shared"))
    folder = shared / "crd-schemas"
    if not folder.is_dir():
        skip_or_fail(f"no CRD schemas at {folder}: custom kinds cannot be validated here")
    return folder


@pytest.fixture
def objects() -> dict[str, Manifest]:
    """The default bundle's objects by file name."""
    return dict(render(Config()))


def config_with(**sections: dict[str, object]) -> Config:
    """The spec's config with some fields changed, e.g. ``deployment={"replicas": 0}``."""
    return Config.model_validate(sections)
