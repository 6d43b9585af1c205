"""Marks the bundle leaves for its own checks; shared by render and check."""

from __future__ import annotations

from typing import Final

PLACEHOLDER_ANNOTATION: Final = "pocketid-k8s/placeholder"
PLACEHOLDER_VALUE: Final = "NOT-SEALED-run-pocketid-k8s-seal"
