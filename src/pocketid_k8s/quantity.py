"""Kubernetes quantities ("2Gi", "500M", "1.5", "250m") as numbers, to check and compare them
the way the API server reads them (k8s.io/apimachinery/pkg/api/resource)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Final

__all__ = ["QUANTITY", "parse_quantity"]

QUANTITY: Final = re.compile(
    r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))([eE][+-]?[0-9]+|[KMGTPE]i|[kMGTPE]|m|u|n)?$"
)
_FACTORS: Final[dict[str | None, Decimal]] = {
    None: Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
    **{f"{s}i": Decimal(2 ** (10 * (i + 1))) for i, s in enumerate("KMGTPE")},
}


def parse_quantity(text: str) -> Decimal | None:
    """The value of ``text``; None when the API server would not take it as a quantity."""
    match = QUANTITY.match(text.strip())
    if not match:
        return None
    number, suffix = match.group(1), match.group(2)
    try:
        if suffix and suffix not in _FACTORS:  # e-notation; "E" and "Ei" are exa and exbi
            return Decimal(number + suffix)
        return Decimal(number) * _FACTORS[suffix]
    except InvalidOperation:
        return None
