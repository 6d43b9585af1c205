"""Kubernetes quantities read as the API server reads them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pocketid_k8s.quantity import parse_quantity


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2Gi", Decimal(2 * 2**30)),
        ("500M", Decimal(500 * 10**6)),
        ("1.5", Decimal("1.5")),
        ("250m", Decimal("0.25")),
        ("1e3", Decimal(1000)),
        ("+.5Ki", Decimal(512)),
        ("1E", Decimal(10**18)),  # exa and exbi, not e-notation
        ("1Ei", Decimal(2**60)),
    ],
)
def test_quantities(text: str, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["2 GB", "2GB", "2gi", "Gi", "", "1.2.3", "ten"])
def test_not_quantities(text: str) -> None:
    assert parse_quantity(text) is None


def test_sizes_compare() -> None:
    """What preflight's volume row relies on: 2Gi is more than 2G, less than 3000M."""
    two_gi, two_g, three_thousand_m = (parse_quantity(t) for t in ("2Gi", "2G", "3000M"))
    assert two_gi is not None
    assert two_g is not None
    assert three_thousand_m is not None
    assert two_g < two_gi < three_thousand_m
