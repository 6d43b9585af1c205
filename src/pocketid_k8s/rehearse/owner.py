"""The sandbox folder's life: made where the pod's user can reach it, held, and removed.

A run holds an exclusive ``flock`` on :data:`LOCK` inside its sandbox for as long as it
lives; the kernel drops the lock when the process dies, however it dies. A later run
that can take the lock of a ``pocketid-rehearse-*`` folder knows its owner is gone: it
ends the processes that run left (found by their marker, :mod:`.tree`) and removes the
folder. Only real folders (never a symbolic link) with the name pattern, owned by this
user and not kept with ``--keep`` are touched.

The program may run as the pod's user (as root): the folder holding the sandbox must be
one that user can enter, and the program is copied into the sandbox, so that neither the
checkout's folder nor the binary's nor ``TMPDIR`` decides whether it can run.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from pocketid_k8s.errors import PocketIdK8sError
from pocketid_k8s.rehearse.identity import Identity
from pocketid_k8s.rehearse.limits import remove_left
from pocketid_k8s.rehearse.tree import CGROUP_PREFIX, cgroup_base, kill_marked

__all__ = ["PREFIX", "Owned", "SandboxPlaceError", "own_sandbox", "reachable", "sweep"]

PREFIX: Final = "pocketid-rehearse-"
LOCK: Final = ".owner.lock"
KEPT: Final = ".kept"
"""Written by ``--keep``: the folder is the user's to inspect and remove, never swept."""
UNLOCKED_AGE_SECONDS: Final = 3600.0
"""A folder with no lock file (made by a version before the lock, or a run killed between
making the folder and locking it) is swept once it is this old."""
FALLBACKS: Final = ("/tmp", "/var/tmp", "/dev/shm")  # noqa: S108 - where TMPDIR would be


class SandboxPlaceError(PocketIdK8sError):
    """No folder for the sandbox that the pod's user can reach (exit 2)."""


def reachable(folder: Path, user: Identity) -> bool:
    """Whether ``user`` can enter ``folder``: it and every folder above it searchable."""
    groups = {user.gid, *([user.fs_group] if user.fs_group is not None else [])}
    real = folder.resolve()
    for part in (real, *real.parents):
        try:
            info = part.stat()
        except OSError:
            return False
        if info.st_uid == user.uid:
            bit = stat.S_IXUSR
        elif info.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not info.st_mode & bit:
            return False
    return True


def _place(workdir: Path | None, user: Identity | None) -> tuple[Path, str]:
    """The folder to make the sandbox in (``workdir``, else TMPDIR), and a note when the
    pod's user cannot enter that one and another is used."""
    first = workdir if workdir is not None else Path(tempfile.gettempdir())
    what = (
        f"the folder {first}" if workdir is not None else f"the temporary folder {first} (TMPDIR)"
    )
    if user is None or reachable(first, user):
        return first, ""
    for candidate in map(Path, FALLBACKS):
        if candidate.is_dir() and os.access(candidate, os.W_OK) and reachable(candidate, user):
            return candidate, (
                f"{what} is closed to uid {user.uid}, the pod's user: the sandbox is in "
                f"{candidate} instead"
            )
    raise SandboxPlaceError(
        f"{what} is closed to uid {user.uid}, the pod's user, and so are "
        f"{', '.join(FALLBACKS)}: the program could not reach its sandbox; fix: set TMPDIR "
        f"to a folder that uid {user.uid} can enter (each folder above it mode o+x)"
    )


@dataclass
class Owned:
    """A sandbox folder this run holds."""

    root: Path
    fd: int
    notes: list[str] = field(default_factory=list)

    def release(self, keep: bool) -> None:
        """Remove the folder (or mark it kept), then drop the lock."""
        try:
            if keep:
                (self.root / KEPT).touch()
            else:
                shutil.rmtree(self.root, ignore_errors=True)
        finally:
            os.close(self.fd)

    def install(self, binary: Path) -> Path:
        """A copy of the program inside the sandbox, readable and runnable by anyone."""
        folder = self.root / "bin"
        folder.mkdir(mode=0o755, exist_ok=True)
        folder.chmod(0o755)
        target = folder / (binary.name or "pocket-id")
        try:
            shutil.copyfile(binary, target)
        except OSError as exc:
            raise SandboxPlaceError(
                f"cannot copy {binary} into the sandbox {self.root} ({exc.strerror}); fix: "
                "free some space there or set TMPDIR to a folder with room"
            ) from None
        target.chmod(0o755)
        return target


def own_sandbox(workdir: Path | None, user: Identity | None) -> Owned:
    """Sweep the sandboxes of dead runs, then make and lock this run's."""
    parent, note = _place(workdir, user)
    removed = sweep(parent)
    root = Path(tempfile.mkdtemp(prefix=PREFIX, dir=parent))
    fd = os.open(root / LOCK, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    if user is not None:
        root.chmod(0o755)
    owned = Owned(root, fd)
    if note:
        owned.notes.append(note)
    if removed:
        owned.notes.append(
            f"removed {len(removed)} sandbox(es) left in {parent} by runs that died: "
            + "; ".join(removed)
        )
    return owned


def sweep(parent: Path) -> list[str]:
    """Remove the sandboxes in ``parent`` whose owner is gone; what was removed."""
    removed: list[str] = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    for entry in entries:
        if entry.name.startswith(PREFIX) and (what := _sweep_one(Path(entry.path))):
            removed.append(what)
    return removed


def _ours(root: Path) -> os.stat_result | None:
    """The folder's status if it is a real folder of this user not kept by --keep."""
    try:
        info = root.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or (root / KEPT).exists():
        return None
    return info


def _sweep_one(root: Path) -> str:
    info = _ours(root)
    if info is None:
        return ""
    try:
        fd = os.open(root / LOCK, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        if time.time() - info.st_mtime < UNLOCKED_AGE_SECONDS:
            return ""
        fd = -1
    except OSError:
        return ""
    try:
        if fd >= 0:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return ""  # its owner is alive
        ended = kill_marked(f"{root}:")
        _remove_cgroups(root.name.removeprefix(PREFIX))
        shutil.rmtree(root, ignore_errors=True)
    finally:
        if fd >= 0:
            os.close(fd)
    return f"{root.name}" + (f" ({ended} process(es) it left were ended)" if ended else "")


def _remove_cgroups(suffix: str) -> None:
    remove_left(suffix)  # the cgroup v1 children that held its limits
    base = cgroup_base()
    if base is None:
        return
    for folder in base.glob(f"{CGROUP_PREFIX}{suffix}-*"):
        if folder.is_symlink() or not folder.is_dir():
            continue
        with contextlib.suppress(OSError):
            (folder / "cgroup.kill").write_text("1")
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            try:
                folder.rmdir()
                break
            except OSError:
                time.sleep(0.02)
