"""A read-only root file system as the container runtime makes one: a mount namespace per
instance in which the container's root is mounted read-only.

With ``readOnlyRootFilesystem: true`` the runtime mounts the container's root read-only and
its volumes writable on top, so a write anywhere else fails with EROFS. Played here as root:
each instance (and each exec probe's command) starts through this file run as a script, which
makes a mount namespace of its own (``unshare(CLONE_NEWNS)``, propagation private, so nothing
leaks to the machine), binds the sandbox's ``rootfs`` folder onto itself read-only (the
volumes, reached through their mount points, stay writable), enters the working directory,
binds each ``subPath`` onto its mount point (an empty file or folder in the layer, as the runtime
binds it), drops to the pod's user and runs the program in its place (``execve``: the same process).
The namespace ends with its last process. Without root, or where the kernel refuses, the
caller keeps the approximation with permissions and says so.

The script imports nothing but the standard library: it runs as ``python -I -S THIS PLAN --
ARGV`` before the program, in a few tens of milliseconds.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Final

__all__ = ["Plan", "available", "command"]

CLONE_NEWNS: Final = 0x00020000
MS_RDONLY: Final = 0x1
MS_REMOUNT: Final = 0x20
MS_BIND: Final = 0x1000
MS_REC: Final = 0x4000
MS_PRIVATE: Final = 0x40000
FAILED: Final = 111
"""The launcher's exit code when the namespace or a mount could not be made (it then says why
on stderr, which is the program's log)."""
CHECK_SECONDS: Final = 10.0
REPORT_BYTES: Final = 512


@dataclass(frozen=True)
class Plan:
    """What the launcher does before it runs the program."""

    read_only: str
    """The folder that stands for the container's root, bound read-only onto itself."""
    cwd: str
    uid: int | None = None
    gid: int | None = None
    groups: list[int] = field(default_factory=list)
    binds: list[tuple[str, str]] = field(default_factory=list)
    """(what, onto): subPath mounts, each bound onto its mount point in the namespace (over
    the read-only root, writable as a volume is)."""
    report: int | None = None
    """A descriptor to write why the program could not be run (errno, then text) before
    exiting: closed unwritten when it runs."""


def command(plan: Plan, argv: list[str]) -> list[str]:
    """``argv`` started through the launcher with ``plan``."""
    return [sys.executable, "-I", "-S", __file__, json.dumps(asdict(plan)), "--", *argv]


Popen = Callable[[list[str], tuple[int, ...]], "subprocess.Popen[bytes]"]
"""Starts a command line, passing it the given descriptors."""


def start(plan: Plan, argv: list[str], popen: Popen) -> subprocess.Popen[bytes]:
    """``argv`` started through the launcher, or the OSError that running it met (as
    ``subprocess`` raises one for a program it cannot run): the launcher reports it on a
    pipe that closes unwritten once the program runs."""
    read, write = os.pipe()
    try:
        process = popen(command(replace(plan, report=write), argv), (write,))
    except BaseException:
        os.close(read)
        raise
    finally:
        os.close(write)
    with os.fdopen(read, "rb") as pipe:
        said = pipe.read(REPORT_BYTES)
    if said:
        process.wait()
        number, _, text = said.decode("utf-8", "replace").partition(":")
        raise OSError(int(number) if number.isascii() and number.isdigit() else errno.EIO, text)
    return process


def available(folder: str) -> str | None:
    """None when a read-only root can be played here (a write under a read-only bind of a
    scratch folder inside ``folder`` fails with EROFS), else why not."""
    if os.geteuid() != 0:
        return "not root: no mount namespace"
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        probe = "import pathlib,sys; pathlib.Path(sys.argv[1]).write_text('x')"
        target = os.path.join(scratch, "written")
        try:
            done = subprocess.run(
                command(Plan(scratch, scratch), [sys.executable, "-I", "-S", "-c", probe, target]),
                capture_output=True,
                text=True,
                timeout=CHECK_SECONDS,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"the mount namespace could not be tried ({exc})"
        if done.returncode == FAILED:
            return done.stderr.strip().splitlines()[-1][:200] if done.stderr.strip() else "refused"
        if "Read-only file system" not in done.stderr or os.path.exists(target):
            return "a write under the read-only mount did not fail with EROFS"
    return None


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _call(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _mount(libc: ctypes.CDLL, source: str | None, target: str, flags: int, what: str) -> None:
    _call(
        libc.mount(None if source is None else source.encode(), target.encode(), None, flags, None),
        what,
    )


def _enter(plan: Plan) -> None:
    """The mount namespace, the read-only root and the binds; the working directory."""
    libc = _libc()
    _call(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _mount(libc, None, "/", MS_REC | MS_PRIVATE, "propagation private")
    _mount(libc, plan.read_only, plan.read_only, MS_BIND | MS_REC, "bind the root")
    for what, onto in plan.binds:
        _mount(libc, what, onto, MS_BIND, f"bind the subPath onto {onto}")
    _mount(
        libc, None, plan.read_only, MS_REMOUNT | MS_BIND | MS_RDONLY, "remount the root read-only"
    )
    os.chdir(plan.cwd)  # after the mounts: a folder entered before stays on the writable one


def main(args: list[str]) -> int:
    """``PLAN -- ARGV``: enter the plan, then become ARGV (never returns on success)."""
    if len(args) < 3 or args[1] != "--":
        print("usage: mountns.py PLAN -- ARGV...", file=sys.stderr)
        return FAILED
    raw = json.loads(args[0])
    plan = Plan(**raw)
    try:
        _enter(plan)
    except OSError as exc:
        print(f"rehearse: read-only root not made: {exc.strerror}", file=sys.stderr)
        return FAILED
    if plan.gid is not None:
        os.setgroups(plan.groups)
        os.setgid(plan.gid)
    if plan.uid is not None:
        os.setuid(plan.uid)
    argv = args[2:]
    if plan.report is not None:
        os.set_inheritable(plan.report, False)  # closed by a successful exec
    try:
        os.execvp(argv[0], argv)  # noqa: S606 - a bare name on PATH, as the runtime finds it
    except OSError as exc:
        if plan.report is not None:
            os.write(plan.report, f"{exc.errno}:{exc.strerror}".encode()[:REPORT_BYTES])
        print(f"rehearse: cannot run {argv[0]}: {exc.strerror}", file=sys.stderr)
        return 126 if exc.errno == errno.EACCES else 127
    return FAILED  # not reached: execv returns only by raising


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
