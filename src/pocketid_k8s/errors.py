"""The project's own exception tree.

Every error a user can cause is a :class:`PocketIdK8sError`; the command line
prints its message (never a traceback) and exits with its ``exit_code``.
Third-party exceptions are translated at the boundary where they occur, so no
caller ever has to know which library raised them.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "BundleError",
    "ConfigError",
    "ExitCode",
    "OutputError",
    "PocketIdK8sError",
    "RefusedError",
    "SealedKeyError",
    "StdoutError",
    "UndeliveredError",
]


class ExitCode(IntEnum):
    """Documented exit codes of every command."""

    OK = 0
    FAILED = 1
    """A check found a problem: stale files, findings at error level, a refused change."""
    USAGE = 2
    """Bad input: usage, config, unreadable or invalid files. Nothing was written."""
    INTERNAL = 70
    """A bug in pocketid-k8s itself (EX_SOFTWARE); please report it."""
    OUTPUT = 74
    """Standard output could not be written (EX_IOERR): a full disk or device, an I/O error.
    The result was not delivered; files the command wrote are complete."""
    INTERRUPTED = 130


_MAX_MESSAGE = 2000


class PocketIdK8sError(Exception):
    """Base of every error pocketid-k8s raises on purpose."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str) -> None:
        if len(message) > _MAX_MESSAGE:
            message = message[: _MAX_MESSAGE - 15] + " ... (truncated)"
        super().__init__(message)

    @property
    def message(self) -> str:
        return str(self.args[0])


class ConfigError(PocketIdK8sError):
    """The site config file is missing, unreadable, not TOML or invalid."""


class BundleError(PocketIdK8sError):
    """The bundle cannot be written, or an existing file in it cannot be kept safely."""


class OutputError(PocketIdK8sError):
    """A file cannot be written; nothing was changed."""


class RefusedError(PocketIdK8sError):
    """A change was refused to protect the user's data; nothing was changed."""

    exit_code = ExitCode.FAILED


class SealedKeyError(BundleError):
    """A file that may hold the sealed encryption key cannot be recognised."""


class UndeliveredError(PocketIdK8sError):
    """Standard output's reader left (a closed pipe) before the output arrived: the result
    did not reach it, so the command cannot claim success (exit 1, as for every command)."""

    exit_code = ExitCode.FAILED


class StdoutError(PocketIdK8sError):
    """Standard output could not be written (a full disk or device, an I/O error)."""

    exit_code = ExitCode.OUTPUT
