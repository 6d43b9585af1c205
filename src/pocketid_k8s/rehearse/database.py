"""The database the manifests give Pocket-ID: rehearse plays SQLite only.

A PostgreSQL connection string (in DB_CONNECTION_STRING or the file its
``_FILE`` variant names) would make the program connect to that server and run
its migrations there, so the rehearsal refuses it before anything starts. Which
variables hold the connection string, and which prefix means PostgreSQL, come
from the contract. The connection string is never shown: it may hold a password.
"""

from __future__ import annotations

import posixpath
from pathlib import PurePosixPath

from pocketid_k8s.contract import env as names
from pocketid_k8s.contract import table
from pocketid_k8s.contract.image import Version
from pocketid_k8s.rehearse.pod import Mount, PodError

__all__ = ["refuse_postgres"]


def refuse_postgres(
    env: dict[str, str],
    mounts: list[Mount],
    working_dir: str,
    version: Version,
    stand_ins: frozenset[bytes] = frozenset(),
) -> None:
    """A PodError if Pocket-ID at ``version`` would take its database for PostgreSQL, or if
    the connection string is sealed (``stand_ins``: the throwaway values standing in for
    sealed ones): the program would read the stand-in as a SQLite file name."""
    for name, value in env.items():
        row = table.lookup(name, version)
        if row is not None and row.parse is table.Parse.DB:
            if value.encode() in stand_ins:
                _refuse_sealed(name)
            if names.is_postgres(value):
                _refuse(name)
            continue
        base = table.file_base(name, version)
        if base is None or base.parse is not table.Parse.DB:
            continue
        content = _file(posixpath.join(working_dir, value), mounts)
        if content is None:
            continue
        if content.encode() in stand_ins:
            _refuse_sealed(f"the file {value} that {name} names")
        if base.file is table.FileVariant.TRIMMED:
            content = content.strip()
        if names.is_postgres(content):
            _refuse(f"the file {value} that {name} names")


def _file(path: str, mounts: list[Mount]) -> str | None:
    """The content the manifests put at container ``path`` (a Secret or ConfigMap file)."""
    where = PurePosixPath(posixpath.normpath(path))
    best: Mount | None = None
    for mount in mounts:
        covers = where == PurePosixPath(mount.path) or PurePosixPath(mount.path) in where.parents
        if covers and (best is None or len(mount.path) > len(best.path)):
            best = mount
    if best is None:
        return None
    found = best.files.get(str(where.relative_to(best.path)))
    return None if found is None else found[0].decode("utf-8", "replace")


def _refuse_sealed(source: str) -> None:
    raise PodError(
        f"the database connection string ({source}) is sealed, so rehearse cannot know it: a "
        "throwaway value would make Pocket-ID open a SQLite file of that name, which is not what "
        "the cluster runs (a sealed one is usually PostgreSQL's); fix: rehearse a copy of the "
        f"manifests without {names.DB_CONNECTION_STRING} (and its {names.FILE_SUFFIX}), so that "
        "Pocket-ID uses its SQLite default (the rest of the pod is rehearsed the same)"
    )


def _refuse(source: str) -> None:
    raise PodError(
        f"rehearse plays SQLite only; the manifests point Pocket-ID at PostgreSQL: {source} "
        f"starts with {' or '.join(names.POSTGRES_PREFIXES)}, so it would connect to that "
        "server and run its migrations there; fix: rehearse a copy of the manifests without "
        f"{names.DB_CONNECTION_STRING} (and its {names.FILE_SUFFIX}) so that Pocket-ID uses its "
        "SQLite default (the rest of the pod is rehearsed the same)"
    )
