"""One run of the program: start it, watch it, measure it, stop it as the kubelet would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pocketid_k8s.rehearse.identity import Identity
from pocketid_k8s.rehearse.log import Log

__all__ = ["Instance", "Usage", "free_port"]

CLOCK_TICKS: Final = os.sysconf("SC_CLK_TCK")
PAGE: Final = 1024
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
    ) -> None:
        self.log = Log(log)
        self.started = time.monotonic()
        self._usage = Usage(0, 0.0)
        try:
            self.process = subprocess.Popen(
                [str(binary)],
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=self.log.write_fd,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=None if user is None else user.uid,
                group=None if user is None else user.gid,
                extra_groups=None
                if user is None
                else [g for g in [user.fs_group] if g is not None],
            )
        except OSError:
            self.log.abandon()
            raise
        self.log.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

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
        """SIGTERM, then SIGKILL after ``grace_seconds``: (seconds taken, exit code, killed)."""
        self.usage()
        start = time.monotonic()
        killed = False
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            if self.wait(grace_seconds) is None:
                self.process.kill()
                killed = True
        code = self.process.wait()
        self.log.close(LOG_DRAIN_SECONDS)
        return time.monotonic() - start, code, killed

    def log_text(self) -> str:
        """The output's last MiB from a line start (all of it, once the program has ended)."""
        if not self.alive():
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
