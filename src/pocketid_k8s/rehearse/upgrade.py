"""``upgrade --to TAG``: is it safe to sync this tag?

Four parts, each rows of the shared live report:

1. what changes for this site between the pinned version and TAG, from the
   contract table (:mod:`pocketid_k8s.contract.table`): computed over its rows,
   so facts added there show up here with no change;
2. the manifests with TAG (the bundle re-rendered from the config, written only
   with ``write``) and ``check`` on them, which applies TAG's facts;
3. the upgrade played on one sandbox: the current image starts (with ``login``
   an admin, a passkey and an OIDC client are made), stops; TAG starts on the
   same volume and migrates it; the signing key id, the passkey, the OIDC client
   and the user must survive; then the current image once more on the migrated
   data, to say what a rollback does;
4. the step before the sync (a volume snapshot), as a note naming the runbook.

The rehearsal reuses :mod:`.run`'s pieces (its ``_Run`` starts one program per
pod instance on one sandbox; here the program is swapped between starts).
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import yaml

from pocketid_k8s.check.model import Resource
from pocketid_k8s.contract import env as names
from pocketid_k8s.contract import pocketid, table
from pocketid_k8s.contract.image import Version, parse_image, show_version
from pocketid_k8s.errors import ExitCode, PocketIdK8sError
from pocketid_k8s.live import report
from pocketid_k8s.live.report import Outcome, Row, Status
from pocketid_k8s.rehearse import probes, registry
from pocketid_k8s.rehearse.netns import own_network
from pocketid_k8s.rehearse.owner import own_sandbox
from pocketid_k8s.rehearse.pod import pod_from

# run.py's step helpers, shared within rehearse (kept private there: one owner of the steps)
from pocketid_k8s.rehearse.run import (
    Options,
    Rehearsal,
    _exit_reason,
    _kids,
    _launch,
    _Run,
    play_root,
    pod_played,
)
from pocketid_k8s.rehearse.sandbox import Sandbox

if TYPE_CHECKING:
    from pocketid_k8s.config import Config
    from pocketid_k8s.rehearse.image import Prepared
    from pocketid_k8s.rehearse.process import Instance

__all__ = [
    "UpgradeError",
    "UpgradeOptions",
    "UpgradeResult",
    "behaviour_changes",
    "env_changes",
    "plain",
    "table_text",
    "target_image",
    "to_json",
    "upgrade",
]

RUNBOOK: Final = "docs/runbook.md, 'Upgrade the image', step 2"
_TAG: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
SHOWN: Final = 6
"""At most this many names are listed in one row."""


class UpgradeError(PocketIdK8sError):
    """The upgrade cannot be rehearsed (exit 2): a bad TAG, or no image to upgrade."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class Behaviour:
    """A change of the program's behaviour at ``since`` (the facts live in the contract)."""

    since: Version
    before: str
    after: str


BEHAVIOURS: Final = (
    Behaviour(
        pocketid.SECOND_INSTANCE_SINCE,
        f"a second instance exits saying '{pocketid.LOCK_HELD}'",
        f"a second instance exits saying '{pocketid.SECOND_INSTANCE}'",
    ),
    Behaviour(
        pocketid.ACTOR_HOSTS_SINCE,
        f"one instance is held by a lock in the database (renewed every "
        f"{pocketid.LOCK_RENEW_SECONDS} s): after a SIGKILL a restart is refused for up to "
        f"{pocketid.LOCK_TTL_SECONDS} s",
        "the database lock is gone; one actor host at a time: after a SIGKILL the replacement "
        f"may be refused for up to {pocketid.ACTOR_HOST_DEADLINE_SECONDS} s",
    ),
    Behaviour(
        pocketid.HEALTHCHECK_REAL_SINCE,
        f"'pocket-id {pocketid.HEALTHCHECK_COMMAND}' exits 0 on any HTTP status",
        f"'pocket-id {pocketid.HEALTHCHECK_COMMAND}' fails unless {pocketid.HEALTH_PATH} answers",
    ),
    Behaviour(
        pocketid.NATIVE_TLS_SINCE,
        "no native TLS",
        "TLS_CERT and TLS_KEY make the port serve HTTPS only (an HTTP probe then fails)",
    ),
    Behaviour(
        pocketid.HEALTHCHECK_HTTPS_SINCE,
        f"'pocket-id {pocketid.HEALTHCHECK_COMMAND}' speaks plain HTTP",
        f"'pocket-id {pocketid.HEALTHCHECK_COMMAND}' speaks HTTPS when native TLS is on",
    ),
    Behaviour(
        pocketid.CURL_REMOVED,
        "the image has curl",
        "the image has no curl: an exec probe that runs curl fails",
    ),
)
"""Behaviours that change between releases, by the version that changes them."""


@dataclass
class UpgradeOptions:
    to: str
    """The tag to upgrade to (``v2.8.0``)."""
    resources: list[Resource]
    """The manifests as they are (rendered from the config, or ``--from``)."""
    source: str
    config: Config | None = None
    """The site config, to re-render the bundle with TAG (None: manifests from ``--from``)."""
    root: Path = Path()
    """The output root the bundle is compared with (and written to with ``write``)."""
    login: bool = False
    write: bool = False
    workdir: Path | None = None
    limits: registry.Limits | None = None
    stay_up: float = 1.0
    rollback_wait: float = 10.0
    """Seconds to wait for the current image to come up on the migrated data."""
    leave_network: bool = False
    """Whether this process may leave the machine's network for good (the command line):
    as for rehearse, both images run in a network namespace of their own."""


@dataclass
class UpgradeResult:
    outcome: Outcome
    app_url: str
    from_image: str
    to_image: str
    diff: str = ""
    """The re-rendered bundle against the files under the root (without ``write``)."""
    written: list[str] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# --- the target image ----------------------------------------------------------------------


def target_image(current: str, tag: str) -> str:
    """``current`` with its tag (and digest) replaced by ``tag``."""
    if not _TAG.fullmatch(tag):
        raise UpgradeError(
            f"--to {tag[:130]!r}: not an image tag (letters, digits, '_', '.', '-', at most 128, "
            "not starting with '.' or '-'); fix: name the release, e.g. --to v2.8.0"
        )
    name = current.partition("@")[0]
    slash = name.rfind("/")
    if ":" in name[slash + 1 :]:
        name = name[: name.rindex(":")]
    return f"{name}:{tag}"


def _with_image(resources: list[Resource], image: str) -> list[Resource]:
    """A copy of ``resources`` whose Pocket-ID container runs ``image``."""
    out = [Resource(copy.deepcopy(r.doc), r.file, r.lines) for r in resources]
    container = pod_from(out).workload.container
    container["image"] = image
    return out


# --- what changes -------------------------------------------------------------------------


def _read(name: str, version: Version) -> table.Var | None:
    """The row ``name`` is read by at ``version`` (a ``_FILE`` name by its base's row)."""
    return table.lookup(name, version) or table.file_base(name, version)


def _squash(name: str) -> str:
    return name.replace("_", "")


def _renamed_to(name: str, old: Version, new: Version) -> str | None:
    for other in sorted(table.names()):
        row = table.lookup(other, new)
        if row is None or other == name or table.lookup(other, old) is not None:
            continue
        if _squash(other) == _squash(name) or re.search(rf"\b{re.escape(name)}\b", row.does):
            return other
    return None


def _how(row: table.Var) -> tuple[object, ...]:
    return (row.parse, row.choices, row.file, row.lower, row.minimum, row.min_bytes)


def env_changes(site: set[str], old: Version, new: Version) -> tuple[list[str], list[str]]:
    """(changes to variables the site sets, defaults that change for those it leaves unset),
    computed over every row of the contract table."""
    changes: list[str] = []
    for name in sorted(site):
        before, after = _read(name, old), _read(name, new)
        if before is not None and after is None:
            other = _renamed_to(name, old, new)
            changes.append(f"{name} renamed to {other}" if other else f"{name} is no longer read")
        elif before is None and after is not None:
            changes.append(f"{name} is read from {show_version(after.since)} on ({after.does})")
        elif before is not None and after is not None and _how(before) != _how(after):
            changes.append(
                f"{name} is parsed differently: {before.parse.value} -> {after.parse.value} "
                f"({after.does})"
            )
    defaults = []
    for name in sorted(table.names() - site):
        before, after = table.lookup(name, old), table.lookup(name, new)
        if before is not None and after is not None and before.default != after.default:
            defaults.append(f"{name} {before.default or '(empty)'} -> {after.default or '(empty)'}")
    return changes, defaults


def behaviour_changes(old: Version, new: Version) -> list[str]:
    """What behaves differently, by the facts whose version lies between the two."""
    low, high = min(old, new), max(old, new)
    found = []
    for fact in sorted(BEHAVIOURS, key=lambda b: b.since):
        if low < fact.since <= high:
            was, now = (fact.before, fact.after) if new > old else (fact.after, fact.before)
            found.append(f"from {show_version(fact.since)}: {now} (before: {was})")
    return found


def _listed(items: list[str]) -> str:
    more = f"; and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return "; ".join(items[:SHOWN]) + more


def _changes_rows(
    add: Callable[..., None], site: set[str], old: Version | None, new: Version | None
) -> None:
    if old is None or new is None:
        which = "the current image's tag" if old is None else "TAG"
        add(
            "changes",
            Status.WARN,
            f"{which} names no single release (x.y.z), so no contract facts compare",
            hint="upgrade to an exact version tag, e.g. v2.8.0",
        )
        return
    pair = f"{show_version(old)} -> {show_version(new)}"
    unread = [show_version(v) for v in (old, new) if not table.verified(v)]
    caveat = f" (facts not read upstream for {', '.join(unread)})" if unread else ""
    changes, defaults = env_changes(site, old, new)
    if changes:
        add(
            "changes-env",
            Status.WARN,
            f"{pair}{caveat}: {_listed(changes)}",
            hint="read the release notes for these variables and adjust the config",
        )
    else:
        add(
            "changes-env",
            Status.PASS,
            f"{pair}{caveat}: none of the {len(site)} variables the site sets changes",
        )
    if defaults:
        add(
            "changes-defaults",
            Status.WARN,
            f"defaults that change for variables the site leaves unset: {_listed(defaults)}",
            hint="set a variable to its old default to keep the old behaviour",
        )
    else:
        add("changes-defaults", Status.PASS, "no default changes for the variables left unset")
    behaviours = behaviour_changes(old, new)
    add(
        "changes-behaviour",
        Status.WARN if behaviours else Status.PASS,
        _listed(behaviours) if behaviours else "no known behaviour changes between the two",
    )


# --- the manifests with TAG -----------------------------------------------------------------


def _manifests(
    options: UpgradeOptions,
    image: str,
    result: UpgradeResult,
    add: Callable[..., None],
    folder: Path,
) -> tuple[list[Resource], Path]:
    """The manifests with ``image``, written under ``folder`` for check; and their folder."""
    if options.config is None:
        resources = _with_image(options.resources, image)
        target = folder / "manifests"
        target.mkdir()
        (target / "manifests.yaml").write_text(
            yaml.safe_dump_all([r.doc for r in resources], sort_keys=False)
        )
        add(
            "render",
            Status.SKIP,
            f"{options.source}: manifests, not a config; the Pocket-ID container's image set to "
            f"{image} in memory (nothing written)",
        )
        return resources, target
    from pocketid_k8s.bundle import build_bundle, write_bundle
    from pocketid_k8s.config import parse_config
    from pocketid_k8s.render import render

    data = options.config.model_dump(mode="json")
    data["pocket_id"]["image"] = image
    config = parse_config(data, f"--to {options.to}")  # the config's own checks of an image
    bundle = build_bundle(config, options.root)
    write_bundle(bundle, folder)
    app = options.root / bundle.app_dir
    if options.write:
        changes = [c for c in write_bundle(bundle, options.root) if c.action != "keep"]
        result.written = [f"{c.action} {options.root / c.path}" for c in changes]
        add(
            "render",
            Status.PASS,
            f"{app}: {len(bundle.files)} files re-rendered with {image}, {len(changes)} written",
        )
        result.notes.append(
            f'to keep TAG on the next render, set [pocket_id] image = "{image}" in the config'
        )
    else:
        base = options.root
        if not (options.root / bundle.app_dir).is_dir():  # never rendered here: diff the tags
            base = folder / "current"
            write_bundle(build_bundle(options.config, base), base)
            result.notes.append(
                f"no {app} here: the diff is against the bundle rendered from the config as it is"
            )
        result.diff = bundle.diff(base)
        changed = sum(c.action != "keep" for c in bundle.changes(base))
        add(
            "render",
            Status.PASS,
            f"{app}: {len(bundle.files)} files re-rendered with {image}, "
            f"{changed} would change (diff shown; --write writes them)",
        )
    resources = [Resource(doc, name) for name, doc in render(config)]
    return resources, folder / bundle.app_dir


def _check_row(add: Callable[..., None], folder: Path, new: Version | None) -> None:
    from pocketid_k8s.check import CheckError, Severity, run_check

    started = time.perf_counter()
    try:
        report = run_check([str(folder)])
    except CheckError as exc:
        add("check", Status.FAIL, f"check could not run: {exc.message}")
        return
    ms = (time.perf_counter() - started) * 1000
    errors = [f for f in report.findings if f.severity is Severity.ERROR]
    warnings = report.count(Severity.WARNING)
    facts = show_version(table.facts_for(new)[0])
    if errors:
        shown = _listed([f"{f.rule} {f.kind}/{f.name}: {f.message}" for f in errors])
        add(
            "check",
            Status.FAIL,
            f"under {facts}'s facts: {len(errors)} errors: {shown}",
            ms,
            "fix the config (or manifests) before the sync; 'pocketid-k8s check' shows each",
        )
    else:
        add(
            "check",
            Status.PASS,
            f"under {facts}'s facts: {report.objects} objects, no error, {warnings} warnings",
            ms,
        )


# --- the rehearsal ----------------------------------------------------------------------------


def upgrade(options: UpgradeOptions) -> UpgradeResult:
    """Every step of the upgrade to ``options.to``; the sandbox and images are removed."""
    from pocketid_k8s.rehearse.image import prepared

    pod = pod_from(options.resources)
    current = pod.workload.container.get("image")
    if not isinstance(current, str) or not current:
        raise UpgradeError("the Pocket-ID container names no image; fix: set its image")
    image = target_image(current, options.to)
    found, wanted = parse_image(current), parse_image(image)
    # A moving tag (v2, v2.8) names a line, not the release that will run: no facts compare.
    old = found.version if found is not None and found.exact else None
    new = wanted.version if wanted is not None and wanted.exact else None
    if current.partition("@")[0] == image:
        raise UpgradeError(
            f"--to {options.to}: the container already runs {current}; fix: name a newer tag"
        )
    if "@" in current:  # pinned by digest: keep it pinned
        image = (
            f"{image}@{registry.resolve_digest(registry.parse_reference(image), options.limits)}"
        )
    app_url = (pod.env.get(names.APP_URL) or pocketid.DEFAULT_APP_URL).lower().rstrip("/")
    result = UpgradeResult(Outcome(), app_url, current, image)

    def add(
        check: str, status: Status, detail: str, ms: float | None = None, hint: str = ""
    ) -> None:
        result.outcome.rows.append(Row(check, status, detail, ms, hint))

    started = time.monotonic()
    site = set(pod.env)
    _changes_rows(add, site, old, new)
    with ExitStack() as stack:
        # An owned folder, as rehearse's: a run that dies leaves its processes, cgroups and
        # files to the next run's sweep (owner.py).
        owned = own_sandbox(options.workdir, None)
        stack.callback(owned.release, False)
        folder = owned.root
        folder.chmod(0o755)  # the pod's user reaches the sandbox inside it
        rendered = folder / "render"
        rendered.mkdir()
        resources, manifests = _manifests(options, image, result, add, rendered)
        _check_row(add, manifests, new)
        before = stack.enter_context(
            prepared(None, options.resources, workdir=options.workdir, limits=options.limits)
        )
        after = stack.enter_context(
            prepared(None, resources, workdir=options.workdir, limits=options.limits)
        )
        result.notes += [*before.notes[:1], *after.notes[:1]]
        # After both pulls (the registry is outside), before anything starts: the images are
        # untrusted programs, as in rehearse.
        with own_network(options.leave_network) as network:
            result.notes.append(network.detail)
            _rehearse(options, resources, before, after, result, add, folder)
    result.figures["wall_s"] = time.monotonic() - started
    result.notes.append(
        f"before the sync, snapshot or back up the data volume, and know how to restore it: "
        f"{RUNBOOK}"
    )
    return result


def _rehearse(
    options: UpgradeOptions,
    resources: list[Resource],
    before: Prepared,
    after: Prepared,
    result: UpgradeResult,
    add: Callable[..., None],
    folder: Path,
) -> None:
    first = Options(
        before.program,
        options.resources,
        options.source,
        login=options.login,
        image=before,
        stay_up=options.stay_up,
    )
    pod = pod_from(options.resources)
    before.play(pod)
    root = folder  # the owned folder: its processes are marked and its cgroups named by it
    run = _Run(first, pod, Sandbox(root, pod), Rehearsal(result.outcome, result.app_url))
    run.hidden = tuple(pod.env[name] for name in pod.secret_env)
    run.budget = probes.startup_budget(pod.probes)
    play_root(run)  # as rehearse decides it: a read-only mount where this machine can
    result.notes.append(f"the pod as rehearse plays it: {pod_played(run)}")
    try:
        _steps(run, options, resources, after, add)
    finally:
        for instance in run.instances:
            instance.stop(1.0)


def _steps(
    run: _Run,
    options: UpgradeOptions,
    resources: list[Resource],
    after: Prepared,
    add: Callable[..., None],
) -> None:
    if run.pod.missing:
        add(
            "pod",
            Status.FAIL,
            "the kubelet would not start the container "
            "(CreateContainerConfigError): " + "; ".join(run.pod.missing),
        )
        return
    instance, port, prober, ready = _launch(run, "old")
    if ready is None:
        prober.stop()
        add("old-start", Status.FAIL, f"the current image: {_exit_reason(run, instance)}")
        return
    counted, seen = _kubelet_ready(run, instance, prober, ready)
    kids = _kids(port)
    add(
        "old-start",
        Status.PASS if kids and counted else Status.FAIL,
        f"the current image ready in {ready:.2f} s{seen}; signing key "
        f"{', '.join(sorted(kids)) or 'none in the JWKS'}",
        ready * 1000,
    )
    login = None
    if options.login:
        from pocketid_k8s.rehearse.login import LoginRun

        login = LoginRun(
            run.result.app_url,
            options.resources,
            port,
            run.row,
            instance.log_text,
            version=run.pod.version,
        )
    try:
        if login is not None:
            login.run()
        _upgrade_steps(run, options, resources, after, kids, login, add)
    finally:
        if login is not None:
            login.close()


def _upgrade_steps(
    run: _Run,
    options: UpgradeOptions,
    resources: list[Resource],
    after: Prepared,
    kids: set[str],
    login: Any,  # noqa: ANN401 - LoginRun
    add: Callable[..., None],
) -> None:
    instance, old_pod = run.instances[-1], run.pod
    seconds, code, killed = instance.stop(run.pod.grace_seconds)
    run.sandbox.wipe("old")
    add(
        "old-stop",
        Status.FAIL if killed else Status.PASS,
        f"SIGTERM: stopped in {seconds:.2f} s "
        f"({'SIGKILL after the grace period' if killed else f'exit code {code}'})",
        seconds * 1000,
    )
    before = run.options
    new_pod = pod_from(resources)
    after.play(new_pod)
    for name in new_pod.secret_env:  # the same Secret: its throwaway stand-ins stay the same
        if name in old_pod.env:
            new_pod.env[name] = old_pod.env[name]
    run.options = replace(before, binary=after.program, image=after, resources=resources)
    run.pod = replace(new_pod, identity=run.pod.identity)
    upgraded, port, prober, ready = _launch(run, "new")
    if ready is None:
        prober.stop()
        add(
            "upgrade",
            Status.FAIL,
            f"{after.reference} on the same volume: {_exit_reason(run, upgraded)}",
            hint="restore the snapshot taken before the sync",
        )
        return
    counted, seen = _kubelet_ready(run, upgraded, prober, ready)
    now = _kids(port)
    kept = bool(kids) and now == kids
    migrated = [line for line in upgraded.log_text().splitlines() if "migrat" in line.lower()]
    detail = (
        f"{after.reference} on the same volume ready in {ready:.2f} s{seen}; signing key "
        f"{'kept' if kept else 'changed'} ({', '.join(sorted(kids)) or '-'} -> "
        f"{', '.join(sorted(now)) or '-'})"
    )
    if migrated:
        line = migrated[-1]
        for value in run.hidden:  # as Instance.last_error masks them
            line = line.replace(value, "***") if value else line
        detail += f"; its log: {line[:200]}"
    ok = kept and counted
    if login is not None and login.registered:
        login.version = run.pod.version  # the new program: its own API from here on
        signed_in = login.sign_in_again(port)
        flowed = signed_in and login.code_flow_again()
        ok = ok and signed_in and flowed
        detail += (
            "; the same passkey signs in, the user still exists"
            if signed_in
            else f"; the passkey no longer signs in (or the user is gone): {login.failure}"
        )
        if signed_in:
            detail += (
                "; the OIDC client completes the code flow"
                if flowed
                else f"; the OIDC client's code flow fails: {login.failure}"
            )
    add(
        "upgrade",
        Status.PASS if ok else Status.FAIL,
        detail,
        ready * 1000,
        ""
        if ok
        else "do not sync: the new pod would never be Ready (fix its readinessProbe; "
        "'pocketid-k8s rehearse' shows each probe)"
        if not counted
        else "do not sync: the data would not survive this upgrade",
    )
    upgraded.stop(run.pod.grace_seconds)
    run.sandbox.wipe("new")
    run.options, run.pod = before, old_pod
    _rollback_step(run, options, kids, add)


def _kubelet_ready(
    run: _Run, instance: Instance, prober: probes.Prober, ready: float
) -> tuple[bool, str]:
    """Whether the kubelet would count the pod Ready (its readiness probe, of whatever kind,
    passed; waited for as rehearse waits), and the words for the row; the probes stop."""
    from pocketid_k8s.rehearse.kill import _settle

    if probes.READINESS not in run.pod.probes:
        prober.stop()
        return True, ""
    _settle(run, instance, prober, ready)
    prober.stop()
    if prober.ready_at is None:
        return False, "; its readiness probe never passed, so the kubelet never counts it Ready"
    return True, f"; the kubelet saw it Ready at {prober.ready_at:.1f} s"


def _rollback_step(
    run: _Run, options: UpgradeOptions, kids: set[str], add: Callable[..., None]
) -> None:
    old, port, prober, ready = _launch(run, "rollback", options.rollback_wait)
    prober.stop()
    image = run.options.image
    name = image.reference if image is not None else "the current image"
    if ready is None:
        add(
            "rollback",
            Status.WARN,
            f"{name} on the migrated volume: {_exit_reason(run, old)}; so a rollback by tag "
            f"alone fails ({names.ALLOW_DOWNGRADE}=true {_downgrade(run)})",
            hint=f"to roll back, restore the volume snapshot taken before the sync ({RUNBOOK})",
        )
    else:
        same = _kids(port) == kids
        add(
            "rollback",
            Status.WARN,
            f"{name} on the migrated volume came up in {ready:.2f} s (signing key "
            f"{'kept' if same else 'changed'}): a rollback by tag runs the old program on the new "
            "schema",
            hint=f"prefer restoring the volume snapshot ({RUNBOOK})",
        )
    old.stop(1.0)


def _downgrade(run: _Run) -> str:
    row = table.lookup(names.ALLOW_DOWNGRADE, run.pod.version)
    return row.does if row is not None else "is not read by this version"


# --- output ---------------------------------------------------------------------------------


def _subject(result: UpgradeResult) -> str:
    return f"upgrade of {result.app_url} from {result.from_image} to {result.to_image}"


def _tail(result: UpgradeResult) -> str:
    lines = [result.diff.rstrip("\n")] if result.diff else []
    lines += [f"wrote: {item}" for item in result.written]
    lines += report.figures_and_notes(result.figures, result.notes)
    return "\n".join(lines) + "\n"


def plain(result: UpgradeResult) -> str:
    return report.plain(result.outcome, _subject(result)) + _tail(result)


def table_text(result: UpgradeResult) -> str:
    title = f"Pocket-ID upgrade {result.from_image} -> {result.to_image}"
    return report.table(result.outcome, _subject(result), title) + _tail(result)


def to_json(result: UpgradeResult) -> str:
    return report.to_json(
        result.outcome,
        app_url=result.app_url,
        from_image=result.from_image,
        to_image=result.to_image,
        diff=result.diff,
        written=result.written,
        figures={k: round(v, 3) for k, v in result.figures.items()},
        notes=result.notes,
    )
