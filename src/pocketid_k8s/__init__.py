"""pocketid-k8s: install Pocket-ID on Kubernetes the GitOps way, and keep it correct.

The public API is re-exported here and loaded on first use, so that importing
the package (as the command line does) stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pocketid_k8s.bundle import Bundle, build_bundle, dump_yaml, write_bundle
    from pocketid_k8s.config import Config, load_config, parse_config
    from pocketid_k8s.errors import ConfigError, ExitCode, PocketIdK8sError
    from pocketid_k8s.render import deviations, render

__all__ = [
    "Bundle",
    "Config",
    "ConfigError",
    "ExitCode",
    "PocketIdK8sError",
    "build_bundle",
    "deviations",
    "dump_yaml",
    "load_config",
    "parse_config",
    "render",
    "write_bundle",
]

_HOMES = {
    "Bundle": "bundle",
    "build_bundle": "bundle",
    "dump_yaml": "bundle",
    "write_bundle": "bundle",
    "Config": "config",
    "load_config": "config",
    "parse_config": "config",
    "ConfigError": "errors",
    "ExitCode": "errors",
    "PocketIdK8sError": "errors",
    "deviations": "render",
    "render": "render",
}


def __getattr__(name: str) -> object:
    if name not in _HOMES:
        raise AttributeError(f"module 'pocketid_k8s' has no attribute {name!r}")
    return getattr(import_module(f"pocketid_k8s.{_HOMES[name]}"), name)
