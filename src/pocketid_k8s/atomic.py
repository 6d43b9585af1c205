"""All-or-nothing file writes.

New contents are written to temporary files beside their targets and synced;
only when every one is on disk are they renamed into place, with Ctrl-C and
SIGTERM held back for that moment. A failure (or Ctrl-C) before then removes
the temporary files and leaves every target as it was. A replaced file keeps
its permission bits.

:func:`completed` tells an interrupted command whether its change was already
in place, so that its message can say "every file is new" or "nothing was
changed" truthfully.
"""

from __future__ import annotations

import os
import secrets
import signal
import stat
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Final

from pocketid_k8s.errors import OutputError

__all__ = ["completed", "replace_files", "write_text"]

_DEFERRED_SIGNALS: Final = {signal.SIGINT, signal.SIGTERM}
_completed: list[int] = []
"""How many files each finished replace_files call changed in this process."""


def completed() -> int:
    """Files changed by finished writes in this process (0: nothing was changed)."""
    return sum(_completed)


def write_text(path: Path, text: str, before_commit: Callable[[], None] | None = None) -> None:
    """Write one file atomically (see :func:`replace_files` for ``before_commit``)."""
    replace_files({path: text}, before_commit=before_commit)


def replace_files(
    writes: Mapping[Path, str],
    deletes: Sequence[Path] = (),
    before_commit: Callable[[], None] | None = None,
) -> None:
    """Write every file in ``writes`` and remove ``deletes``: all of it, or nothing.

    ``before_commit`` runs when every new file is on disk and none is in place
    yet; if it raises, nothing changes (this is how ``seal --print-key`` makes
    sure the key reached the user before the file holding it changes).
    """
    token = secrets.token_hex(4)
    staged: list[tuple[Path, Path]] = []
    try:
        for target, text in writes.items():
            _make_parent(target)
            temp = target.with_name(f".{target.name}.{token}.tmp")
            # Recorded before it exists, so that Ctrl-C while it is written still removes it.
            staged.append((temp, target))
            _write_new(temp, text, _mode_of(target))
        if before_commit is not None:
            before_commit()
        with _signals_deferred():
            for temp, target in staged:
                os.replace(temp, target)
            staged.clear()
            for path in deletes:
                path.unlink(missing_ok=True)
            _completed.append(len(writes) + len(deletes))
    except OSError as exc:
        raise OutputError(
            f"{exc.filename or 'output'}: cannot be written ({exc.strerror}); nothing was "
            "changed; fix: check that the folder exists and is writable"
        ) from None
    finally:
        with _signals_deferred():
            for temp, _ in staged:
                with suppress(OSError):
                    temp.unlink()


def _mode_of(target: Path) -> int | None:
    """The permission bits of the file being replaced (None: a new file, umask decides)."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        return None


def _make_parent(target: Path) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise OutputError(
            f"{target.parent}: a file stands where a folder is needed; nothing was changed; "
            "fix: move that file away or write somewhere else"
        ) from None


def _write_new(path: Path, text: str, mode: int | None = None) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
        if mode is not None:
            os.fchmod(handle.fileno(), mode)
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
