"""Absolute paths in the variables Pocket-ID reads as paths, moved into the sandbox.

Which variables are paths comes from the contract's table (a path, a SQLite
connection string, a Unix socket, and every ``<VAR>_FILE``). Relative paths
need nothing: the program runs in the sandbox's working directory, as it runs
in the image's WORKDIR.
"""

from __future__ import annotations

from pocketid_k8s.contract import env as names
from pocketid_k8s.contract import table
from pocketid_k8s.contract.image import Version
from pocketid_k8s.rehearse.sandbox import Layout

__all__ = ["is_path_variable", "map_paths"]


def is_path_variable(name: str, version: Version) -> bool:
    """Whether Pocket-ID at ``version`` reads ``name`` as a file system path."""
    row = table.lookup(name, version)
    if row is not None:
        return row.parse in table.PATH_PARSES
    return table.file_base(name, version) is not None


def map_paths(
    env: dict[str, str], layout: Layout, version: Version
) -> tuple[dict[str, str], list[str]]:
    """``env`` with its absolute container paths replaced by sandbox paths, and what moved."""
    mapped = dict(env)
    moved = []
    for name, value in env.items():
        if not value or not is_path_variable(name, version):
            continue
        new = _map(name, value, layout)
        if new != value:
            mapped[name] = new
            moved.append(f"{name} {value} -> {new}")
    return mapped, moved


def _map(name: str, value: str, layout: Layout) -> str:
    if name == names.DB_CONNECTION_STRING:
        if names.is_postgres(value):
            return value  # refused before the sandbox (rehearse.database); left as it is
        scheme = names.SQLITE_SCHEME if value.startswith(names.SQLITE_SCHEME) else ""
        path, sep, query = value[len(scheme) :].partition("?")
        if path.startswith("/"):
            return f"{scheme}{layout.host(path)}{sep}{query}"
        return value
    if value.startswith("/"):
        return str(layout.host(value))
    return value
