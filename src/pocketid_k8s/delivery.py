"""Hand a secret to the user on standard output, and know whether it arrived.

``seal --print-key`` may make the only copy of a new key, so the file that
holds it sealed changes only after :func:`deliver` returns. Writing to a
pipe succeeds as soon as the bytes are in the pipe's buffer, even when the
reader then exits without reading them (``... --print-key | true``); so for
a pipe it waits until the reader has taken every byte, and fails when the
reader closed first (exit 1, like any output whose reader left). A regular
file is synced; a full disk or ``/dev/full`` fails (exit 74, an output
error). The secret itself never appears in an error message.
"""

from __future__ import annotations

import array
import errno
import fcntl
import os
import select
import stat
import sys
import termios
from typing import BinaryIO, Final

from pocketid_k8s.errors import StdoutError, UndeliveredError

__all__ = ["deliver"]

_POLL_MS: Final = 50


def deliver(secret: bytes, what: str, unchanged: str, stream: BinaryIO | None = None) -> None:
    """Write ``secret`` and a newline; raise :class:`UndeliveredError` when the reader left
    first, :class:`StdoutError` when stdout cannot be written.

    ``what`` names the secret and ``unchanged`` says what was therefore left
    as it was, for the message.
    """
    out = stream if stream is not None else sys.stdout.buffer
    try:
        out.write(secret + b"\n")
        out.flush()
        fd = _fileno(out)
        if fd is not None:
            _confirm(fd)
    except OSError as exc:
        _silence(out)
        left = exc.errno == errno.EPIPE
        reason = "the reader closed it before reading" if left else exc.strerror or "I/O error"
        error = UndeliveredError if left else StdoutError
        raise error(
            f"standard output: {what} could not be printed ({reason}); it was not kept, and "
            f"{unchanged}; fix: print it to a terminal or to a pipe or file that keeps it"
        ) from None


def _fileno(out: BinaryIO) -> int | None:
    try:
        return out.fileno()
    except (OSError, ValueError):  # an in-memory stream (tests): nothing more to confirm
        return None


def _confirm(fd: int) -> None:
    mode = os.fstat(fd).st_mode
    if stat.S_ISREG(mode):
        os.fsync(fd)
    elif stat.S_ISFIFO(mode):
        _wait_until_read(fd)


def _wait_until_read(fd: int) -> None:
    """Return once the pipe is empty; raise BrokenPipeError when its reader left first."""
    poller = select.poll()
    poller.register(fd, select.POLLERR | select.POLLHUP)
    while _unread(fd):
        for _, event in poller.poll(_POLL_MS):
            if event & (select.POLLERR | select.POLLHUP) and _unread(fd):
                raise BrokenPipeError(32, "the reader closed it before reading")


def _unread(fd: int) -> int:
    pending = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, pending)
    return pending[0]


def _silence(out: BinaryIO) -> None:
    """Point a failed stdout at /dev/null, so that exiting does not retry the write."""
    fd = _fileno(out)
    if fd is None:
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)
