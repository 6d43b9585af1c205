"""Modules imported when first used: PyYAML for the check, whose fast reader (yaml-rs) reads
most sets without it (importing it costs ~10 ms, compiling PyYAML's patterns: a twelfth of a
check of the bundle)."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def module(name: str) -> ModuleType:
    """``name``, imported now if it already is, else when an attribute of it is first read
    (the standard library's LazyLoader)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:  # not installed: the import's own error, now
        return importlib.import_module(name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    found = importlib.util.module_from_spec(spec)
    sys.modules[name] = found
    loader.exec_module(found)
    return found
