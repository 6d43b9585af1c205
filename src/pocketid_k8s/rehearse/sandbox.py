"""A folder standing in for the container's file system, one pod instance at a time.

Each pod instance gets its own writable layer and its own emptyDirs; a
PersistentVolumeClaim is one folder shared by every instance that mounts it,
which is what survives a restart. Each mount point is a symbolic link inside
the layer to the folder that backs it, so that a relative path resolved from
the working directory lands where it would in the container. Secret and
ConfigMap volumes are written as files with their ``items`` and modes on
every start.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pocketid_k8s.rehearse.pod import Mount, Pod

__all__ = ["Layout", "Sandbox"]


@dataclass(frozen=True)
class Layout:
    """Where one pod instance's container paths are on this machine."""

    root: Path
    rootfs: Path
    mounts: tuple[tuple[Mount, Path], ...]
    working_dir: str

    def host(self, container_path: str) -> Path:
        """The folder or file on this machine that ``container_path`` stands for."""
        path = PurePosixPath("/") / container_path
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

    def __init__(self, root: Path, pod: Pod) -> None:
        self.root = root
        self.pod = pod
        self.claims = root / "claims"
        self.pods = root / "pods"

    def claim(self, name: str) -> Path:
        return self.claims / name

    def instance(self, name: str) -> Layout:
        """Lay out a new pod instance: fresh writable layer and emptyDirs, volumes as files."""
        root = self.pods / name
        if root.exists():
            shutil.rmtree(root)
        rootfs = root / "rootfs"
        rootfs.mkdir(parents=True)
        placed = []
        for mount in self.pod.mounts:
            folder = self.claim(mount.claim) if mount.persists else root / "volumes" / mount.volume
            folder.mkdir(parents=True, exist_ok=True)
            for relative, (data, mode) in mount.files.items():
                target = folder / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                target.chmod(mode & 0o777)
            placed.append((mount, folder))
        for mount, folder in sorted(placed, key=lambda placed: len(placed[0].path)):
            # The mount point inside the layer, so that relative paths reach the volume too.
            point = rootfs.joinpath(*PurePosixPath(mount.path).parts[1:])
            if point != rootfs and not point.exists():
                point.parent.mkdir(parents=True, exist_ok=True)
                point.symlink_to(folder, target_is_directory=True)
        layout = Layout(root, rootfs, tuple(placed), self.pod.working_dir)
        layout.cwd.mkdir(parents=True, exist_ok=True)
        layout.host("/tmp").mkdir(  # noqa: S108 - the container's /tmp, in the sandbox
            parents=True, exist_ok=True
        )
        return layout

    def wipe(self, name: str) -> None:
        """Drop a pod instance's writable layer and emptyDirs, as a replaced pod loses them."""
        shutil.rmtree(self.pods / name, ignore_errors=True)
