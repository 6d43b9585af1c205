"""Unpack an image's layers into a folder, safely: nothing written outside it, ever.

Python's ``tarfile`` with the ``data`` filter is the base: it refuses absolute
and ``..`` paths, links that resolve outside the target (through any symlink
already on disk) and device files, and drops setuid bits. On top of it, as an
image's root file system needs:

- an absolute symlink (``/etc/localtime -> /usr/share/zoneinfo/UTC``) means the
  image's root, so it is rewritten relative to its own folder before the
  filter sees it;
- OCI whiteouts: ``.wh.NAME`` removes NAME from the layers below and
  ``.wh..wh..opq`` empties its folder of what the layers below put there;
- an entry replaces what lower layers had at its path (a file over a symlink
  replaces the link; it is never written through it);
- device nodes, FIFOs and other special files are skipped and counted;
- caps: bytes of file content and number of entries per image, and the size of
  a tar's own extended headers (which ``tarfile`` reads into memory);
- gzip and uncompressed layers (zstd is refused with a clear message: no zstd
  library is a dependency).
"""

from __future__ import annotations

import gzip
import os
import posixpath
import shutil
import stat
import tarfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final, cast

from pocketid_k8s.errors import PocketIdK8sError

__all__ = ["LayerError", "UnpackLimits", "Unpacked", "unpack"]

MIB: Final = 1024 * 1024
WHITEOUT: Final = ".wh."
OPAQUE: Final = ".wh..wh..opq"
GZIP_MAGIC: Final = b"\x1f\x8b"
ZSTD_MAGIC: Final = b"\x28\xb5\x2f\xfd"
_HEADER_TYPES: Final = frozenset(
    {tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE, *tarfile.GNU_TYPES}
)


class LayerError(PocketIdK8sError):
    """A layer cannot be unpacked safely (exit 2); nothing was written outside the target."""


@dataclass(frozen=True)
class UnpackLimits:
    content: int = 4096 * MIB
    """Bytes of file content in all layers together (a tar bomb stops here)."""
    entries: int = 200_000
    header: int = MIB
    """One pax or GNU long-name header (tarfile keeps it in memory)."""


@dataclass
class Unpacked:
    skipped: list[str] = field(default_factory=list)
    """Special files not created (device nodes, FIFOs)."""
    content: int = 0
    entries: int = 0


class _Stop(Exception):
    """Raised from inside tarfile's reading to stop a layer (translated to LayerError)."""


class _Unsafe(Exception):
    """An entry that would reach outside the target (translated to LayerError)."""


class _CappedReader:
    """A file object that refuses to give more than ``cap`` bytes in all."""

    def __init__(self, raw: IO[bytes], cap: int) -> None:
        self.raw = raw
        self.left = cap

    def read(self, size: int = -1) -> bytes:
        if size < 0 or size > self.left + 1:
            size = self.left + 1
        data = self.raw.read(size)
        self.left -= len(data)
        if self.left < 0:
            raise _Stop("its content is larger than the cap")
        return data


def _header_capped(limit: int) -> type[tarfile.TarInfo]:
    class Capped(tarfile.TarInfo):
        def _proc_member(self, tar: tarfile.TarFile) -> tarfile.TarInfo:
            if self.type in _HEADER_TYPES and self.size > limit:
                raise _Stop(f"an extended tar header of {self.size} bytes")
            return super()._proc_member(tar)  # type: ignore[misc, no-any-return]

    return Capped


def _within(root: Path, relative: str) -> str:
    """``relative`` (a path in the layer) as a clean relative path inside root, or ''."""
    parts: list[str] = []
    for part in relative.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def _absolute_link(member: tarfile.TarInfo) -> None:
    """An absolute symlink target is the image's root: make it relative to the link's folder."""
    if member.issym() and member.linkname.startswith("/"):
        folder = posixpath.dirname(_within(Path(), member.name))
        target = _within(Path(), member.linkname)
        member.linkname = posixpath.relpath(target or ".", folder or ".")


def _remove(path: Path) -> None:
    """Remove what is at ``path`` (not following a symlink there)."""
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path)


def _inside(root: Path, path: Path) -> bool:
    """Whether ``path``'s folder resolves inside ``root`` (its last part is not followed)."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path.parent)
    return real == real_root or real.startswith(real_root + os.sep)


def _open_layer(path: Path, media_type: str) -> IO[bytes]:
    with path.open("rb") as probe:
        magic = probe.read(4)
    if magic.startswith(ZSTD_MAGIC) or "zstd" in media_type:
        raise LayerError(
            f"layer {path.name[:19]}: zstd-compressed, and no zstd library is installed; fix: "
            "use a tag pushed with gzip layers (the default of docker and buildkit)"
        )
    if magic.startswith(GZIP_MAGIC):
        return gzip.GzipFile(path, mode="rb")  # type: ignore[return-value]
    return path.open("rb")


def unpack(
    layers: Iterable[tuple[Path, str]], target: Path, limits: UnpackLimits | None = None
) -> Unpacked:
    """Apply each (layer file, media type), lowest first, onto ``target`` (an existing folder)."""
    limits = limits or UnpackLimits()
    done = Unpacked()
    for number, (path, media_type) in enumerate(layers, 1):
        try:
            _apply(path, media_type, target, limits, done)
        except _Unsafe as exc:
            raise LayerError(
                f"layer {number}: {exc}; fix: this image cannot be unpacked safely: rehearse "
                "the official image, or one built from it"
            ) from None
        except _Stop as exc:
            raise LayerError(
                f"layer {number}: {exc}, more than this tool unpacks; fix: check that the "
                "reference names a Pocket-ID image"
            ) from None
        except (tarfile.TarError, EOFError, KeyError, zlib.error, gzip.BadGzipFile) as exc:
            raise LayerError(
                f"layer {number}: not a readable tar ({str(exc)[:200]}); fix: check that the "
                "reference names a Linux container image"
            ) from None
        except OSError as exc:
            raise LayerError(
                f"layer {number}: cannot unpack into {target} ({exc.strerror or exc}); fix: "
                "check the disk space and that the temporary folder is writable"
            ) from None
    return done


def _apply(path: Path, media_type: str, target: Path, limits: UnpackLimits, done: Unpacked) -> None:
    ours: set[str] = set()
    """Paths this layer created: an opaque whiteout keeps them."""
    opaque: list[str] = []
    stream = _open_layer(path, media_type)
    try:
        capped = _CappedReader(stream, limits.content + 1024 * limits.entries + 64 * MIB)
        with tarfile.open(
            fileobj=cast("IO[bytes]", capped), mode="r|", tarinfo=_header_capped(limits.header)
        ) as tar:
            for member in tar:
                done.entries += 1
                if done.entries > limits.entries:
                    raise _Stop(f"more than {limits.entries} entries")
                name = _within(target, member.name)
                base, folder = posixpath.basename(name), posixpath.dirname(name)
                if not name:
                    continue
                if base == OPAQUE:
                    opaque.append(folder)
                elif base.startswith(WHITEOUT):
                    gone = target / folder / base[len(WHITEOUT) :]
                    if _inside(target, gone) and os.path.lexists(gone):
                        _remove(gone)
                elif not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
                    done.skipped.append(name)  # device nodes, FIFOs and the like
                else:
                    _extract(tar, member, name, target, limits, done)
                    ours.add(name)
    finally:
        stream.close()
    for folder in opaque:
        place = target / folder
        if not _inside(target, place / "x") or not place.is_dir() or place.is_symlink():
            continue
        for child in place.iterdir():
            relative = f"{folder}/{child.name}" if folder else child.name
            if relative not in ours and not any(p.startswith(relative + "/") for p in ours):
                _remove(child)


def _extract(
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    name: str,
    target: Path,
    limits: UnpackLimits,
    done: Unpacked,
) -> None:
    """One file, folder or link, in place of whatever lower layers had at its path."""
    if member.isreg():
        done.content += member.size
        if done.content > limits.content:
            raise _Stop(f"more than {limits.content // MIB} MiB of files")
    _absolute_link(member)
    if member.islnk():
        member.linkname = _within(target, member.linkname)
        source = target / member.linkname
        if not member.linkname or not source.is_file() or not _inside(target, source):
            raise _Unsafe(f"{name[:200]!r} is a hard link to {member.linkname[:200]!r}, not a file")
    member.name = name
    try:
        safe = tarfile.data_filter(member, str(target))
    except tarfile.FilterError as exc:
        raise _Unsafe(f"{name[:200]!r}: {exc}") from None
    if safe.isdir():
        # The data filter leaves a folder's mode out; keep it, without write for others.
        safe = safe.replace(mode=(member.mode & 0o755) | stat.S_IRWXU, deep=False)
    here = target / name
    if not _inside(target, here):
        raise _Unsafe(f"{name[:200]!r} would be written outside the image's root")
    parent = here.parent
    while not os.path.lexists(parent):
        parent = parent.parent
    if not parent.is_dir():
        raise _Unsafe(f"{name[:200]!r}: its folder {parent.name!r} is a file or a dangling link")
    if os.path.lexists(here) and not (safe.isdir() and here.is_dir() and not here.is_symlink()):
        _remove(here)
    tar.extract(safe, str(target), set_attrs=True, numeric_owner=True, filter="fully_trusted")
    if safe.isdir():  # extract() leaves a folder's owner and mode to extractall(): set them here
        tar.chown(safe, str(here), numeric_owner=True)
        tar.chmod(safe, str(here))
