"""Absolute paths in the variables Pocket-ID reads as paths, moved into the sandbox.

Relative paths need nothing: the program runs in the sandbox's working
directory, as it runs in the image's WORKDIR.
"""

from __future__ import annotations

from pocketid_k8s.contract import env as names
from pocketid_k8s.rehearse.sandbox import Layout

__all__ = ["is_path_variable", "map_paths"]


def is_path_variable(name: str) -> bool:
    return name in names.PATH_VALUED or name.endswith(names.FILE_SUFFIX)


def map_paths(env: dict[str, str], layout: Layout) -> tuple[dict[str, str], list[str]]:
    """``env`` with its absolute container paths replaced by sandbox paths, and what moved."""
    mapped = dict(env)
    moved = []
    for name, value in env.items():
        if not is_path_variable(name) or not value:
            continue
        new = _map(name, value, layout)
        if new != value:
            mapped[name] = new
            moved.append(f"{name} {value} -> {new}")
    return mapped, moved


def _map(name: str, value: str, layout: Layout) -> str:
    if name == names.DB_CONNECTION_STRING:
        if value.startswith(names.POSTGRES_PREFIXES):
            return value
        scheme = names.SQLITE_SCHEME if value.startswith(names.SQLITE_SCHEME) else ""
        path, sep, query = value[len(scheme) :].partition("?")
        if path.startswith("/"):
            return f"{scheme}{layout.host(path)}{sep}{query}"
        return value
    if value.startswith("/"):
        return str(layout.host(value))
    return value
