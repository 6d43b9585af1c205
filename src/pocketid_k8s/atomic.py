"""All-or-nothing file writes.

New contents are written to temporary files beside their targets and synced;
only when every one is on disk are they renamed into place, with Ctrl-C and
SIGTERM held back for that moment. A failure before then removes the
temporary files and leaves every target as it was.
"""

from __future__ import annotations

import os
import secrets
import signal
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Final

from pocketid_k8s.errors import OutputError

__all__ = ["replace_files", "write_text"]

_DEFERRED_SIGNALS: Final = {signal.SIGINT, signal.SIGTERM}


def write_text(path: Path, text: str) -> None:
    """Write one file atomically."""
    replace_files({path: text})


def replace_files(writes: Mapping[Path, str], deletes: Sequence[Path] = ()) -> None:
    """Write every file in ``writes`` and remove ``deletes``: all of it, or nothing."""
    token = secrets.token_hex(4)
    staged: list[tuple[Path, Path]] = []
    try:
        for target, text in writes.items():
            _make_parent(target)
            temp = target.with_name(f".{target.name}.{token}.tmp")
            _write_new(temp, text)
            staged.append((temp, target))
        with _signals_deferred():
            for temp, target in staged:
                os.replace(temp, target)
            staged.clear()
            for path in deletes:
                path.unlink(missing_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{exc.filename or 'output'}: cannot be written ({exc.strerror}); nothing was "
            "changed; fix: check that the folder exists and is writable"
        ) from None
    finally:
        for temp, _ in staged:
            with suppress(OSError):
                temp.unlink()


def _make_parent(target: Path) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise OutputError(
            f"{target.parent}: a file stands where a folder is needed; nothing was changed; "
            "fix: move that file away or write somewhere else"
        ) from None


def _write_new(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back while files are renamed into place."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
