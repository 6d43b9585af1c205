"""The whole rehearsal against the real Pocket-ID binary named by POCKET_ID_BINARY.

CI has no Pocket-ID binary: these tests skip there and say so. Run them with the
release binary (or one built from upstream's tag, outside this repository).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.test_rehearse import SPEC_LITERAL

BINARY = os.environ.get("POCKET_ID_BINARY")
pytestmark = [
    pytest.mark.real_pocket_id,
    pytest.mark.skipif(not BINARY, reason="POCKET_ID_BINARY is not set: no Pocket-ID binary here"),
]


def rehearse(*args: str) -> tuple[int, dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-m", "pocketid_k8s.cli", "rehearse", "--format", "json", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    sys.stdout.write(result.stdout)
    return result.returncode, json.loads(result.stdout)


def test_rendered_bundle_with_login_passes_every_step() -> None:
    """The bundle: every step passes, the passkey signs in, the ID token verifies."""
    code, doc = rehearse("--login")
    failed = [c for c in doc["checks"] if c["status"] != "pass"]
    assert code == 0, failed
    assert failed == []
    checks = {c["check"] for c in doc["checks"]}
    assert {"login-sign-in", "login-oidc", "login-internal", "restart", "surge"} <= checks
    assert "the passkey still signs in" in next(
        c["detail"] for c in doc["checks"] if c["check"] == "restart"
    )


def test_spec_literal_fails_what_its_defects_predict() -> None:
    """The spec: no key, a probe that proves nothing, data lost on restart, a second instance."""
    code, doc = rehearse("--from", str(SPEC_LITERAL), "--login")
    status = {c["check"]: c["status"] for c in doc["checks"]}
    detail = {c["check"]: c["detail"] for c in doc["checks"]}
    assert code == 1
    assert status["start"] == "fail"
    assert "ENCRYPTION_KEY must be at least 16 bytes long" in detail["start"]
    assert status["readinessProbe"] == status["livenessProbe"] == "fail"
    assert status["restart"] == "fail"
    assert "signing key changed" in detail["restart"]
    assert status["surge"] == "fail"
    assert status["login-internal"] == "fail"
