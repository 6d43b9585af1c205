"""Who the program runs as, and who owns what in its sandbox, as in the pod.

The container's user is ``runAsUser`` (container, else pod). Without one the
image runs as root and its entrypoint drops to PUID:PGID (1000) after creating
and chowning the data folder; the distroless variant runs as 65532 with no
entrypoint. ``fsGroup`` is a supplementary group, and the kubelet gives it the
volumes: group-owned, group-writable, setgid directories. A fresh volume's root
is root-owned 0755 (an ext4 block volume such as Longhorn's).

Only root can play another user; otherwise the program runs as you, and the
rehearsal says what it could not play.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pocketid_k8s.check.context import Workload
from pocketid_k8s.contract import pocketid

__all__ = ["Identity", "give_group", "identity_of"]


@dataclass(frozen=True)
class Identity:
    uid: int
    gid: int
    fs_group: int | None
    entrypoint_chowns: bool
    """Started as root, the image's entrypoint chowns the data folder and drops to uid/gid."""
    read_only_root: bool

    def describe(self) -> str:
        who = f"uid {self.uid}, gid {self.gid}"
        if self.fs_group is not None:
            who += f", fsGroup {self.fs_group}"
        if self.entrypoint_chowns:
            who += " (as the image's entrypoint drops to, having chowned the data folder)"
        return who


def identity_of(workload: Workload, env: dict[str, str]) -> Identity:
    pod_context = workload.pod.get("securityContext") or {}
    container_context = workload.container.get("securityContext") or {}

    def pick(key: str) -> int | None:
        value = container_context.get(key, pod_context.get(key))
        return value if isinstance(value, int) else None

    image = workload.pocket_id_image
    distroless = image is not None and image.distroless
    uid, gid = pick("runAsUser"), pick("runAsGroup")
    entrypoint = uid in (None, 0) and not distroless
    default = pocketid.DISTROLESS_USER if distroless else pocketid.IMAGE_USER
    if entrypoint:
        uid = _number(env.get(pocketid.PUID_ENV), pocketid.IMAGE_USER)
        gid = _number(env.get(pocketid.PGID_ENV), pocketid.IMAGE_USER)
    fs_group = pick("fsGroup")
    return Identity(
        uid=default if uid is None else uid,
        gid=(default if uid is None else uid) if gid is None else gid,
        fs_group=fs_group,
        entrypoint_chowns=entrypoint,
        read_only_root=bool(container_context.get("readOnlyRootFilesystem")),
    )


def _number(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


def give_group(folder: Path, group: int) -> None:
    """What the kubelet does to a volume for ``fsGroup``: group-owned, group rw, setgid dirs."""
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, -1, group, follow_symlinks=False)
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.stat().st_mode) | stat.S_IRGRP | stat.S_IWGRP
        if path.is_dir():
            mode |= stat.S_IXGRP | stat.S_ISGID
        path.chmod(mode)


def chown_tree(folder: Path, uid: int, gid: int) -> None:
    """What the image's entrypoint does to the data folder before it drops privileges."""
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, uid, gid, follow_symlinks=False)


def popen_as(
    user: Identity | None,
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    stdout: int | IO[bytes],
    fds: tuple[int, ...] = (),
) -> subprocess.Popen[bytes]:
    """Start ``argv`` as a container's process: in a session of its own, as ``user`` (its uid,
    gid and fsGroup as the one supplementary group; None: as this process), stderr joined to
    ``stdout``, nothing on stdin."""
    return subprocess.Popen(
        argv,
        pass_fds=fds,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        user=None if user is None else user.uid,
        group=None if user is None else user.gid,
        extra_groups=None if user is None else [g for g in [user.fs_group] if g is not None],
    )
