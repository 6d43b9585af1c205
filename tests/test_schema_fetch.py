"""check --schema-location: schemas read from a folder or a URL are bounded (time, size, JSON
depth and integer length) and a hostile one stops the check with exit 2, one message, no
traceback (issue 17, families 1 and 4)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pocketid_k8s.check import schema
from tests.conftest import ROOT
from tests.hostile_http import Behaviour, HostileServer
from tests.test_cli import run

BUNDLE = ROOT / "tests/sites/spec/k8s-apps/utilities/pocket-id"


@pytest.fixture(autouse=True)
def _small_bounds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh disk cache, and bounds small enough for a quick test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(schema, "FETCH_TIMEOUT", 0.5)
    monkeypatch.setattr(schema, "MAX_SCHEMA_BYTES", 256 * 1024)


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        (Behaviour.ENDLESS_BODY, "larger than 256 KiB, not a schema of one kind"),
        (Behaviour.GZIP_BOMB, "larger than 256 KiB, not a schema of one kind"),
        (Behaviour.DEEP_JSON, "not a usable JSON schema (JSON nested deeper than 100 levels)"),
        (Behaviour.HUGE_INT, "not a usable JSON schema (JSON with a number beyond the limits"),
        (Behaviour.REDIRECT_LOOP, "cannot be fetched (more than 5 redirects"),
        (Behaviour.BAD_STATUS, "cannot be fetched (not a valid HTTP answer"),
    ],
)
def test_hostile_schema_url_is_a_schema_error(behaviour: Behaviour, reason: str) -> None:
    """An endless, bomb, deep, huge-integer, looping or broken answer is a SchemaError
    naming the URL and the bound, and nothing is cached."""
    with HostileServer(behaviour, size=5000) as server:
        url = f"{server.url}/traefik.io/middleware_v1alpha1.json"
        with pytest.raises(schema.SchemaError) as caught:
            schema._fetch(url)
    assert str(caught.value).startswith(f"{url}: {reason}")
    assert not list(schema._cache_dir().glob("*.json"))


@pytest.mark.parametrize("behaviour", [Behaviour.DRIP_BODY, Behaviour.SILENT])
def test_dripping_schema_url_is_unreachable_by_the_deadline(behaviour: Behaviour) -> None:
    """A dripped or silent answer ends by FETCH_TIMEOUT, as Unreachable (offline for the
    default location, an error for the user's)."""
    with HostileServer(behaviour) as server:
        start = time.monotonic()
        with pytest.raises(schema.Unreachable):
            schema._fetch(f"{server.url}/x.json")
        assert time.monotonic() - start < 2.5  # the timeout, and a loaded machine's margin


def test_schema_file_that_is_a_device_is_refused() -> None:
    """A schema file that never ends (/dev/zero) is read to the cap, then refused."""
    with pytest.raises(schema.SchemaError, match=r"^/dev/zero: larger than 256 KiB"):
        schema._read("/dev/zero")


def test_deep_schema_file_is_refused(tmp_path: Path) -> None:
    """A schema file nested 100,000 deep is refused by name (it was a RecursionError)."""
    deep = tmp_path / "deep.json"
    deep.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(schema.SchemaError) as caught:
        schema._read(str(deep))
    assert str(caught.value) == (
        f"{deep}: not a usable JSON schema (JSON nested deeper than 100 levels)"
    )


def test_check_with_a_hostile_schema_url_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """check --schema-location naming a gzip-bomb server: exit 2, one message, no traceback."""
    with HostileServer(Behaviour.GZIP_BOMB, size=50_000) as server:
        template = server.url + "/{group}/{kind}_{version}.json"
        code, out, err = run(capsys, "check", str(BUNDLE), "--schema-location", template)
    assert code == 2, out + err
    assert "larger than 256 KiB" in err
    assert "Traceback" not in out + err
