"""Size limits, and reading with a cap (pipes and devices included).

A file's ``st_size`` is 0 for a pipe (``<(helm template ...)``) and for
devices such as ``/dev/zero``, so sizes are never trusted: every read asks for
one byte more than its limit and stops there.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Final

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_OBJECT_BYTES",
    "MAX_PEM_BYTES",
    "MAX_SITE_FILE_BYTES",
    "NotAFile",
    "TooLarge",
    "read_capped",
    "read_regular_capped",
    "read_stream_capped",
    "size_text",
]

MAX_OBJECT_BYTES: Final = 1024 * 1024
"""Kubernetes refuses larger objects: 1 MiB of data in a ConfigMap or Secret, about
1.5 MiB per object in etcd. Rendered and sealed files stay below it."""
MAX_CONFIG_BYTES: Final = MAX_OBJECT_BYTES
"""A site config larger than this could only render objects Kubernetes refuses."""
MAX_SITE_FILE_BYTES: Final = 2 * MAX_OBJECT_BYTES
"""A file in the app folder larger than this is not one pocketid-k8s wrote."""
MAX_PEM_BYTES: Final = 256 * 1024
"""A controller certificate is about 2 KiB; a chain of a few is still far below this."""


class TooLarge(Exception):
    """The input is larger than its limit; nothing past the limit was read."""


def read_capped(path: Path, limit: int) -> bytes:
    """The bytes of ``path``; raise :class:`TooLarge` after reading ``limit`` + 1 bytes."""
    with path.open("rb") as handle:
        return read_stream_capped(handle, limit)


def read_stream_capped(stream: BinaryIO, limit: int) -> bytes:
    """At most ``limit`` bytes of ``stream``; raise :class:`TooLarge` when there are more."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge
    return data


class NotAFile(Exception):
    """The path is a device, a pipe or a folder where a file of ours would be."""


def read_regular_capped(path: Path, limit: int) -> bytes:
    """Like :func:`read_capped`, for files in the output root: a device or pipe there (say a
    symlink to /dev/zero) raises :class:`NotAFile` instead of being read."""
    if path.exists() and not path.is_file():
        raise NotAFile
    return read_capped(path, limit)


def size_text(limit: int) -> str:
    """'1 MiB', '256 KiB': a limit as people say it."""
    if limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MiB"
    return f"{limit // 1024} KiB"
