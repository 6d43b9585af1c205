"""Which variables rehearse moves into its sandbox follows the version's facts."""

from __future__ import annotations

import pytest

from pocketid_k8s.contract.image import Version
from pocketid_k8s.rehearse.paths import is_path_variable


@pytest.mark.parametrize(
    ("name", "version", "is_path"),
    [
        ("TLS_CERT", (2, 8, 0), True),  # v2.6-v2.12 read a path
        ("TLS_KEY", (2, 12, 0), True),
        ("TLS_CERT", (2, 14, 0), False),  # from v2.13 PEM content, nothing to move
        ("TLS_CERT_FILE", (2, 14, 0), True),
        ("UPLOAD_PATH", (2, 2, 0), True),
        ("APP_URL", (2, 14, 0), False),
    ],
)
def test_path_variables_follow_the_version(name: str, version: Version, is_path: bool) -> None:
    """A TLS certificate given as a path (v2.6 to v2.12) is moved into the sandbox; PEM
    content (v2.13 on) is not a path."""
    assert is_path_variable(name, version) is is_path
