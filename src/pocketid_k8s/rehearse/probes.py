"""Probes as the kubelet runs them: an httpGet is a GET with a timeout, 200-399 a success; a
tcpSocket probe succeeds when the connection is accepted; an exec probe runs its command in
the container (its variables, user and working directory) and succeeds on exit 0 within the
timeout."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx  # noqa: F401 - loaded with rehearse, not by the first probe (0.5 s late)

from pocketid_k8s.contract import pocketid
from pocketid_k8s.rehearse.identity import Identity, popen_as
from pocketid_k8s.rehearse.pod import Probe
from pocketid_k8s.rehearse.tree import kill_marked

__all__ = ["Attempt", "Budget", "Prober", "Timed", "attempt", "meaning", "startup_budget"]

STARTUP: Final = "startupProbe"
READINESS: Final = "readinessProbe"
LIVENESS: Final = "livenessProbe"
KINDS: Final = (STARTUP, READINESS, LIVENESS)
READY_CAP: Final = 300.0
"""The longest rehearse waits for the program to become ready, whatever the manifest allows."""
PROBE_BODY_BYTES: Final = 10 * 1024
"""The kubelet reads at most 10 KiB of a probe's answer and ignores the rest."""
UNLIMITED_WAIT: Final = 60.0
"""How long rehearse waits when no startup or liveness probe limits start-up."""


@dataclass(frozen=True)
class Budget:
    """How long the program may take to become ready: what the manifest allows (its startup
    probe, else its liveness probe, would restart it after that) and what rehearse waits."""

    seconds: float
    """What rehearse waits: the manifest's budget, at most :data:`READY_CAP`."""
    probe: Probe | None
    """The probe that sets the budget, or None when nothing limits start-up."""

    @property
    def allowed(self) -> float | None:
        """Seconds until the kubelet would restart a program that never answers."""
        if self.probe is None:
            return None
        return float(self.probe.initial_delay + self.probe.period * self.probe.failure_threshold)

    def describe(self) -> str:
        """The wait and where it comes from, e.g. for 'not ready within ...'."""
        if self.probe is None:
            return f"{self.seconds:g} s (no startup or liveness probe limits start-up)"
        p = self.probe
        sum_ = (
            f"initialDelaySeconds {p.initial_delay} + periodSeconds {p.period} x "
            f"failureThreshold {p.failure_threshold}"
        )
        if self.allowed is not None and self.allowed > self.seconds:
            return (
                f"{self.seconds:g} s, rehearse's cap (the {p.kind} allows {self.allowed:g} s: "
                f"{sum_})"
            )
        return f"{self.seconds:g} s, the {p.kind}'s budget ({sum_})"

    def hint(self) -> str:
        """The fix for a program that was still not ready when the budget ran out."""
        slow = (
            "fix the start-up error shown; if start-up is only slow, raise the startupProbe's "
            "failureThreshold"
        )
        if self.probe is None:
            return "fix the start-up error shown"
        if self.probe.kind == STARTUP:
            return f"{slow} (the kubelet restarts the container after {self.allowed:g} s)"
        return (
            f"fix the start-up error shown; if start-up is only slow, add a startupProbe on "
            f"{pocketid.HEALTH_PATH} whose periodSeconds x failureThreshold covers it (the "
            f"livenessProbe restarts the container after {self.allowed:g} s)"
        )


def startup_budget(probes: dict[str, Probe]) -> Budget:
    """The start-up budget the manifest's probes give the program (capped at READY_CAP)."""
    probe = probes.get(STARTUP) or probes.get(LIVENESS)
    if probe is None:
        return Budget(UNLIMITED_WAIT, None)
    allowed = probe.initial_delay + probe.period * probe.failure_threshold
    return Budget(float(min(allowed, READY_CAP)), probe)


@dataclass(frozen=True)
class Attempt:
    ok: bool
    status: int | None
    content_type: str
    ms: float
    error: str = ""

    def describe(self) -> str:
        if self.status is None:
            return self.error
        return f"{self.status}"


def attempt(port: int | None, path: str, timeout: float) -> Attempt:
    """One probe: GET ``path`` on loopback ``port``, as the kubelet does: the whole answer
    within ``timeout`` seconds (a slower one is a failure), its body read up to
    :data:`PROBE_BODY_BYTES` and the rest ignored, 200-399 a success."""
    from pocketid_k8s.remote import RemoteError, RemoteTimeout, fetch, http_client

    start = time.perf_counter()
    if port is None:
        return Attempt(False, None, "", 0.0, "the probe's port names no container port")
    try:
        with http_client(verify=False, trust_env=False) as client:
            answer = fetch(
                client,
                "GET",
                f"http://127.0.0.1:{port}{path}",
                deadline=timeout,
                max_body=PROBE_BODY_BYTES,
                cut=True,
                headers={"User-Agent": "kube-probe/1.32"},
            )
    except RemoteTimeout:
        return Attempt(False, None, "", _ms(start), f"no answer within {timeout:g} s")
    except RemoteError as exc:
        return Attempt(False, None, "", _ms(start), exc.reason)
    status = answer.status
    return Attempt(200 <= status < 400, status, answer.header("content-type"), _ms(start))


def tcp_attempt(port: int | None, timeout: float) -> Attempt:
    """One tcpSocket probe: a TCP connection to loopback ``port`` accepted within ``timeout``."""
    start = time.perf_counter()
    if port is None:
        return Attempt(False, None, "", 0.0, "the probe's port names no container port")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return Attempt(True, None, "", _ms(start), "connected")
    except TimeoutError:
        return Attempt(False, None, "", _ms(start), f"no connection within {timeout:g} s")
    except OSError as exc:
        return Attempt(False, None, "", _ms(start), exc.strerror or str(exc))


EXEC_OUTPUT_BYTES: Final = 10 * 1024
"""The kubelet keeps at most 10 KiB of an exec probe's output."""
PROBE_MARKER_ENV: Final = "POCKETID_K8S_PROBE"
"""In an exec probe's environment: one value per attempt, by which whatever the command
started is found and ended with it."""
Place = Callable[[Callable[[], "subprocess.Popen[bytes]"]], "subprocess.Popen[bytes]"]
"""Runs a start of a process in the container's cgroups (:meth:`.process.Instance.beside`)."""


@dataclass(frozen=True)
class Container:
    """How an exec probe's command runs in one instance's container."""

    env: dict[str, str]
    cwd: Path
    user: Identity | None
    resolve: Callable[[tuple[str, ...]], list[str]]
    """The command as this machine starts it in the container: the program it names, and
    the container's mounts when they are played."""
    place: Place | None = None
    """Starts the command in the container's cgroups (its limits, its process tree); None:
    beside it, in a session of its own."""


def exec_attempt(container: Container, command: tuple[str, ...], timeout: float) -> Attempt:
    """One exec probe: the command in the container (its cgroups: the limits hold it), exit 0
    within ``timeout`` a success; a command still running then is killed (a failure), and
    whatever it started is ended with the attempt, never left running."""
    start = time.perf_counter()
    user = container.user
    mark = uuid.uuid4().hex
    env = {**container.env, PROBE_MARKER_ENV: mark}
    with tempfile.TemporaryFile() as output:

        def popen() -> subprocess.Popen[bytes]:
            return popen_as(
                user, container.resolve(command), env=env, cwd=container.cwd, stdout=output
            )

        try:
            process = popen() if container.place is None else container.place(popen)
        except OSError as exc:
            return Attempt(False, None, "", _ms(start), f"could not run: {exc.strerror}")
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            took = _ms(start)
            _end(process, mark)
            return Attempt(False, None, "", took, f"still running after {timeout:g} s")
        took = _ms(start)
        _end(process, mark)
        output.seek(0)
        said = output.read(EXEC_OUTPUT_BYTES).decode("utf-8", "replace").strip()
    last = said.splitlines()[-1][:200] if said else ""
    shown = f"exit {code}" + (f" ({last})" if last and code != 0 else "")
    return Attempt(code == 0, None, "", took, shown)


def _end(process: subprocess.Popen[bytes], mark: str) -> None:
    """Kill the probe's command and everything it started (its session, and whatever
    carries its mark: one that left the session too)."""
    with contextlib.suppress(OSError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    kill_marked(mark, PROBE_MARKER_ENV)


def meaning(
    probe: Probe, result: Attempt, version: tuple[int, int, int] = (0, 0, 0)
) -> tuple[bool, str]:
    """Whether the probe proves anything, and what."""
    if probe.action == "tcpSocket":
        return False, "a TCP connect only shows that the port is open, not that start-up finished"
    if probe.action == "exec":
        return _exec_meaning(probe, version)
    if probe.path is None:
        return False, "a gRPC probe is not played: Pocket-ID serves no gRPC health service"
    return _http_meaning(probe.path, result, version)


def _exec_meaning(probe: Probe, version: tuple[int, int, int]) -> tuple[bool, str]:
    words = " ".join(probe.command)
    command = f"'pocket-id {pocketid.HEALTHCHECK_COMMAND}'"
    since = "v" + ".".join(map(str, pocketid.HEALTHCHECK_REAL_SINCE))
    if pocketid.HEALTHCHECK_COMMAND not in words:
        return False, "nothing here says whether the command proves start-up"
    if version >= pocketid.HEALTHCHECK_REAL_SINCE:
        return True, (
            f"{command} GETs {pocketid.HEALTH_PATH}, which answers only once start-up finished"
        )
    return False, (
        f"{command} before {since} exits 0 on any HTTP status: it fails only when nothing listens"
    )


def _http_meaning(path: str, result: Attempt, version: tuple[int, int, int]) -> tuple[bool, str]:
    if path.split("?", maxsplit=1)[0] == pocketid.HEALTH_PATH:
        return True, f"{pocketid.HEALTH_PATH} answers only once {pocketid.started_when(version)}"
    if result.ok:
        return False, (
            f"{path} is not a health route: it answers {result.status} "
            f"({result.content_type or 'no type'}) whatever the program's state, so the probe "
            "proves nothing"
        )
    return False, (
        f"{path} is not a health route: {result.describe()} here, as from a build "
        "without the web UI; the release binary embeds the UI and answers 200 with "
        "index.html, so there the probe passes while proving nothing"
    )


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


@dataclass(frozen=True)
class Timed:
    at: float
    """Seconds after the container started."""
    result: Attempt


class Prober:
    """The kubelet's probe workers for one container, on the manifest's schedule.

    The startup probe runs from its initial delay, every period, until it succeeds;
    readiness and liveness start once it has (or from their own initial delay when
    there is none) and run every period. Each attempt is a GET with the probe's timeout.
    """

    def __init__(
        self,
        probes: dict[str, Probe],
        port_of: Callable[[Probe], int | None],
        started: float,
        container: Container | None = None,
    ) -> None:
        self.probes = probes
        self.port_of = port_of
        self.container = container
        """Where an exec probe's command runs (None: an exec probe fails to start)."""
        self.started = started
        self.timeline: dict[str, list[Timed]] = {kind: [] for kind in probes}
        self.started_at: float | None = None if STARTUP in probes else 0.0
        self.ready_at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def seen_since(self, kind: str, since: float) -> list[Timed]:
        """The ``kind`` attempts that saw the program as it is from ``since`` seconds: those
        begun then, and any success (one begun a moment before ``since`` that the program
        answered saw it serving)."""
        return [t for t in self.timeline.get(kind, []) if t.at >= since or t.result.ok]

    def attempt(self, probe: Probe) -> Attempt:
        """One attempt of ``probe``, whatever its action."""
        if probe.action == "tcpSocket":
            return tcp_attempt(self.port_of(probe), probe.timeout)
        if probe.action == "exec":
            if self.container is None or not probe.command:
                return Attempt(False, None, "", 0.0, "no command to run")
            return exec_attempt(self.container, probe.command, probe.timeout)
        if probe.action == "grpc":
            return Attempt(False, None, "", 0.0, "gRPC probes are not played")
        return attempt(self.port_of(probe), probe.path or "/", probe.timeout)

    def attempted_since(self, kind: str, since: float) -> bool:
        return bool(self.seen_since(kind, since))

    def _due(self, kind: str) -> float | None:
        probe = self.probes[kind]
        done = self.timeline[kind]
        if kind == STARTUP:
            if self.started_at is not None:
                return None
            return probe.initial_delay + len(done) * probe.period
        if self.started_at is None:
            return None
        first = max(self.started_at, float(probe.initial_delay))
        return first + len(done) * probe.period

    def _run(self) -> None:
        while not self._stop.is_set():
            due = {kind: at for kind in self.probes if (at := self._due(kind)) is not None}
            if not due:
                self._stop.wait(0.05)
                continue
            kind = min(due, key=due.__getitem__)
            wait = self.started + due[kind] - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                return
            probe = self.probes[kind]
            at = time.monotonic() - self.started
            result = self.attempt(probe)
            self.timeline[kind].append(Timed(at, result))
            if kind == STARTUP and result.ok:
                self.started_at = at
            if kind == READINESS and result.ok and self.ready_at is None:
                self.ready_at = at
