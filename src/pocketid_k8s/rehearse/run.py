"""The rehearsal: each step a row with a verdict, a reason and its time."""

from __future__ import annotations

import functools
import http.client
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Final

from pocketid_k8s.check.model import Resource
from pocketid_k8s.config import cpu_millis, memory_bytes
from pocketid_k8s.contract import api, kubelet, pocketid
from pocketid_k8s.contract import env as names
from pocketid_k8s.errors import PocketIdK8sError
from pocketid_k8s.live.report import Outcome, Row, Status
from pocketid_k8s.rehearse import mountns, probes
from pocketid_k8s.rehearse.database import refuse_postgres
from pocketid_k8s.rehearse.limits import Counters, Limits, Wanted, support
from pocketid_k8s.rehearse.netns import Network, own_network
from pocketid_k8s.rehearse.owner import PREFIX, Owned, own_sandbox
from pocketid_k8s.rehearse.paths import map_paths
from pocketid_k8s.rehearse.pod import Pod, Probe, pod_from, throwaway_value
from pocketid_k8s.rehearse.process import Instance, Launch, Usage, free_port
from pocketid_k8s.rehearse.sandbox import Layout, Sandbox
from pocketid_k8s.rehearse.tree import MARKER_ENV, Tree, cgroup_base, deferred_signals

if TYPE_CHECKING:
    from pocketid_k8s.rehearse.image import Prepared

__all__ = ["Options", "Rehearsal", "rehearse"]

MIB: Final = 1024 * 1024
POLL: Final = 0.05
CLOSED_PROXY: Final = "http://127.0.0.1:9"
"""Outbound HTTP(S) goes to this closed loopback port: the program reaches nothing outside."""
FORCED: Final = {names.ANALYTICS_DISABLED: "true", names.HOST: "127.0.0.1"}


class CannotRunError(PocketIdK8sError):
    """The program could not be started at all (exit 2)."""


@dataclass
class Options:
    binary: Path
    resources: list[Resource]
    source: str
    keep: bool = False
    login: bool = False
    stay_up: float = 2.0
    """Seconds to watch the program after it is ready (readiness and liveness run meanwhile)."""
    probe_window: float = 12.0
    """At most this long after start, wait for every probe to run once after the program is
    ready (a probe with a long period or initial delay may not)."""
    surge_wait: float = 10.0
    workdir: Path | None = None
    leave_network: bool = False
    """Whether this process may leave the machine's network for good (the command line,
    which ends with the rehearsal): lets a user other than root run it in a network
    namespace of its own, through an unprivileged user namespace."""
    image: Prepared | None = None
    """The image the program comes from: its Env under the pod's variables, and its WorkingDir
    and USER where the pod sets neither."""
    kill: bool = False
    """Play the restart after a SIGKILL (the ``kill`` step): it waits out the program's
    restart window (30 s, 90 s from v2.12). The command line plays it unless --no-kill."""


@dataclass
class Rehearsal:
    outcome: Outcome
    app_url: str
    sandbox: Path | None = None
    figures: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Run:
    options: Options
    pod: Pod
    sandbox: Sandbox
    result: Rehearsal
    extra_env: dict[str, str] = field(default_factory=dict)
    hidden: tuple[str, ...] = ()
    usage: list[Usage] = field(default_factory=list)
    instances: list[Instance] = field(default_factory=list)
    budget: probes.Budget = field(
        default_factory=lambda: probes.Budget(probes.UNLIMITED_WAIT, None)
    )
    binary: Path | None = None
    """The copy of the program inside the sandbox, which the pod's user can always run."""
    network: Network = field(default_factory=lambda: Network(False, ""))
    read_only_root: str | None = "not tried in this run"
    """Why a read-only root is not a read-only mount here (None: it is, once tried)."""

    def plan(self, layout: Layout) -> mountns.Plan | None:
        """How a process starts in this instance's container mounts: through the launcher
        that mounts the root read-only and drops to the pod's user; None when not played."""
        if not self.pod.identity.read_only_root or self.read_only_root is not None:
            return None
        identity = self.pod.identity
        return mountns.Plan(
            str(layout.rootfs),
            str(layout.cwd),
            identity.uid,
            identity.gid,
            [g for g in [identity.fs_group] if g is not None],
            [(str(what), str(onto)) for what, onto in layout.binds],
        )

    def row(
        self, check: str, status: Status, detail: str, ms: float | None = None, hint: str = ""
    ) -> None:
        self.result.outcome.rows.append(Row(check, status, detail, ms, hint))

    def start(self, name: str) -> tuple[Instance, Layout, int]:
        layout = self.sandbox.instance(name)
        port = free_port()
        env = {
            **(self.options.image.env if self.options.image is not None else {}),
            **self.pod.env,
            **self.extra_env,
            **FORCED,
            names.PORT: str(port),
        }
        tmp = layout.host("/tmp")  # noqa: S108 - the container's /tmp, in the sandbox
        if tmp.is_dir():
            env.setdefault("TMPDIR", str(tmp))
        for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            env[proxy] = CLOSED_PROXY
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        env, _ = map_paths(env, layout, self.pod.version)
        logs = self.sandbox.root / "logs"
        logs.mkdir(exist_ok=True)
        count = sum(1 for _ in logs.iterdir())
        user = self.pod.identity if self.sandbox.play_user else None
        log = logs / f"{count + 1}-{name}.log"
        root = self.sandbox.root
        env[MARKER_ENV] = f"{root}:{name}"
        cgroup = f"{root.name.removeprefix(PREFIX)}-{name}"
        tree = Tree(env[MARKER_ENV], cgroup_base(), cgroup)
        binary = self.binary or self.options.binary
        plan = self.plan(layout)
        launch: Launch | None = None
        if plan is not None:
            launch = functools.partial(mountns.start, plan)
        try:
            with deferred_signals():  # started and recorded, or not started at all
                limits = Limits.make(Wanted.of(self.pod.limits), cgroup, tree.cgroup)
                instance = Instance(
                    binary,
                    env,
                    layout.cwd,
                    log,
                    None if launch else user,
                    tree,
                    limits=limits,
                    launch=launch,
                )
                self.instances.append(instance)
        except OSError as exc:
            who = f"uid {user.uid}" if user is not None else "you"
            raise CannotRunError(
                f"cannot run {self.options.binary} as {who} ({exc.strerror}); fix: put it "
                "where the pod's user can read and run it (a folder under /root is closed to "
                "other users), for example /usr/local/bin"
            ) from None
        return instance, layout, port

    def stopped(self, instance: Instance) -> None:
        """After a stop: say what the program left running (it was killed)."""
        if instance.survivors:
            self.result.notes.append(
                f"{instance.log.path.stem}: {instance.survivors} that the program started "
                "still ran after it ended: killed, as the container runtime kills every "
                "process of a stopped container"
            )
            instance.survivors = ""


def rehearse(options: Options) -> Rehearsal:
    """Run the pod's program through every step; the sandbox is removed unless ``keep``."""
    pod = pod_from(options.resources)
    if options.image is not None:
        options.image.play(pod)
    refuse_postgres(pod.env, pod.mounts, pod.working_dir, pod.version, pod.stand_ins)
    app_url = _app_url(pod.env.get(names.APP_URL, ""))
    play_user = os.geteuid() == 0
    # After any pull (an image's registry is outside), before anything starts.
    with own_network(options.leave_network) as network:
        return _rehearse(options, pod, app_url, play_user, network)


def _rehearse(
    options: Options, pod: Pod, app_url: str, play_user: bool, network: Network
) -> Rehearsal:
    started = time.monotonic()
    cut_short = True
    owned: Owned | None = None
    run: _Run | None = None
    try:
        # Made, locked and in the hands of the finally below, or not made at all: a Ctrl-C
        # meanwhile is raised as the block ends, with both set.
        with deferred_signals():
            owned = own_sandbox(options.workdir, pod.identity if play_user else None)
            result = Rehearsal(Outcome(), app_url)
            result.notes.extend(owned.notes)
            run = _Run(options, pod, Sandbox(owned.root, pod, play_user=play_user), result)
            run.network = network
        run.hidden = tuple(pod.env[name] for name in pod.secret_env)
        play_root(run)
        run.budget = probes.startup_budget(pod.probes)
        run.binary = owned.install(options.binary)
        _steps(run)
        cut_short = False
    finally:
        if run is not None and owned is not None:
            _end(run, owned, cut_short, started)
        elif owned is not None:
            owned.release(keep=False)
    return result


def _end(run: _Run, owned: Owned, cut_short: bool, started: float) -> None:
    """Stop every instance and its whole tree (at once when the run was cut short: Ctrl-C,
    SIGTERM, an error), then remove the sandbox; a second Ctrl-C waits for this (bounded:
    seconds) rather than leave processes or the folder behind."""
    result = run.result
    with deferred_signals():
        for instance in run.instances:
            if cut_short:
                instance.kill()
            else:
                instance.stop(1.0)  # also closes the log of one that has exited
            run.stopped(instance)
            if instance.log.dropped:
                result.notes.append(
                    f"{instance.log.path.name}: the program wrote {instance.log.total} bytes of "
                    f"log; the file keeps the first {instance.log.cap} and says the rest was cut"
                )
        result.figures["wall_s"] = time.monotonic() - started
        keep = run.options.keep  # asked for: kept even when cut short, to look at why
        if keep:
            result.sandbox = owned.root
        owned.release(keep)


def play_root(run: _Run) -> None:
    """Decide how ``run`` plays readOnlyRootFilesystem (:attr:`_Run.read_only_root`): a
    read-only mount where this machine can make one. Rehearse and upgrade both decide here."""
    if not run.pod.identity.read_only_root:
        run.read_only_root = "not asked"
    elif run.sandbox.play_user:
        run.read_only_root = mountns.available(str(run.sandbox.root))
    else:
        run.read_only_root = "not root"
    # subPath mounts are bound in the same mount namespace, where there is one
    run.sandbox.bind_sub_paths = run.read_only_root is None


def root_played(run: _Run) -> str:
    """How readOnlyRootFilesystem is played, for the pod row (and upgrade's notes)."""
    if run.read_only_root is None:
        return (
            "readOnlyRootFilesystem: the root is a read-only mount in a mount namespace of "
            "each instance's own, volumes writable on top (a write elsewhere fails with EROFS)"
        )
    if run.sandbox.play_user:
        return (
            f"readOnlyRootFilesystem: approximated with permissions ({run.read_only_root}: "
            "no read-only mount), so a write elsewhere fails with EACCES, not EROFS"
        )
    return (
        "readOnlyRootFilesystem: not played (not root: no read-only mount, and the layer "
        "is yours, so a write outside the volumes succeeds here)"
    )


def pod_played(run: _Run) -> str:
    """What of the pod spec beyond variables and mounts is played, and how: the pod row's
    words, which upgrade says too."""
    pod = run.pod
    parts = [root_played(run)] if pod.identity.read_only_root else []
    if any(mount.sub_path for mount in pod.mounts):
        parts.append(_sub_paths_played(run))
    return "; ".join([*parts, *pod.said, support(Wanted.of(pod.limits))])


def _sub_paths_played(run: _Run) -> str:
    """How subPath mounts are played: bind mounts, or the symbolic link and why."""
    if run.sandbox.bind_sub_paths:
        return (
            "subPath: bound onto its mount point in each instance's mount namespace, as the "
            "container runtime does"
        )
    why = run.read_only_root or "not tried"
    if why == "not asked":
        why = "readOnlyRootFilesystem is not set, and only a read-only root is played in one"
    return (
        f"subPath: a symbolic link in the layer, not a bind mount (no mount namespace: {why}), "
        "so a program can read the link or replace it"
    )


def _app_url(value: str) -> str:
    return (value or pocketid.DEFAULT_APP_URL).lower().rstrip("/")


def _steps(run: _Run) -> None:
    pod, result = run.pod, run.result
    result.notes.extend(pod.notes)
    if pod.missing:
        run.row(
            "pod",
            Status.FAIL,
            "the kubelet would not start the container (CreateContainerConfigError): "
            + "; ".join(pod.missing),
        )
        return
    user = (
        f"runs as {pod.identity.describe()}"
        if run.sandbox.play_user
        else f"runs as you (uid {os.geteuid()}): only root can play {pod.identity.describe()}"
    )
    sealed = (
        f"; a throwaway random value stands in for {', '.join(pod.throwaway)} (never your key)"
        if pod.throwaway
        else ""
    )
    run.row(
        "pod",
        Status.PASS,
        f"{pod.name}: {len(pod.env)} variables resolved as the kubelet does, "
        f"{len(pod.mounts)} mounts, working directory {pod.working_dir}, {user}{sealed}; "
        f"PORT {pod.listen_port} and HOST moved to a free loopback port, ANALYTICS_DISABLED=true"
        f"; {run.network.detail}; {pod_played(run)}",
    )
    _exec_note(run)
    first = _start_step(run)
    if first is None:
        if any(i.oom_killed for i in run.instances):
            _resources_step(run)  # what the memory limit held it to
        return
    instance, port = first.instance, first.port
    mark = len(result.outcome.rows)
    _probe_steps(run, first)
    if _oom_during(run, instance, "the probes", mark, ("oidc-discovery", "jwks", *_LATER)):
        _resources_step(run)
        return
    mark = len(result.outcome.rows)
    kid = _oidc_steps(run, port)
    if _oom_during(run, instance, "oidc-discovery", mark, _LATER):
        _resources_step(run)
        return
    login = None
    if run.options.login:
        from pocketid_k8s.rehearse.login import LoginRun

        login = LoginRun(
            run.result.app_url,
            run.options.resources,
            port,
            run.row,
            instance.log_text,
            version=run.pod.version,
        )
    try:
        oomed = False
        if login is not None:
            mark = len(result.outcome.rows)
            login.run()
            oomed = _oom_during(run, instance, "login", mark, _LATER)
        second = None if oomed else _restart_step(run, instance, kid, login)
        if second is not None:
            mark = len(result.outcome.rows)
            _surge_step(run)
            if _oom_during(run, second[0], "surge", mark, ()):
                pass  # the kill row is the kubelet's restart after that OOM
            elif second[0].alive() and run.options.kill:
                from pocketid_k8s.rehearse.kill import kill_step

                kill_step(run, second[0])
            elif second[0].alive():
                window = pocketid.restart_window_seconds(run.pod.version)
                run.row(
                    "kill",
                    Status.SKIP,
                    "not played (--no-kill): an OOM kill or a node crash leaves "
                    f"{pocketid.after_kill(run.pod.version)}, and this version refuses a "
                    f"restart for about {window} s",
                    hint="rehearse without --no-kill to SIGKILL the instance and restart it on "
                    "the kubelet's back-off (it adds that wait to the rehearsal)",
                )
    finally:
        if login is not None:
            login.close()
    _resources_step(run)


_LATER: Final = ("shutdown", "restart", "surge")
"""The steps after the first instance's, which need it running."""


def _oom_during(run: _Run, instance: Instance, step: str, mark: int, rest: tuple[str, ...]) -> bool:
    """Whether ``instance`` was OOM-killed by the end of ``step`` (whose rows begin at
    ``mark``): then those rows say so as the kubelet would, and :func:`_after_oom` plays the
    kubelet's restart and names the steps ``rest`` that are not played."""
    if instance.alive() or not instance.oom_killed:
        return False
    said = f"{_who(instance)} was {_exit_reason(run, instance)} during {step}"
    rows = run.result.outcome.rows
    for at in range(mark, len(rows)):
        rows[at] = replace(rows[at], status=Status.FAIL, detail=f"{rows[at].detail}; {said}")
    if len(rows) == mark:
        run.row(step, Status.FAIL, said)
    _after_oom(run, instance, step, rest)
    return True


def _after_oom(run: _Run, instance: Instance, step: str, rest: tuple[str, ...]) -> None:
    """``instance`` was OOM-killed during ``step``: the kubelet's restart on back-off (the
    ``kill`` row), and a row for each step of ``rest``, which needed the killed instance."""
    from pocketid_k8s.rehearse.kill import restart_after_oom

    restart_after_oom(run, instance, run.pod.limits.get("memory", "?"))
    for later in rest:
        run.row(
            later,
            Status.SKIP,
            f"not played: {_who(instance)} was {kubelet.OOM_REASON} during {step} (the kill "
            "row plays the kubelet's restart)",
        )


def _who(instance: Instance) -> str:
    """The instance's name in the rows (``pod-1``), from its log's."""
    return instance.log.path.stem.partition("-")[2] or "the pod"


def _wait_ready(instance: Instance, port: int, timeout: float) -> float | None:
    """Seconds from start until /healthz answers 204, or None if the program died or timed out."""
    deadline = instance.started + timeout
    while time.monotonic() < deadline and instance.alive():
        hit = probes.attempt(port, pocketid.HEALTH_PATH, 1.0)
        if hit.status == http.client.NO_CONTENT:
            return time.monotonic() - instance.started
        time.sleep(POLL)
    return None


@dataclass
class _Started:
    instance: Instance
    port: int
    prober: probes.Prober
    ready: float
    """Seconds from start until the program answered on its health path."""


def _launch(
    run: _Run, name: str, wait: float | None = None
) -> tuple[Instance, int, probes.Prober, float | None]:
    """Start instance ``name`` with the kubelet's probe workers (every probe kind, exec in the
    container), and wait for it to be ready (``wait`` seconds, else the start-up budget)."""
    instance, layout, port = run.start(name)

    def port_of(probe: Probe) -> int | None:
        return port if probe.port in (None, run.pod.listen_port) else None

    user = run.pod.identity if run.sandbox.play_user else None
    plan, resolver = run.plan(layout), _resolver(run, instance.env)
    container = probes.Container(
        instance.env,
        layout.cwd,
        None if plan else user,
        (lambda command: mountns.command(plan, resolver(command))) if plan else resolver,
        instance.beside,
    )
    prober = probes.Prober(run.pod.probes, port_of, instance.started, container)
    prober.start()
    ready = _wait_ready(instance, port, run.budget.seconds if wait is None else wait)
    return instance, port, prober, ready


def _resolver(run: _Run, env: dict[str, str]) -> Callable[[tuple[str, ...]], list[str]]:
    """How an exec probe's command starts here: a command naming the program runs the
    rehearsed one; with an image, a command is found in the image's file system."""
    image = run.options.image

    def resolve(command: tuple[str, ...]) -> list[str]:
        head = command[0]
        if image is not None:
            # Not in the image: a path there that does not exist, so it fails as it would
            # in the container (never this machine's program of that name).
            found = image.find(head, env.get("PATH", ""))
            head = str(found or image.folder / "rootfs" / head.lstrip("/"))
        elif head in (pocketid.BINARY, PurePosixPath(pocketid.BINARY).name):
            head = str(run.binary or run.options.binary)
        return [head, *command[1:]]

    return resolve


def _exec_note(run: _Run) -> None:
    """With --binary there is no image: an exec probe's command other than the program runs
    from this machine's file system, which the notes say."""
    if run.options.image is not None:
        return
    program = (pocketid.BINARY, PurePosixPath(pocketid.BINARY).name)
    for probe in run.pod.probes.values():
        if probe.action == "exec" and probe.command and probe.command[0] not in program:
            run.result.notes.append(
                f"{probe.kind}: {probe.command[0]} runs from this machine's file system (with "
                "--binary there is no image to find it in; the image may not have it)"
            )


def _start_step(run: _Run) -> _Started | None:
    instance, port, prober, ready = _launch(run, "pod-1")
    if ready is None and _key_missing(run, instance):
        prober.stop()
        missing, fix = _key_hint(run.pod)
        run.row("start", Status.FAIL, _exit_reason(run, instance) + missing, hint=fix)
        instance.stop(1.0)
        run.stopped(instance)
        # Give the program a throwaway key, so that the other steps can still say what they see.
        run.extra_env[names.ENCRYPTION_KEY] = throwaway_value()
        run.hidden = (*run.hidden, run.extra_env[names.ENCRYPTION_KEY])
        run.result.notes.append(
            "the key never reached the program; the later steps ran with a throwaway "
            "ENCRYPTION_KEY added, to show what else the manifests would do"
        )
        instance, port, prober, ready = _launch(run, "pod-1")
    step = "start-with-key" if names.ENCRYPTION_KEY in run.extra_env else "start"
    if ready is None:
        prober.stop()
        run.row(step, Status.FAIL, _exit_reason(run, instance), hint=_not_ready_hint(run, instance))
        return None
    run.result.figures["ready_s"] = ready
    run.result.figures["startup_cpu_s"] = instance.usage().cpu_seconds
    if instance.limits is not None and "cpu" in instance.limits.enforced:
        run.result.figures["startup_throttled_s"] = instance.limits.counters().throttled_s
    _watch(run, instance, prober, ready)
    prober.stop()
    if not instance.alive():
        detail = f"ready after {ready:.2f} s, then {_exit_reason(run, instance)}"
        run.row(step, Status.FAIL, detail)
        if instance.oom_killed:  # the kubelet restarts it: play that, as the kill step does
            _after_oom(run, instance, step, ("oidc-discovery", "jwks", *_LATER))
        return None
    seen = (
        f"; the kubelet saw it Ready at {prober.ready_at:.1f} s"
        if prober.ready_at is not None
        else "; the readiness probe never passed"
    )
    if prober.ready_at is not None:
        run.result.figures["k8s_ready_s"] = prober.ready_at
    watched = time.monotonic() - instance.started
    run.row(
        step,
        Status.PASS,
        f"{pocketid.HEALTH_PATH} answered 204 {ready:.2f} s after start{seen}; still up after "
        f"{watched:.1f} s",
        ready * 1000,
    )
    return _Started(instance, port, prober, ready)


def _watch(run: _Run, instance: Instance, prober: probes.Prober, ready: float) -> None:
    """Stay with the program ``stay_up`` seconds after it is ready, and until every probe has
    run once since then and the kubelet would count it Ready (within ``probe_window``)."""
    deadline = instance.started + max(ready + run.options.stay_up, run.options.probe_window)
    minimum = instance.started + ready + run.options.stay_up
    while instance.alive():
        now = time.monotonic()
        settled = all(prober.attempted_since(kind, ready) for kind in run.pod.probes) and (
            prober.ready_at is not None or probes.READINESS not in run.pod.probes
        )
        if now >= minimum and (settled or now >= deadline):
            return
        time.sleep(POLL)


def _key_missing(run: _Run, instance: Instance) -> bool:
    return (
        pocketid.KEY_TOO_SHORT in instance.log_text() and names.ENCRYPTION_KEY not in run.extra_env
    )


def _key_hint(pod: Pod) -> tuple[str, str]:
    """Why the key did not arrive, and the fix (empty when a key variable is set)."""
    if names.ENCRYPTION_KEY in pod.env or names.ENCRYPTION_KEY_FILE in pod.env:
        return "", ""
    return (
        "; no ENCRYPTION_KEY or ENCRYPTION_KEY_FILE reaches the program (an envFrom Secret "
        "key becomes a variable named after the key)",
        "mount the Secret and set ENCRYPTION_KEY_FILE, or use a secretKeyRef named ENCRYPTION_KEY",
    )


def _exit_reason(run: _Run, instance: Instance) -> str:
    if instance.alive():
        return f"not ready within {run.budget.describe()}: {instance.last_error(run.hidden)}"
    if instance.oom_killed:
        return (
            f"{kubelet.OOM_REASON} (exit code {kubelet.OOM_EXIT_CODE}): the kernel's OOM killer "
            f"ended it at its memory limit {run.pod.limits.get('memory', '?')}"
        )
    return f"exited with code {instance.returncode}: {instance.last_error(run.hidden)}"


def _not_ready_hint(run: _Run, instance: Instance) -> str:
    """The fix for a program still running but never ready (none for one that exited)."""
    return run.budget.hint() if instance.alive() else ""


def _probe_steps(run: _Run, started: _Started) -> None:
    """One row per probe: what the kubelet's schedule saw, and whether the path proves anything."""
    for kind in probes.KINDS:
        probe = run.pod.probes.get(kind)
        if probe is None:
            status = Status.SKIP if kind == probes.STARTUP else Status.WARN
            run.row(kind, status, _absent(kind))
            continue
        if probe.port is not None and probe.port != run.pod.listen_port:
            detail = (
                f"port {probe.port} is not the port the program listens on "
                f"({run.pod.listen_port}): every attempt is refused"
            )
            run.row(kind, Status.FAIL, detail)
            continue
        _probe_row(run, probe, started)


def _absent(kind: str) -> str:
    if kind == probes.STARTUP:
        return "none: liveness and readiness start at once"
    if kind == probes.READINESS:
        return "none: the pod counts as Ready as soon as the process starts"
    return "none: a hung program is never restarted"


def _probe_row(run: _Run, probe: Probe, started: _Started) -> None:
    timeline = started.prober.timeline[probe.kind]
    after = started.prober.seen_since(probe.kind, started.ready)
    if probe.kind == probes.STARTUP and started.prober.started_at is not None:
        # its success ends it, and may come before rehearse's own poll saw the program ready
        after = [t for t in timeline if t.at >= started.prober.started_at]
    # What the path answers once the program is up, for the verdict on what it proves.
    sample = after[-1].result if after else started.prober.attempt(probe)
    proves, why = probes.meaning(probe, sample, run.pod.version)
    budget = probe.period * probe.failure_threshold
    consequence = {
        probes.STARTUP: f"killed after {budget} s without success",
        probes.READINESS: f"out of the Service after {budget} s of failures",
        probes.LIVENESS: f"restarted after {budget} s of failures",
    }[probe.kind]
    seen = ", ".join(f"{t.at:.1f} s {t.result.describe()}" for t in timeline[:6]) or "none"
    if not after:
        seen += f" (none since the program was ready at {started.ready:.1f} s)"
    slowest = max((t.result.ms for t in timeline), default=0.0)
    passed = bool(after) and all(t.result.ok for t in after)
    if probe.kind == probes.STARTUP and started.prober.started_at is None:
        passed = False
    detail = (
        f"{probe.describe()} every {probe.period} s (timeout {probe.timeout} s, {consequence}): "
        f"{seen}; {why}"
    )
    hint = "" if proves else f"probe {pocketid.HEALTH_PATH} (on the program's port)"
    status = Status.PASS if passed and proves else Status.FAIL
    if passed and not proves and probe.action in ("tcpSocket", "exec"):
        status = Status.WARN  # it passes in the cluster too; it only proves less
    run.row(probe.kind, status, detail, slowest, hint)


PROGRAM_DEADLINE: Final = 5.0
"""Seconds for the program's whole answer to discovery or the key set."""


def _get_json(port: int, path: str) -> tuple[int | None, Any, str]:
    """GET ``path`` from the program: its status and JSON (through the bounded reader: 5 s in
    all, 1 MiB, JSON within limits), or None and why there is none."""
    from pocketid_k8s.remote import BadJson, RemoteError, fetch, http_client

    try:
        with http_client(verify=False, trust_env=False) as client:
            answer = fetch(
                client, "GET", f"http://127.0.0.1:{port}{path}", deadline=PROGRAM_DEADLINE
            )
    except RemoteError as exc:
        return None, None, exc.reason
    try:
        return answer.status, answer.json(), ""
    except BadJson as exc:
        return answer.status, None, exc.reason


def _oidc_steps(run: _Run, port: int) -> set[str]:
    start = time.perf_counter()
    status, doc, problem = _get_json(port, api.DISCOVERY)
    issuer = doc.get("issuer") if isinstance(doc, dict) else None
    ms = (time.perf_counter() - start) * 1000
    if issuer == run.result.app_url:
        run.row("oidc-discovery", Status.PASS, f"issuer {issuer} is APP_URL", ms)
    elif status is None or problem:
        run.row("oidc-discovery", Status.FAIL, f"{api.DISCOVERY}: {problem}", ms)
    else:
        run.row(
            "oidc-discovery",
            Status.FAIL,
            f"HTTP {status}, issuer {str(issuer)[:200]!r}, APP_URL {run.result.app_url}",
            ms,
        )
    kids = _kids(port)
    if kids:
        run.row("jwks", Status.PASS, f"{len(kids)} signing key(s): kid {', '.join(sorted(kids))}")
    else:
        run.row("jwks", Status.FAIL, f"no signing key with a kid in {api.JWKS}")
    return kids


def _kids(port: int) -> set[str]:
    _, doc, _ = _get_json(port, api.JWKS)
    keys = doc.get("keys") if isinstance(doc, dict) else None
    return {str(k["kid"]) for k in keys or [] if isinstance(k, dict) and k.get("kid")}


def _restart_step(
    run: _Run,
    instance: Instance,
    kids: set[str],
    login: Any,  # noqa: ANN401 - LoginRun, lazily imported
) -> tuple[Instance, Layout, int] | None:
    grace = run.pod.grace_seconds
    seconds, code, killed = instance.stop(grace)
    run.stopped(instance)
    run.usage.append(instance.usage())
    run.result.figures["shutdown_s"] = seconds
    run.sandbox.wipe("pod-1")
    how = f"SIGKILL after the {grace} s grace period" if killed else f"exit code {code}"
    if instance.oom_killed:
        how = f"{kubelet.OOM_REASON} (exit code {kubelet.OOM_EXIT_CODE}) before the SIGTERM"
    run.row(
        "shutdown",
        Status.FAIL if killed or instance.oom_killed else Status.PASS,
        f"SIGTERM: stopped in {seconds:.2f} s ({how}); writable layer and emptyDirs wiped",
        seconds * 1000,
    )
    if instance.oom_killed:  # before the SIGTERM: the kubelet restarts it on back-off
        _after_oom(run, instance, "shutdown", ("restart", "surge"))
        return None
    mark = len(run.result.outcome.rows)
    second, layout, port = run.start("pod-2")
    ready = _wait_ready(second, port, run.budget.seconds)
    if ready is None:
        run.row(
            "restart",
            Status.FAIL,
            f"the replacement pod: {_exit_reason(run, second)}",
            hint=_not_ready_hint(run, second),
        )
        if second.oom_killed:
            _after_oom(run, second, "restart", ("surge",))
        return None
    after = _kids(port)
    kept = bool(kids) and kids == after
    detail = (
        f"ready in {ready:.2f} s; signing key {'kept' if kept else 'changed'} "
        f"({', '.join(sorted(kids)) or '-'} -> {', '.join(sorted(after)) or '-'})"
    )
    hint = ""
    if not kept:
        detail += (
            "; the database was in the writable layer: users, passkeys and keys are lost on "
            "every restart"
        )
        hint = f"mount the volume at {pocketid.DATA_DIR}"
    if login is not None and login.registered and kept:
        signed_in = login.sign_in_again(port)
        kept = kept and signed_in
        detail += (
            "; the passkey still signs in" if signed_in else "; the passkey no longer signs in"
        )
    run.row("restart", Status.PASS if kept else Status.FAIL, detail, ready * 1000, hint)
    if _oom_during(run, second, "restart", mark, ("surge",)):
        return None
    return second, layout, port


def _surge_step(run: _Run) -> None:
    surge, _, port = run.start("pod-surge")
    ready = _wait_ready(surge, port, run.options.surge_wait)
    rolling = run.pod.strategy == "RollingUpdate"
    if ready is not None:
        run.row(
            "surge",
            Status.FAIL,
            f"a second instance on the same volume became ready in {ready:.2f} s: two "
            "programs run at once, each with its own database (the data is not on the "
            f"volume); strategy {run.pod.strategy}",
            hint=f"mount the volume at {pocketid.DATA_DIR} and use strategy Recreate",
        )
    else:
        reason = surge.last_error(run.hidden)
        refused = pocketid.second_instance(run.pod.version) in surge.log_text()
        what = (
            f"{run.pod.strategy}: the old pod stops before the new one starts, so no second "
            "instance runs in a cluster"
            if not rolling
            else f"RollingUpdate (maxSurge {run.pod.max_surge}): the surge pod starts beside the "
            "old one, is refused like this and never becomes Ready, so the rollout never "
            "finishes"
        )
        status = Status.PASS if refused and not rolling else Status.FAIL
        hint = "strategy Recreate" if rolling else ""
        run.row("surge", status, f"a second instance was refused ({reason}); {what}", hint=hint)
    surge.stop(1.0)
    run.stopped(surge)
    run.usage.append(surge.usage())


def _resources_step(run: _Run) -> None:
    for instance in run.instances:
        if instance.alive():
            run.usage.append(instance.usage())
    if not run.usage:
        return
    peak = max(u.peak_rss for u in run.usage)
    cpu = max(u.cpu_seconds for u in run.usage)
    run.result.figures["peak_rss_mib"] = peak / MIB
    run.result.figures["cpu_s"] = cpu
    limits, requests = run.pod.limits, run.pod.requests
    parts = [f"peak RSS {peak / MIB:.0f} MiB, CPU time {cpu:.2f} s for one pod's run"]
    status = Status.PASS
    for label, table in (("request", requests), ("limit", limits)):
        value = _bytes(table.get("memory", ""))
        if value:
            parts.append(f"memory {label} {table['memory']} ({peak / value:.0%} used)")
            if label == "limit" and peak >= value:
                status = Status.FAIL
        elif "memory" in table:
            parts.append(f"memory {label} {str(table['memory'])[:40]!r} not a quantity read here")
        else:
            parts.append(f"no memory {label}")
        if "cpu" in table:
            parts.append(f"cpu {label} {table['cpu']}")
    held = [i.limits for i in run.instances if i.limits is not None]
    enforced = held[0].enforced if held else []
    startup_cpu = run.result.figures.get("startup_cpu_s", 0.0)
    ready = run.result.figures.get("ready_s")
    if ready and "cpu" in enforced:
        throttled = run.result.figures.get("startup_throttled_s", 0.0)
        parts.append(
            f"start-up under the cpu limit: ready after {ready:.2f} s, {startup_cpu:.2f} s of "
            f"CPU, throttled {throttled:.2f} s"
        )
    elif ready and "cpu" in limits and Wanted.of(limits).millicores:
        cores = startup_cpu / ready
        limit = cpu_millis(limits["cpu"]) / 1000
        parts.append(
            f"start-up used {cores * 1000:.0f}m on average over {ready:.2f} s"
            + (
                f": above the limit, so throttled start-up takes about {startup_cpu / limit:.1f} s"
                if cores > limit
                else ""
            )
        )
    if "memory" not in limits:
        status = Status.WARN
    parts.extend(_enforcement(run, held))
    if any(i.oom_killed for i in run.instances):
        status = Status.FAIL
    run.row("resources", status, "; ".join(parts))


def _bytes(quantity: str) -> int | None:
    """A memory quantity in bytes; None when there is none or it is not one."""
    try:
        return memory_bytes(quantity) if quantity else None
    except ValueError:
        return None


def _enforcement(run: _Run, held: list[Limits]) -> list[str]:
    """How the limits were held (and what the kernel counted), or why they were compared."""
    if not held or not (held[0].wanted.controllers() or held[0].wanted.problems):
        return ["no limit set, so none enforced"]
    first = held[0]
    total = sum((h.counters() for h in held), Counters())
    parts = []
    if first.enforced:
        parts.append(f"limits enforced as the kubelet does: {first.describe()}")
    if first.not_enforced:
        why = "; ".join(f"{c}: {reason}" for c, reason in first.not_enforced.items())
        parts.append(f"compared, not enforced ({why})")
    parts.extend(f"not enforced: {problem}" for problem in first.wanted.problems)
    if "cpu" in first.enforced:
        run.result.figures["throttled_s"] = total.throttled_s
        parts.append(
            f"throttled {total.throttled_s:.2f} s in {total.throttled_periods} of "
            f"{total.periods} periods"
        )
    ooms = sum(1 for i in run.instances if i.oom_killed)
    if "memory" in first.enforced:
        run.result.figures["oom_kills"] = float(ooms)
        if total.memory_peak:
            parts.append(f"the cgroup's memory peak {total.memory_peak / MIB:.0f} MiB")
        if ooms:
            parts.append(
                f"{ooms} instance(s) {kubelet.OOM_REASON} (exit code {kubelet.OOM_EXIT_CODE})"
            )
    if run.pod.requests:
        parts.append("requests not enforced (in a cluster they place the pod and weigh its CPU)")
    return parts
