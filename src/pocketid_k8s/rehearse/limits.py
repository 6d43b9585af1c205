"""The container's resource limits enforced on one instance, as the kubelet has the kernel do.

The kubelet turns a container's memory limit into its cgroup's hard limit with swap off,
and its CPU limit into a CFS quota (:mod:`pocketid_k8s.contract.kubelet` holds those
facts). The rehearsal does the same, per controller, with what this machine offers:

- **cgroup v2**, where the controller is enabled for this process's subtree (its
  ``cgroup.subtree_control``): the limits are written into the instance's own cgroup,
  the one :mod:`.tree` makes (``memory.max``, ``memory.swap.max``, ``cpu.max``);
- **cgroup v1**, where the controller has a hierarchy of its own under :data:`CGROUP_ROOT`
  (``/sys/fs/cgroup/memory``, ``/sys/fs/cgroup/cpu,cpuacct``): a child of this process's
  cgroup in that hierarchy (``memory.limit_in_bytes``, ``memory.memsw.limit_in_bytes``,
  ``cpu.cfs_quota_us`` and ``cpu.cfs_period_us``). The thread that starts the program steps
  into it for the fork and back out (:meth:`Limits.placed`), so the program is limited from
  its first instruction and nothing else of this process is;
- otherwise (not root, no such hierarchy, one that refuses a child): the limit is compared
  with what the program used, not enforced, and :attr:`Limits.not_enforced` says why.

An instance that the OOM killer ended is told by its cgroup's ``oom_kill`` count (v2
``memory.events``, v1 ``memory.oom_control``), or where the kernel does not count them by a
hit limit (``memory.failcnt``) and an end by SIGKILL. Requests are not enforced: in a
cluster they weigh the container's CPU share against its neighbours' and place the pod.
The cgroups are removed when the instance ends (:meth:`Limits.close`), and those of a run
that died by :func:`remove_left`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from pocketid_k8s.config import cpu_millis, memory_bytes
from pocketid_k8s.contract import kubelet
from pocketid_k8s.rehearse.tree import CGROUP_PREFIX, cgroup_base, write_control

__all__ = ["CGROUP_ROOT", "Counters", "Limits", "Wanted", "remove_left", "support"]

CGROUP_ROOT: Path = Path("/sys/fs/cgroup")
"""Where the cgroup hierarchies are mounted (tests point it at a folder of their own)."""
MEMORY: Final = "memory"
CPU: Final = "cpu"
REMOVE_WAIT_SECONDS: Final = 2.0
"""How long an emptied cgroup may stay busy before it can be removed (milliseconds)."""
_V1_FILE: Final = {MEMORY: "memory.limit_in_bytes", CPU: "cpu.cfs_quota_us"}
_V2: Final = "cgroup v2"
_V1: Final = "cgroup v1"


@dataclass(frozen=True)
class Wanted:
    """The container's limits as the kernel takes them (None: no limit)."""

    memory: int | None = None
    """Bytes."""
    millicores: int | None = None
    problems: tuple[str, ...] = ()
    """Limits that could not be read (compared neither)."""

    @classmethod
    def of(cls, limits: dict[str, str]) -> Wanted:
        """From the container's ``resources.limits``."""
        memory = millicores = None
        problems = []
        if MEMORY in limits:
            try:
                memory = memory_bytes(limits[MEMORY])
            except ValueError as exc:
                problems.append(f"memory limit: {exc}")
        if CPU in limits:
            try:
                millicores = cpu_millis(limits[CPU])
            except ValueError as exc:
                problems.append(f"cpu limit: {exc}")
        return cls(memory, millicores, tuple(problems))

    def controllers(self) -> list[str]:
        return [c for c, v in ((MEMORY, self.memory), (CPU, self.millicores)) if v is not None]


@dataclass(frozen=True)
class Counters:
    """What the kernel counted for one instance's cgroups."""

    oom_kills: int | None = None
    """Processes the OOM killer ended (None: this kernel does not count them)."""
    limit_hits: int = 0
    memory_peak: int = 0
    """Bytes: the highest memory use the cgroup saw (page cache included, as the limit
    counts it); for several instances the highest of theirs."""
    periods: int = 0
    throttled_periods: int = 0
    throttled_s: float = 0.0

    def __add__(self, other: Counters) -> Counters:
        kills = (
            None
            if self.oom_kills is None and other.oom_kills is None
            else (self.oom_kills or 0) + (other.oom_kills or 0)
        )
        return Counters(
            kills,
            self.limit_hits + other.limit_hits,
            max(self.memory_peak, other.memory_peak),
            self.periods + other.periods,
            self.throttled_periods + other.throttled_periods,
            self.throttled_s + other.throttled_s,
        )


@dataclass(frozen=True)
class _Where:
    """Where a controller's limit can be set: its version and the parent folder (v1), or why
    it cannot."""

    how: str = ""
    parent: Path | None = None
    why_not: str = ""


def _own_v1(controller: str) -> str | None:
    """This process's cgroup path in the v1 hierarchy of ``controller``."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, names, path = line.split(":", 2)
        if controller in names.split(","):
            return path
    return None


def _v1_mount(controller: str) -> Path | None:
    """The folder under :data:`CGROUP_ROOT` where ``controller``'s v1 hierarchy is mounted."""
    try:
        entries = sorted(CGROUP_ROOT.iterdir())
    except OSError:
        return None
    for entry in entries:
        if controller in entry.name.split(",") and (entry / _V1_FILE[controller]).is_file():
            return entry
    return None


def _v2_base() -> Path | None:
    """This process's cgroup v2 folder when it is under :data:`CGROUP_ROOT` (the one the
    instance's own cgroup is made in, :mod:`.tree`)."""
    base = cgroup_base()
    if base is None:
        return None
    try:
        base.resolve().relative_to(CGROUP_ROOT.resolve())
    except ValueError:
        return None
    return base


def _enabled_v2(base: Path) -> set[str]:
    try:
        return set((base / "cgroup.subtree_control").read_text().split())
    except OSError:
        return set()


def _where(controller: str) -> _Where:
    if os.geteuid() != 0:
        return _Where(why_not="not root: only root may make the cgroups that limit a program")
    base = _v2_base()
    if base is not None and controller in _enabled_v2(base):
        return _Where(_V2, base)
    mount = _v1_mount(controller)
    own = _own_v1(controller)
    if mount is not None and own is not None:
        parent = mount / own.lstrip("/")
        if not parent.is_dir() or not os.access(parent, os.W_OK):
            return _Where(why_not=f"this process's {controller} cgroup {parent} is not writable")
        return _Where(_V1, parent)
    return _Where(
        why_not=f"no {controller} controller this process can use under {CGROUP_ROOT} (neither "
        "a cgroup v1 hierarchy nor enabled in its cgroup v2 subtree)"
    )


def support(wanted: Wanted) -> str:
    """One phrase for the ``pod`` row: whether and how the limits will be enforced."""
    if not wanted.controllers():
        return "limits: none set, nothing enforced"
    found = {c: _where(c) for c in wanted.controllers()}
    hows = sorted({w.how for w in found.values() if w.how})
    missing = [f"{c} ({w.why_not})" for c, w in found.items() if not w.how]
    if not missing:
        return f"limits enforced ({', '.join(hows)})"
    said = "; ".join(missing)
    if hows:
        enforced = [c for c, w in found.items() if w.how]
        held = f"{', '.join(enforced)} enforced ({', '.join(hows)})"
        return f"limits: {held}; compared, not enforced: {said}"
    return f"limits compared, not enforced: {said}"


def _fields(path: Path) -> dict[str, int]:
    """A flat-keyed cgroup file (``name value`` lines) as numbers; empty when unreadable."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    found: dict[str, int] = {}
    for line in lines:
        name, _, value = line.partition(" ")
        with contextlib.suppress(ValueError):
            found[name] = int(value)
    return found


def _number(path: Path) -> int:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return 0


@dataclass
class _Group:
    """One cgroup limiting one controller of the instance."""

    controller: str
    how: str
    folder: Path
    home: Path | None = None
    """v1: the cgroup this process's thread goes back to after the fork."""
    made: bool = False
    """Whether this module made the folder (v1), so removes it."""


@dataclass
class Limits:
    """One instance's limits: the cgroups that hold them, or why none does."""

    wanted: Wanted
    groups: list[_Group] = field(default_factory=list)
    not_enforced: dict[str, str] = field(default_factory=dict)
    """Controller -> why its limit is compared, not enforced."""
    _final: Counters | None = None
    _closed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    """Held by :meth:`placed` and :meth:`close`: an exec probe's thread never steps into a
    cgroup being removed (whose remaining processes are killed)."""

    @classmethod
    def make(cls, wanted: Wanted, name: str, v2_cgroup: Path | None) -> Limits:
        """The cgroups for instance ``name`` with ``wanted`` written in; ``v2_cgroup``: the
        instance's own cgroup v2 (:class:`.tree.Tree`'s), if it has one."""
        limits = cls(wanted)
        try:
            for controller in wanted.controllers():
                limits._make_one(controller, name, v2_cgroup)
        except BaseException:
            limits.close()
            raise
        return limits

    def _make_one(self, controller: str, name: str, v2_cgroup: Path | None) -> None:
        where = _where(controller)
        if where.how == _V2 and (v2_cgroup is None or v2_cgroup.parent != where.parent):
            where = _Where(why_not="the instance has no cgroup v2 of its own")
        if not where.how or where.parent is None:
            self.not_enforced[controller] = where.why_not
            return
        if where.how == _V2 and v2_cgroup is not None:
            group = _Group(controller, _V2, v2_cgroup)
        else:
            folder = where.parent / f"{CGROUP_PREFIX}{name}"
            try:
                folder.mkdir()
            except OSError as exc:
                self.not_enforced[controller] = f"cannot make a cgroup in {where.parent} ({exc})"
                return
            group = _Group(controller, _V1, folder, where.parent, made=True)
        self.groups.append(group)
        try:
            self._limit(group)
        except OSError as exc:
            self.not_enforced[controller] = f"{group.folder} refused the limit ({exc.strerror})"
            self.groups.remove(group)
            self._remove(group)

    def _limit(self, group: _Group) -> None:
        folder = group.folder
        if group.controller == MEMORY and self.wanted.memory is not None:
            limit = str(self.wanted.memory)
            if group.how == _V2:
                write_control(folder / "memory.max", limit)
                if kubelet.SWAP_OFF and (folder / "memory.swap.max").exists():
                    write_control(folder / "memory.swap.max", "0")
            else:
                write_control(folder / "memory.limit_in_bytes", limit)
                if kubelet.SWAP_OFF and (folder / "memory.memsw.limit_in_bytes").exists():
                    write_control(folder / "memory.memsw.limit_in_bytes", limit)
        elif group.controller == CPU and self.wanted.millicores is not None:
            quota = kubelet.cfs_quota_us(self.wanted.millicores)
            if group.how == _V2:
                write_control(folder / "cpu.max", f"{quota} {kubelet.CFS_PERIOD_US}")
            else:
                write_control(folder / "cpu.cfs_period_us", str(kubelet.CFS_PERIOD_US))
                write_control(folder / "cpu.cfs_quota_us", str(quota))

    @property
    def enforced(self) -> list[str]:
        """The controllers whose limit is enforced."""
        return [g.controller for g in self.groups]

    def describe(self) -> str:
        """How each limit is enforced, in the kernel's terms."""
        parts = []
        for group in self.groups:
            if group.controller == MEMORY and self.wanted.memory is not None:
                swap = ", swap off" if kubelet.SWAP_OFF else ""
                parts.append(f"memory {self.wanted.memory // 2**20} MiB hard limit{swap}")
            elif self.wanted.millicores is not None:
                quota = kubelet.cfs_quota_us(self.wanted.millicores)
                parts.append(f"CFS quota {quota} us per {kubelet.CFS_PERIOD_US} us")
        hows = sorted({g.how for g in self.groups})
        return f"{', '.join(parts)} ({', '.join(hows)})"

    @contextlib.contextmanager
    def placed(self) -> Iterator[None]:
        """The calling thread in the instance's v1 cgroups for the block (the fork), then back
        where it was; the v2 cgroup is the tree's, which places the program itself. A cgroup
        that refuses the thread leaves its limit compared, not enforced."""
        with self._lock:
            if self._closed:  # the instance has ended: nothing of it to join
                yield
                return
            with self._entered():
                yield

    @contextlib.contextmanager
    def _entered(self) -> Iterator[None]:
        tid = str(threading.get_native_id())
        entered: list[_Group] = []
        try:
            for group in [g for g in self.groups if g.how == _V1]:
                try:
                    write_control(group.folder / "tasks", tid)
                except OSError as exc:
                    self.not_enforced[group.controller] = (
                        f"{group.folder} refused the program ({exc.strerror})"
                    )
                    self.groups.remove(group)
                    self._remove(group)
                else:
                    entered.append(group)
            yield
        finally:
            for group in entered:
                _leave(group, tid)

    def counters(self) -> Counters:
        """What the kernel counted so far (the last reading once closed)."""
        if self._final is not None:
            return self._final
        total = Counters()
        for group in self.groups:
            total = total + _read(group)
        return total

    def oom_killed(self, returncode: int | None) -> bool:
        """Whether the OOM killer ended the instance that ended with ``returncode``."""
        if MEMORY not in self.enforced or returncode is None:
            return False
        counted = self.counters()
        if counted.oom_kills is not None:
            return counted.oom_kills > 0
        return counted.limit_hits > 0 and returncode == -signal.SIGKILL

    def keep_counts(self) -> None:
        """Read the counts one last time: :meth:`counters` returns these from now on."""
        if self._final is None:
            self._final = self.counters()

    def close(self) -> None:
        """Keep the last counts, then remove the cgroups this module made (its processes
        already ended: the tree kills them first)."""
        with self._lock:
            self._closed = True
            self.keep_counts()
            for group in self.groups:
                self._remove(group)

    def _remove(self, group: _Group) -> None:
        if group.made:
            _rmdir(group.folder)
            group.made = False


def _leave(group: _Group, tid: str) -> None:
    """Take this process's thread back out of ``group`` (home, else the hierarchy's root:
    never stay where the program's limit would hold rehearse too)."""
    home = group.home or group.folder.parent
    for folder in (home, *home.parents):
        try:
            write_control(folder / "tasks", tid)
        except OSError:
            if folder == CGROUP_ROOT or not (folder.parent / "tasks").exists():
                raise
            continue
        return


def _read(group: _Group) -> Counters:
    folder = group.folder
    if group.controller == MEMORY:
        if group.how == _V2:
            events = _fields(folder / "memory.events")
            return Counters(
                oom_kills=events.get("oom_kill"),
                limit_hits=events.get("max", 0),
                memory_peak=_number(folder / "memory.peak"),
            )
        control = _fields(folder / "memory.oom_control")
        return Counters(
            oom_kills=control.get("oom_kill"),
            limit_hits=_number(folder / "memory.failcnt"),
            memory_peak=_number(folder / "memory.max_usage_in_bytes"),
        )
    stat = _fields(folder / "cpu.stat")
    throttled = (
        stat.get("throttled_usec", 0) / 1e6
        if group.how == _V2
        else stat.get("throttled_time", 0) / 1e9
    )
    return Counters(
        oom_kills=None,
        periods=stat.get("nr_periods", 0),
        throttled_periods=stat.get("nr_throttled", 0),
        throttled_s=throttled,
    )


def _pids(folder: Path) -> list[int]:
    try:
        return [int(p) for p in (folder / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def _rmdir(folder: Path) -> None:
    """Remove an emptied v1 cgroup: what is left in it is killed, then bounded retries."""
    deadline = time.monotonic() + REMOVE_WAIT_SECONDS
    while True:
        try:
            folder.rmdir()
        except FileNotFoundError:
            return
        except OSError:
            for pid in _pids(folder):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)
            continue
        return


def remove_left(suffix: str) -> None:
    """Remove the v1 cgroups a run that died left (``CGROUP_PREFIX<suffix>-*``): its
    processes are killed first."""
    for controller in (MEMORY, CPU):
        where = _where(controller)
        if where.how != _V1 or where.parent is None:
            continue
        for folder in where.parent.glob(f"{CGROUP_PREFIX}{suffix}-*"):
            if folder.is_dir() and not folder.is_symlink():
                _rmdir(folder)
