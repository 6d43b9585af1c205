"""``rehearse``: run Pocket-ID as the rendered pod would, with no cluster.

The project ships no Pocket-ID: the program is the one in the image the
Deployment names (or ``--image``), pulled by :mod:`.registry`, unpacked by
:mod:`.layers` and resolved to its command by :mod:`.image`; or the user's
release binary (``--binary`` or ``POCKET_ID_BINARY``). Modules: :mod:`.pod` (the pod from the
manifests), :mod:`.sandbox` (its file system), :mod:`.paths` (path variables
moved into it), :mod:`.database` (SQLite only: PostgreSQL is refused),
:mod:`.process` (one run of the program), :mod:`.log` (its output, bounded),
:mod:`.probes`, :mod:`.run` (the steps), :mod:`.login` (``--login``: TLS front,
software passkey, OIDC client) and :mod:`.output`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from pocketid_k8s.contract import api
from pocketid_k8s.errors import ExitCode, PocketIdK8sError
from pocketid_k8s.rehearse.pod import PodError
from pocketid_k8s.rehearse.run import Options, Rehearsal, rehearse

__all__ = [
    "BINARY_ENV",
    "NoBinaryError",
    "Options",
    "PodError",
    "Rehearsal",
    "find_binary",
    "rehearse",
]

BINARY_ENV: Final = "POCKET_ID_BINARY"


class NoBinaryError(PocketIdK8sError):
    """No runnable Pocket-ID binary was named: the rehearsal cannot run."""

    exit_code = ExitCode.USAGE


def find_binary(given: Path | None) -> Path:
    """The binary from ``--binary`` or ``$POCKET_ID_BINARY``, checked to be an executable file."""
    named = given if given is not None else os.environ.get(BINARY_ENV)
    where = "--binary" if given is not None else BINARY_ENV
    get = (
        f"download {api.RELEASE_ASSETS[0]} (or {api.RELEASE_ASSETS[1]}) of your image's version "
        f"from {api.RELEASES}, "
        f"chmod +x it, and pass --binary PATH or set {BINARY_ENV}"
    )
    if not named:
        raise NoBinaryError(f"no Pocket-ID binary to rehearse with; fix: {get}")
    path = Path(named)
    if path.is_dir():
        raise NoBinaryError(
            f"{where} {path}: a folder, not the program; fix: name the pocket-id binary "
            f"itself (e.g. {path / api.RELEASE_ASSETS[0]})"
        )
    if not path.is_file():
        raise NoBinaryError(f"{where} {path}: no such file; fix: {get}")
    if not os.access(path, os.X_OK):
        raise NoBinaryError(f"{where} {path}: not executable; fix: chmod +x {path}")
    return path
