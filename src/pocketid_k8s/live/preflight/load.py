"""Make the preflight plan: the app folder's objects as the next push would carry them
(rendered from the config, keeping a sealed key already in the folder), or as they
are in a folder (``--from DIR``, kustomization order)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from pocketid_k8s.bundle import KUSTOMIZATION, build_bundle
from pocketid_k8s.config import Config
from pocketid_k8s.contract.sealed_secrets import CONTROLLER_NAMES, CONTROLLER_NAMESPACE
from pocketid_k8s.errors import PocketIdK8sError
from pocketid_k8s.live.preflight.plan import Argo, Item, Plan

__all__ = ["PlanError", "plan_from_config", "plan_from_folder"]


class PlanError(PocketIdK8sError):
    """The objects to check cannot be read."""


def _documents(text: str, source: str) -> list[dict[str, Any]]:
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise PlanError(f"{source}: not YAML ({exc}); fix: run 'pocketid-k8s render'") from None
    for doc in docs:
        if not isinstance(doc, dict) or not doc.get("kind") or not doc.get("apiVersion"):
            raise PlanError(f"{source}: a document is not a Kubernetes object")
    return docs


def _plan(config: Config, items: list[Item], source: str) -> Plan:
    argo = config.argocd
    return Plan(
        items=items,
        argo=Argo(
            project=argo.project,
            namespace=argo.application_namespace,
            repo_url=argo.repo_url,
            path=config.site.app_dir,
            server=argo.server,
        ),
        controller_namespace=CONTROLLER_NAMESPACE,
        controller_names=CONTROLLER_NAMES,
        expected_secret=config.secret.name,
        source=source,
    )


def plan_from_config(config: Config, root: Path) -> Plan:
    """The objects ``render`` would write under ``root`` now, in kustomization order."""
    bundle = build_bundle(config, root)
    items = []
    for path, text in bundle.files.items():
        if path.parent != bundle.app_dir or path.name == KUSTOMIZATION:
            continue
        items += [Item(path.name, doc) for doc in _documents(text, str(path))]
    return _plan(config, items, f"{root / bundle.app_dir} as rendered from the config")


def plan_from_folder(config: Config, folder: Path) -> Plan:
    """The objects of ``folder``, in the order its kustomization.yaml lists them."""
    kustomization = folder / KUSTOMIZATION
    try:
        listed = yaml.safe_load(kustomization.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise PlanError(
            f"{kustomization}: no such file; fix: name the app folder (it holds "
            "kustomization.yaml), or omit --from to use the config"
        ) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PlanError(f"{kustomization}: cannot be read ({exc})") from None
    resources = listed.get("resources") if isinstance(listed, dict) else None
    if not isinstance(resources, list):
        raise PlanError(f"{kustomization}: no resources list")
    items = []
    for name in resources:
        path = folder / PurePosixPath(str(name))
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PlanError(
                f"{path}: listed in {KUSTOMIZATION} but cannot be read ({exc})"
            ) from None
        items += [Item(str(name), doc) for doc in _documents(text, str(path))]
    return _plan(config, items, str(folder))
