"""Make the preflight plan: the app folder's objects as the next push would carry them
(rendered from the config, keeping a sealed key already in the folder), or as they
are in a folder (``--from DIR``, kustomization order)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from pocketid_k8s.bundle import KUSTOMIZATION, build_bundle
from pocketid_k8s.check.loader import load
from pocketid_k8s.check.model import Resource, Severity, dotted
from pocketid_k8s.config import Config
from pocketid_k8s.contract.sealed_secrets import CONTROLLER_NAMES, CONTROLLER_NAMESPACE
from pocketid_k8s.errors import PocketIdK8sError
from pocketid_k8s.limits import MAX_CONFIG_BYTES, TooLarge, read_capped, size_text
from pocketid_k8s.live.preflight.plan import Argo, Item, Plan
from pocketid_k8s.redact import yaml_where

__all__ = ["PlanError", "plan_from_config", "plan_from_folder"]


class PlanError(PocketIdK8sError):
    """The objects to check cannot be read."""


def _documents(text: str, source: str) -> list[dict[str, Any]]:
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise PlanError(f"{source}: {_why(exc)}; fix: run 'pocketid-k8s render'") from None
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
            application=argo.application,
            application_dir=argo.application_dir,
        ),
        controller_namespace=CONTROLLER_NAMESPACE,
        controller_names=CONTROLLER_NAMES,
        expected_secret=config.secret.name,
        expected_settings=tuple(config.secret.keys().items()),
        source=source,
        backup_mode=config.backup.mode.value,
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
    """The objects of ``folder``, in the order its kustomization.yaml lists them.

    Every file is read as ``check`` reads it (size caps, YAML bombs refused, errors that
    give the line, never quote it); a listed path that leads out of the folder is refused,
    as kustomize refuses it."""
    kustomization = folder / KUSTOMIZATION
    if not folder.is_dir():
        raise PlanError(
            f"--from {folder}: not a folder; fix: name the app folder (it holds "
            "kustomization.yaml), or omit --from to use the config"
        )
    if kustomization.exists() and not kustomization.is_file():
        raise PlanError(f"{kustomization}: not a regular file; fix: make it the folder's file list")
    if not kustomization.is_file():
        raise PlanError(
            f"{kustomization}: no such file; fix: name the app folder (it holds "
            "kustomization.yaml), or omit --from to use the config"
        )
    try:
        text = read_capped(kustomization, MAX_CONFIG_BYTES).decode("utf-8")
        listed = yaml.safe_load(text) or {}
    except TooLarge:
        raise PlanError(
            f"{kustomization}: larger than {size_text(MAX_CONFIG_BYTES)}, not a kustomization"
        ) from None
    except (OSError, ValueError, TypeError, RecursionError, yaml.YAMLError) as exc:
        # ValueError: a tag that cannot be built (!!int x), UnicodeDecodeError too;
        # RecursionError: a merge key that includes itself
        raise PlanError(f"{kustomization}: cannot be read ({_why(exc)})") from None
    resources = listed.get("resources") if isinstance(listed, dict) else None
    if not isinstance(resources, list):
        raise PlanError(f"{kustomization}: no resources list")
    items = []
    inside = folder.resolve()
    for name in resources:
        path = folder / PurePosixPath(str(name))
        if not path.resolve().is_relative_to(inside):
            raise PlanError(
                f"{kustomization}: resource {str(name)!r} leads out of {folder}; fix: keep the "
                "app's files in its folder (kustomize refuses it too)"
            )
        if not path.is_file():
            raise PlanError(f"{path}: listed in {KUSTOMIZATION} but not a regular file")
        loaded = load([str(path)])
        if loaded.unreadable or loaded.skipped:
            first = next((f for f in loaded.findings if f.severity is Severity.ERROR), None)
            why = f"{path}: cannot be read"
            if first is not None:
                why = first.message + (f" (line {first.line})" if first.line else "")
            raise PlanError(f"{why}; fix: run 'pocketid-k8s check {path}'")
        for resource in loaded.resources:
            _shaped(resource, path)
            items.append(Item(str(name), dict(resource.doc)))
    return _plan(config, items, str(folder))


def _shaped(resource: Resource, path: Path) -> None:
    """A PlanError naming the first field of ``resource`` of the wrong shape (check's view
    leaves it out, so preflight would meet a shape it does not expect)."""
    if not resource.problems:
        return
    problem = resource.problems[0]
    owner = f"{resource.kind}/{resource.name}" if resource.name else resource.kind
    where = f"{dotted(problem.path)} is " if problem.path else ""
    line = resource.line(problem.path)
    raise PlanError(
        f"{path}{f' line {line}' if line else ''}: {owner}: {where}{problem.found}, not "
        f"{problem.expected}; fix: run 'pocketid-k8s check {path}'"
    )


def _why(exc: Exception) -> str:
    """An error without a quote of the file: YAML errors give their line and column."""
    if isinstance(exc, yaml.YAMLError):
        return f"not valid YAML{yaml_where(exc)}"
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    if isinstance(exc, RecursionError):
        return "an alias that includes itself"
    if isinstance(exc, ValueError | TypeError):
        return "a value that does not match its tag"
    return type(exc).__name__
