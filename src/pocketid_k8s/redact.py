"""What a message may repeat of a value that can hold a secret."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["url_shown"]

_USERINFO: Final = re.compile(r"//[^/?#]*@")


def url_shown(url: str) -> str:
    """``url`` with any user information (``user:password@``) shown as ``***@``."""
    return _USERINFO.sub("//***@", url)
