"""One run of the program: start it, watch it, measure it, stop it as the kubelet would."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeVar

from pocketid_k8s.rehearse.identity import Identity, popen_as
from pocketid_k8s.rehearse.limits import Limits
from pocketid_k8s.rehearse.log import Log
from pocketid_k8s.rehearse.tree import Tree

__all__ = ["Instance", "Launch", "Usage", "free_port"]

Launch = Callable[
    [list[str], Callable[[list[str], tuple[int, ...]], "subprocess.Popen[bytes]"]],
    "subprocess.Popen[bytes]",
]
"""Starts a command line in the container's mounts with the given Popen (which passes it
descriptors), or raises the OSError that running it met."""

CLOCK_TICKS: Final = os.sysconf("SC_CLK_TCK")
PAGE: Final = 1024
T = TypeVar("T")
KILL_WAIT_SECONDS: Final = 2.0
LOG_DRAIN_SECONDS: Final = 2.0
"""How long to wait, once the program has ended, for the rest of its output."""


def free_port() -> int:
    """A loopback port that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Usage:
    peak_rss: int
    """Bytes (the kernel's VmHWM, the high-water mark of the resident set)."""
    cpu_seconds: float


class Instance:
    """The program running as one pod instance's container."""

    def __init__(
        self,
        binary: Path,
        env: dict[str, str],
        cwd: Path,
        log: Path,
        user: Identity | None = None,
        tree: Tree | None = None,
        *,
        limits: Limits | None = None,
        launch: Launch | None = None,
    ) -> None:
        """``launch``: what starts the program in the container's mounts (it then also
        drops to the pod's user: ``user`` is None)."""
        self.log = Log(log)
        self.env = env
        """The program's variables (an exec probe's command runs with them too)."""
        self.started = time.monotonic()
        self._usage = Usage(0, 0.0)
        self.tree = tree
        self.limits = limits
        """The container's limits, enforced on it from its first instruction where they can be."""
        self.survivors = ""
        """What was still running of the program's tree after it stopped (then killed)."""
        try:
            self.process = self._popen([str(binary)], env, cwd, user, launch)
        except OSError:
            self.log.abandon()
            if tree is not None:
                tree.close()
            if limits is not None:
                limits.close()
            raise
        self.log.start()

    def _popen(
        self,
        argv: list[str],
        env: dict[str, str],
        cwd: Path,
        user: Identity | None,
        launch: Launch | None,
    ) -> subprocess.Popen[bytes]:
        def popen(argv: list[str], fds: tuple[int, ...] = ()) -> subprocess.Popen[bytes]:
            return popen_as(user, argv, env=env, cwd=cwd, stdout=self.log.write_fd, fds=fds)

        def start() -> subprocess.Popen[bytes]:
            return popen(argv) if launch is None else launch(argv, popen)

        def limited() -> subprocess.Popen[bytes]:
            if self.limits is None:
                return start()
            with self.limits.placed():
                return start()

        if self.tree is None:
            return limited()
        return self.tree.spawn(limited, lambda process: process.pid)

    def beside(self, start: Callable[[], T]) -> T:
        """``start()`` a process in this instance's container, as the runtime runs an exec
        probe's command there: in its limiting cgroups (the limits hold it too) and its
        tree's (stopping the instance ends it)."""

        def limited() -> T:
            if self.limits is None:
                return start()
            with self.limits.placed():
                return start()

        return limited() if self.tree is None else self.tree.enter(limited)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    @property
    def oom_killed(self) -> bool:
        """Whether it ended because the OOM killer ended it at its memory limit."""
        return self.limits is not None and self.limits.oom_killed(self.returncode)

    def usage(self) -> Usage:
        """Peak RSS and CPU time so far (the last reading once the process has ended)."""
        if self.alive():
            try:
                status = Path(f"/proc/{self.pid}/status").read_text()
                stat = Path(f"/proc/{self.pid}/stat").read_text()
            except OSError:
                return self._usage
            hwm = next(
                (ln.split()[1] for ln in status.splitlines() if ln.startswith("VmHWM:")), "0"
            )
            fields = stat.rpartition(")")[2].split()
            cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
            self._usage = Usage(int(hwm) * PAGE, cpu)
        return self._usage

    def wait(self, seconds: float) -> int | None:
        try:
            return self.process.wait(seconds)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace_seconds: float) -> tuple[float, int, bool]:
        """SIGTERM to the program, then SIGKILL to its whole tree after ``grace_seconds``, as
        the kubelet and the container runtime do; whatever the program started and left
        running is killed once it has ended (:attr:`survivors` says what it was).
        Returns (seconds taken, exit code, killed)."""
        self.usage()
        start = time.monotonic()
        killed = False
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            if self.wait(grace_seconds) is None:
                self._kill_tree()
                killed = True
        code = self.process.wait()
        self._end_tree()
        self.log.close(LOG_DRAIN_SECONDS)
        return time.monotonic() - start, code, killed

    def kill(self) -> None:
        """End the program and everything it started now (an interrupted run): no grace."""
        self._kill_tree()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(KILL_WAIT_SECONDS)
        self._end_tree()
        self.log.close(0.5)

    def _kill_tree(self) -> None:
        if self.tree is not None:
            self.tree.kill()
        with contextlib.suppress(OSError):
            self.process.kill()

    def _end_tree(self) -> None:
        """The program has ended: kill and name what it left running, remove its cgroups."""
        if self.limits is not None:
            self.limits.keep_counts()  # before the tree's cgroup (v2: the limits' too) goes
        if self.tree is not None:
            left = [pid for pid in self.tree.members() if pid != self.pid]
            if left:
                self.survivors = self.tree.describe(left)
            self.tree.close()
        if self.limits is not None:
            self.limits.close()

    def log_text(self) -> str:
        """The output's last MiB from a line start (all of it, once the program has ended)."""
        if not self.alive():
            self._end_tree()  # what it left running would hold the output open
            self.log.wait(LOG_DRAIN_SECONDS)
        return self.log.text()

    def last_error(self, hidden: tuple[str, ...] = ()) -> str:
        """The log's last error line (or last line), with ``hidden`` values masked."""
        lines = [ln.strip() for ln in self.log_text().splitlines() if ln.strip()]
        errors = [ln for ln in lines if " ERR " in ln or "error" in ln.lower() or "FTL" in ln]
        line = (errors or lines or ["(no output)"])[-1]
        for value in hidden:
            if value:
                line = line.replace(value, "***")
        return line[:300]
