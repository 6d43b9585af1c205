"""A folder standing in for the container's file system, one pod instance at a time.

Each pod instance gets its own writable layer and its own emptyDirs; a
PersistentVolumeClaim is one folder shared by every instance that mounts it,
which is what survives a restart. Each mount point is a symbolic link inside
the layer to the folder that backs it (its ``subPath`` when it has one, made when
missing as the kubelet makes it), so that a relative path resolved from the working
directory lands where it would in the container; with :attr:`Sandbox.bind_sub_paths` (the
instance runs in a mount namespace of its own, :mod:`.mountns`) a ``subPath`` mount point is
an empty file or folder in the layer instead, which the launcher bind-mounts the subPath
onto, as the kubelet does (no link a program can read or replace). Secret and
ConfigMap volumes are written as files with their ``items`` and modes on
every start.
"""

from __future__ import annotations

import os
import posixpath
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pocketid_k8s.contract import pocketid
from pocketid_k8s.rehearse.identity import chown_tree, give_group
from pocketid_k8s.rehearse.pod import Mount, Pod, PodError

__all__ = ["Layout", "Sandbox", "inside"]


def inside(root: Path, target: Path, what: str) -> Path:
    """``target``, or a PodError if it resolves outside ``root`` (the backstop: nothing the
    manifests say is written outside the sandbox)."""
    if not target.resolve().is_relative_to(root.resolve()):
        raise PodError(
            f"{what} would be outside the rehearsal's sandbox; fix: write container paths "
            "without '..' parts"
        )
    return target


@dataclass(frozen=True)
class Layout:
    """Where one pod instance's container paths are on this machine."""

    root: Path
    rootfs: Path
    mounts: tuple[tuple[Mount, Path], ...]
    working_dir: str
    binds: tuple[tuple[Path, Path], ...] = ()
    """(what, onto) for each subPath mount to bind in the instance's mount namespace."""

    def host(self, container_path: str) -> Path:
        """The folder or file on this machine that ``container_path`` stands for."""
        # As in the container, '..' at the root stays at the root.
        path = PurePosixPath(posixpath.normpath("/" + container_path.lstrip("/")))
        best: tuple[Mount, Path] | None = None
        for mount, folder in self.mounts:
            inside = path == PurePosixPath(mount.path) or PurePosixPath(mount.path) in path.parents
            if inside and (best is None or len(mount.path) > len(best[0].path)):
                best = (mount, folder)
        if best is None:
            return self.rootfs.joinpath(*path.parts[1:])
        relative = path.relative_to(best[0].path)
        return best[1].joinpath(*relative.parts)

    @property
    def cwd(self) -> Path:
        return self.host(self.working_dir)


class Sandbox:
    """The rehearsal's folder: ``claims/`` (volumes that persist) and ``pods/`` (one per start)."""

    def __init__(self, root: Path, pod: Pod, *, play_user: bool | None = None) -> None:
        self.root = root
        self.pod = pod
        self.claims = root / "claims"
        self.pods = root / "pods"
        self.play_user = os.geteuid() == 0 if play_user is None else play_user
        """Run as the pod's user with the pod's ownerships (only root can)."""
        self.bind_sub_paths = False
        """Lay subPath mount points out for bind mounts (:attr:`Layout.binds`), not links."""
        if self.play_user:
            root.chmod(0o755)

    def claim(self, name: str) -> Path:
        return self.claims / name

    def instance(self, name: str) -> Layout:
        """Lay out a new pod instance: fresh writable layer and emptyDirs, volumes as files."""
        root = self.pods / name
        if root.exists():
            shutil.rmtree(root)
        rootfs = root / "rootfs"
        rootfs.mkdir(parents=True)
        for folder in (self.pods, root, rootfs):
            folder.chmod(0o755)
        placed = []
        for mount in self.pod.mounts:
            folder = self.claim(mount.claim) if mount.persists else root / "volumes" / mount.volume
            inside(self.root, folder, f"volume {mount.volume!r}").mkdir(parents=True, exist_ok=True)
            for relative, (data, mode) in mount.files.items():
                target = inside(self.root, folder / relative, f"{mount.volume} file {relative!r}")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                target.chmod(mode & 0o777)
            if self.play_user:
                self._own(mount, folder)
            placed.append((mount, self._sub_path(mount, folder)))
        binds = []
        for mount, folder in sorted(placed, key=lambda placed: len(placed[0].path)):
            # The mount point inside the layer, so that relative paths reach the volume too.
            point = rootfs.joinpath(*PurePosixPath(mount.path).parts[1:])
            inside(self.root, point, f"mountPath {mount.path!r}")
            if point != rootfs and not point.exists():
                point.parent.mkdir(parents=True, exist_ok=True)
                if mount.sub_path and self.bind_sub_paths:
                    # As the runtime: an empty file or folder, the subPath bound onto it.
                    if folder.is_dir():
                        point.mkdir()
                    else:
                        point.touch()
                    binds.append((folder, point))
                else:
                    point.symlink_to(folder, target_is_directory=True)
        layout = Layout(root, rootfs, tuple(placed), self.pod.working_dir, tuple(binds))
        inside(self.root, layout.cwd, f"workingDir {self.pod.working_dir!r}").mkdir(
            parents=True, exist_ok=True
        )
        tmp = layout.host("/tmp")  # noqa: S108 - the container's /tmp, in the sandbox
        if not tmp.exists() and not self.pod.identity.read_only_root:
            tmp.mkdir(parents=True)
        if self.play_user:
            self._layer(layout)
        return layout

    def _sub_path(self, mount: Mount, folder: Path) -> Path:
        """What the mount shows of the volume at ``folder``: the whole of it, or its subPath
        (a file, or a folder the kubelet makes when missing, with the volume's mode and
        group)."""
        if not mount.sub_path:
            return folder
        target = inside(self.root, folder / mount.sub_path, f"{mount.volume} subPath")
        if not target.exists():
            made = folder
            for part in PurePosixPath(mount.sub_path).parts:
                made = made / part
                if not made.exists():
                    made.mkdir()
                    volume = folder.stat()
                    made.chmod(volume.st_mode & 0o7777)
                    if self.play_user:
                        os.chown(made, -1, volume.st_gid)
        return target

    def _own(self, mount: Mount, folder: Path) -> None:
        """The kubelet's ownership of a volume: emptyDir 0777; fsGroup on the others."""
        if self.claims in folder.parents:
            self.claims.chmod(0o755)
        group = self.pod.identity.fs_group
        if mount.source == "emptyDir":
            folder.chmod(0o777)
        elif group is not None and mount.files:
            # Secret and ConfigMap files keep their modes; only their group is fsGroup.
            for path in [folder, *folder.rglob("*")]:
                os.chown(path, -1, group)
        elif group is not None:
            give_group(folder, group)

    def _layer(self, layout: Layout) -> None:
        """The image's layer: root-owned, /tmp world-writable unless the root file system
        is read-only; the entrypoint's chown of the data folder when started as root."""
        for folder in [layout.rootfs, *layout.rootfs.rglob("*")]:
            if folder.is_dir() and not folder.is_symlink():
                folder.chmod(0o755)
        tmp = layout.rootfs / "tmp"
        if tmp.is_dir() and not tmp.is_symlink():
            tmp.chmod(0o1777)
        identity = self.pod.identity
        if identity.entrypoint_chowns:
            data = layout.host(pocketid.DATA_DIR)
            data.mkdir(parents=True, exist_ok=True)
            chown_tree(data, identity.uid, identity.gid)

    def wipe(self, name: str) -> None:
        """Drop a pod instance's writable layer and emptyDirs, as a replaced pod loses them."""
        shutil.rmtree(self.pods / name, ignore_errors=True)
