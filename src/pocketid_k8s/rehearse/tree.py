"""Everything one program instance starts, found and ended with it, as the container runtime does.

A container's processes live in one cgroup, and the runtime kills all of them when the
container stops. The rehearsal does the same with what this machine offers:

- as root where a cgroup v2 hierarchy is mounted and writable: one cgroup per instance. The
  program is started from inside it (this process steps in for the fork and back out), so
  even a child forked before its first instruction is in it; ``cgroup.kill`` ends them all.
- otherwise: the program leads its own session, this process is a child subreaper
  (``PR_SET_CHILD_SUBREAPER``), so a descendant that daemonizes (``setsid`` and a double
  fork) is reparented here rather than to init, and every instance's environment carries a
  marker (:data:`MARKER_ENV`) by which its processes are found in ``/proc``.

The marker is set in both cases: a later run finds by it the processes of a run that was
killed (see :mod:`.sandbox`).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeVar

__all__ = ["MARKER_ENV", "Tree", "cgroup_base", "marked", "set_subreaper", "write_control"]

MARKER_ENV: Final = "POCKETID_K8S_REHEARSAL"
"""In every instance's environment: ``<sandbox folder>:<instance name>``."""
PR_SET_CHILD_SUBREAPER: Final = 36
KILL_WAIT_SECONDS: Final = 2.0
"""How long a killed tree may take to be gone (SIGKILL cannot be caught: milliseconds)."""
CGROUP_PREFIX: Final = "pocketid-rehearse-"
T = TypeVar("T")
_STEPPING: Final = threading.RLock()
"""Held while this process stands in a tree's cgroup for a fork (the whole process moves, so
two threads, the program's start and an exec probe's, must not step in at once), and while a
tree is killed (``cgroup.kill`` would end this process too if it stood inside)."""


def set_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants (Linux); whether it worked."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _cgroup2_mount() -> Path | None:
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if " - " not in line:
            continue
        after = line.split(" - ", 1)[1].split()
        if after and after[0] == "cgroup2":
            return Path(fields[4])
    return None


def _own_cgroup() -> str | None:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    return next((ln[3:] for ln in lines if ln.startswith("0::")), None)


def cgroup_base() -> Path | None:
    """This process's own cgroup v2 folder, when running as root and it takes children
    (a cgroup holding processes has no controllers below it, so its children may hold
    processes too); None otherwise."""
    if os.geteuid() != 0:
        return None
    mount, own = _cgroup2_mount(), _own_cgroup()
    if mount is None or own is None:
        return None
    base = mount / own.lstrip("/")
    if not (base / "cgroup.procs").is_file() or not os.access(base, os.W_OK):
        return None
    return base


def write_control(path: Path, text: str) -> None:
    """Write ``text`` to a cgroup control file in one write(2), as the kernel wants it."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


@dataclass(frozen=True)
class _Stat:
    pid: int
    ppid: int
    session: int
    state: str
    name: str


def _stat(pid: int) -> _Stat | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = text[text.find("(") + 1 : text.rfind(")")]
    fields = text.rpartition(")")[2].split()
    return _Stat(pid, int(fields[1]), int(fields[3]), fields[0], name)


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _environ_has(pid: int, wanted: bytes, exact: bool) -> bool:
    try:
        data = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    entries = data.split(b"\0")
    return wanted in entries if exact else any(e.startswith(wanted) for e in entries)


def marked(value: str, *, exact: bool = False, name: str = MARKER_ENV) -> list[int]:
    """Live processes whose environment has ``<name>=<value>`` (or one starting so)."""
    wanted = f"{name}={value}".encode()
    found = []
    for pid in _pids():
        if pid == os.getpid():
            continue
        info = _stat(pid)
        if info is not None and info.state not in "ZX" and _environ_has(pid, wanted, exact):
            found.append(pid)
    return found


def kill_marked(prefix: str, name: str = MARKER_ENV) -> int:
    """SIGKILL every process marked ``prefix`` (in ``name``) until none is left; how many
    there were."""
    seen: set[int] = set()
    deadline = time.monotonic() + KILL_WAIT_SECONDS
    while (left := marked(prefix, name=name)) and time.monotonic() < deadline:
        for pid in left:
            seen.add(pid)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        _reap(left)
        time.sleep(0.02)
    _reap(list(seen))
    return len(seen)


def _reap(pids: list[int]) -> None:
    """Collect the exit of those that were reparented to this process (a subreaper)."""
    for pid in pids:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)


@contextlib.contextmanager
def deferred_signals() -> Iterator[list[int]]:
    """Hold Ctrl-C and SIGTERM back for the block (a step that must not be cut in half),
    then act on them as before. A no-op outside the main thread."""
    import threading

    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
    kinds = (signal.SIGINT, signal.SIGTERM)

    def hold(signum: int, frame: object) -> None:
        held.append(signum)

    previous = {kind: signal.signal(kind, hold) for kind in kinds}
    try:
        yield held
    finally:
        for kind, handler in previous.items():
            signal.signal(kind, handler)
        for signum in held[:1]:
            handler = previous[signal.Signals(signum)]
            if callable(handler):
                handler(signum, None)
            elif handler == signal.SIG_DFL:
                raise KeyboardInterrupt


class Tree:
    """One instance's processes: its cgroup, or its session and marker."""

    def __init__(self, marker: str, base: Path | None, name: str) -> None:
        self.marker = marker
        self.cgroup: Path | None = None
        self.leader: int | None = None
        if base is not None:
            folder = base / f"{CGROUP_PREFIX}{name}"
            try:
                folder.mkdir()
            except OSError:
                pass
            else:
                self.cgroup = folder
        if self.cgroup is None:
            set_subreaper()

    @property
    def how(self) -> str:
        return "cgroup" if self.cgroup is not None else "session"

    def spawn(self, start: Callable[[], T], pid_of: Callable[[T], int]) -> T:
        """``start()`` the program inside this tree."""
        started = self.enter(start)
        self.leader = pid_of(started)
        return started

    def enter(self, start: Callable[[], T]) -> T:
        """``start()`` a process inside this tree's cgroup, where it has one (the program,
        or a command run in its container: an exec probe's)."""
        if self.cgroup is None:
            return start()
        with _STEPPING:
            home = cgroup_base()
            own = str(os.getpid())
            try:
                write_control(self.cgroup / "cgroup.procs", own)
            except OSError:
                if self.leader is None:  # the program's own start: the session's way instead
                    self._drop_cgroup()
                return start()
            try:
                return start()
            finally:
                try:
                    write_control((home or Path("/")) / "cgroup.procs", own)
                except OSError:
                    # Never stay where cgroup.kill would end this process too: forget it.
                    self.cgroup = None

    def _drop_cgroup(self) -> None:
        if self.cgroup is not None:
            with contextlib.suppress(OSError):
                self.cgroup.rmdir()
        self.cgroup = None
        set_subreaper()

    def members(self) -> list[int]:
        """The live processes of this instance."""
        if self.cgroup is not None:
            try:
                text = (self.cgroup / "cgroup.procs").read_text()
            except OSError:
                text = ""
            found = [int(p) for p in text.split()]
            return [p for p in found if p != os.getpid()]
        in_session = []
        if self.leader is not None:
            for pid in _pids():
                info = _stat(pid)
                if info is not None and info.session == self.leader and info.state not in "ZX":
                    in_session.append(pid)
        return sorted(set(in_session) | set(marked(self.marker, exact=True)))

    def describe(self, pids: list[int]) -> str:
        """``3 processes (sleep x2, worker)``: how many, and their names."""
        names: dict[str, int] = {}
        for pid in pids:
            info = _stat(pid)
            name = info.name if info is not None else "?"
            names[name] = names.get(name, 0) + 1
        listed = ", ".join(f"{n} x{c}" if c > 1 else n for n, c in sorted(names.items()))
        count = "1 process" if len(pids) == 1 else f"{len(pids)} processes"
        return f"{count} ({listed})"

    def kill(self) -> None:
        """SIGKILL every process of the tree and wait (bounded) until none is left."""
        with _STEPPING:
            self._kill()

    def _kill(self) -> None:
        deadline = time.monotonic() + KILL_WAIT_SECONDS
        while time.monotonic() < deadline:
            left = self.members()
            if not left:
                break
            if self.cgroup is not None:
                try:
                    write_control(self.cgroup / "cgroup.kill", "1")
                except OSError:
                    self._kill_each(left)
            else:
                self._kill_each(left)
            _reap([pid for pid in left if pid != self.leader])  # the leader is Popen's to wait
            time.sleep(0.01)
        else:
            # Still there past the bound (an uninterruptible sleep): the session's way too.
            self._kill_each(self.members())

    def _kill_each(self, pids: list[int]) -> None:
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        """Kill what is left and remove the cgroup."""
        with _STEPPING:
            self._close()

    def _close(self) -> None:
        self._kill()
        if self.cgroup is None:
            return
        deadline = time.monotonic() + KILL_WAIT_SECONDS
        while True:
            try:
                self.cgroup.rmdir()
            except FileNotFoundError:
                break
            except OSError:  # busy for a moment after the last process ended
                if time.monotonic() > deadline:
                    return
                time.sleep(0.01)
                continue
            break
        self.cgroup = None
