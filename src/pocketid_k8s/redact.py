"""What a message may repeat of a value that can hold a secret."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["url_shown", "yaml_where"]

_USERINFO: Final = re.compile(r"//[^/?#]*@")


def url_shown(url: str) -> str:
    """``url`` with any user information (``user:password@``) shown as ``***@``."""
    return _USERINFO.sub("//***@", url)


def yaml_where(exc: Exception) -> str:
    """Where a YAML error is, `` at line L, column C`` (or ``""``), without its snippet of the
    file, which can be a line holding a token or a Secret's value."""
    mark = getattr(exc, "problem_mark", None)
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
