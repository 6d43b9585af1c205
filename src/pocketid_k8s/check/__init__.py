"""``pocketid-k8s check``: lint Pocket-ID manifests against the real runtime contract,
Kubernetes and CRD schemas, security policy and cross-references.

It reads files (never the renderer): ours, a Helm chart's output, anyone's.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Sequence
from typing import BinaryIO, Final

import msgspec

from pocketid_k8s.check import environment, parallel, pocketid, policy, refs, unlisted
from pocketid_k8s.check.context import Context
from pocketid_k8s.check.loader import load
from pocketid_k8s.check.model import Finding, Resource, Severity
from pocketid_k8s.check.rules import RULES
from pocketid_k8s.check.schema import SchemaChecker, SchemaError
from pocketid_k8s.check.shape import shape_findings
from pocketid_k8s.contract.image import REPOSITORIES
from pocketid_k8s.errors import ExitCode, PocketIdK8sError

__all__ = ["RULES", "CheckError", "Finding", "Report", "Severity", "run_check"]

DEFAULT_KUBE_VERSION = "1.32"
FAMILIES: Final[tuple[Callable[[Context], Iterable[Finding]], ...]] = (
    pocketid.check,
    environment.check,
    policy.check,
    refs.check,
)
"""The rules that read the set (or one app folder of it), in the order they report."""
COSTLIEST_FIRST: Final = (refs.check, policy.check, pocketid.check, environment.check)
"""The families by their usual cost, the dearest first (10,000 objects in one file: 0.24 s,
0.10, 0.08 and 0.07): a set of one app folder has only these four pieces of rule work (and
the cheapest, its unlisted files), and the workers, each taking the next piece as it frees
up, end together when the longest goes first (the results are put back in the families'
order)."""


class CheckError(PocketIdK8sError):
    """The check cannot run: a bad --kube-version or an unusable --schema-location."""


class Report(msgspec.Struct):
    findings: list[Finding]
    files: int
    objects: int
    unreadable: bool
    skipped: list[str] = msgspec.field(default_factory=list)
    """Files not checked because of their size."""
    apps: dict[str, str] = msgspec.field(default_factory=dict)
    """The app folder of each file with an object or a finding ('' for none)."""
    app_objects: dict[str, int] = msgspec.field(default_factory=dict)
    """Objects per app folder, when the set has more than one (then reported per folder)."""

    @property
    def exit_code(self) -> ExitCode:
        if self.unreadable:
            return ExitCode.USAGE
        if any(f.severity is Severity.ERROR for f in self.findings):
            return ExitCode.FAILED
        return ExitCode.OK

    def count(self, severity: Severity) -> int:
        return sum(f.severity is severity for f in self.findings)


_KEPT: list[object] = []
"""What checks run with ``keep`` built: never freed (see :func:`run_check`)."""


def _unlisted(each: Context) -> list[Finding]:
    return unlisted.check(each.resources)


_COSTLIEST: Final = (*COSTLIEST_FIRST, _unlisted)


def _family(item: tuple[Context, Callable[[Context], Iterable[Finding]]]) -> list[Finding]:
    each, check = item
    return list(check(each))


def run_check(
    paths: Sequence[str],
    *,
    kube_version: str = DEFAULT_KUBE_VERSION,
    schema_location: str | None = None,
    stdin: BinaryIO | None = None,
    keep: bool = False,
) -> Report:
    """Check every manifest under ``paths``.

    ``keep``: what the check built (the documents, their views, the indexes) is held until
    the process ends, for a caller that ends it right after the report without the
    interpreter's teardown (the CLI): freeing 10,000 objects' documents one by one costs
    ~0.1 s that nothing needs.
    """
    collecting = gc.isenabled()
    gc.disable()  # what a check builds is freed by reference counting; the cycle collector
    # would walk the growing set again and again (a third of the time of 10,000 objects)
    try:
        return _run(paths, kube_version, schema_location, stdin, keep)
    finally:
        if collecting:
            gc.enable()


def _run(
    paths: Sequence[str],
    kube_version: str,
    schema_location: str | None,
    stdin: BinaryIO | None,
    keep: bool,
) -> Report:
    try:
        schema = SchemaChecker(kube_version, schema_location)
    except SchemaError as exc:
        raise CheckError(str(exc)) from None
    loaded = load(paths, stdin, schema.check_local)
    ctx = Context(loaded.resources)
    findings = list(loaded.findings)
    if loaded.resources and not ctx.pocket_ids:
        first = loaded.resources[0]
        findings.append(
            Finding(
                "input/no-pocket-id",
                RULES["input/no-pocket-id"].severity,
                "",
                "",
                "",
                first.file,
                None,
                "",
                f"no container runs the image {' or '.join(REPOSITORIES)} (under any "
                "registry), so only the general rules were checked"
                + (
                    " (a field of the wrong shape is not read: see input/shape)"
                    if any(r.problems for r in loaded.resources)
                    else ""
                ),
                "include the Deployment's file",
            )
        )
    unchecked: set[tuple[str, str, str, str]] = set()
    try:  # the kinds with a schema on disk were validated where they were read; the rest here
        validated = [
            found if found is not None else schema.check(resource)
            for resource, found in zip(loaded.resources, loaded.validated, strict=True)
        ]
    except SchemaError as exc:
        raise CheckError(str(exc)) from None
    for resource, found in zip(loaded.resources, validated, strict=True):
        findings += found
        if resource.problems:  # else no shape finding: most objects
            findings += shape_findings(resource, found)
            unchecked.add((resource.file, resource.kind, resource.namespace, resource.name))
    groups: dict[str, list[Resource]] = {}
    for resource in loaded.resources:
        groups.setdefault(loaded.apps.folder(resource.file), []).append(resource)
    contexts = [Context(group, ctx) for group in groups.values()] if len(groups) > 1 else [ctx]
    work = [(each, family) for each in contexts for family in FAMILIES]
    """Each app folder is checked on its own (check/apps.py), by each family of rules."""
    ruled = len(work)
    work += [(each, _unlisted) for each in contexts]
    """And for files its kustomization does not list (each folder's kustomization and files
    are of one app folder: the kustomization makes it one), whose findings stand even for an
    object with a field of the wrong shape (they are about the file)."""
    order = list(range(len(work)))
    if len(contexts) == 1:
        order.sort(key=lambda index: _COSTLIEST.index(work[index][1]))
    done: list[list[Finding]] = parallel.mapped(
        len(work),
        parallel.chunked([work[index] for index in order], _family),
        parallel=len(loaded.resources) >= parallel.PARALLEL_OBJECTS,
    )
    by_family: list[list[Finding]] = [[] for _ in work]
    for index, found in zip(order, done, strict=True):
        by_family[index] = found
    findings += (
        f
        for part in by_family[:ruled]
        for f in part
        if (f.file, f.kind, f.namespace, f.name) not in unchecked
    )
    findings += (f for part in by_family[ruled:] for f in part)
    findings.sort(key=lambda f: (f.file, f.line or 0, f.rule, f.path))
    apps = {f.file: loaded.apps.folder(f.file) for f in findings}
    apps.update((r.file, loaded.apps.folder(r.file)) for r in loaded.resources)
    objects = {app: len(group) for app, group in groups.items()}
    if keep:
        _KEPT.append((loaded, ctx, contexts, validated))
    return Report(
        findings,
        loaded.files,
        len(loaded.resources),
        loaded.unreadable,
        loaded.skipped,
        apps,
        objects if len(groups) > 1 else {},
    )
