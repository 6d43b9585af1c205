"""A site that shares nothing with the spec's (tests/sites/example-org): its bundle is its
own, golden, and holds no value of the spec's site (issue 18 item 6)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pocketid_k8s.bundle import build_bundle
from pocketid_k8s.check import Severity, run_check
from pocketid_k8s.config import Config, load_config
from pocketid_k8s.render import render
from tests.conftest import ROOT
from tests.test_cli import run

SITE = ROOT / "tests/sites/example-org"
SPEC_DOMAIN = "mulliken"


def test_the_other_sites_bundle_is_golden() -> None:
    """tests/sites/example-org renders to exactly the files beside its config."""
    bundle = build_bundle(load_config(SITE / "pocket-id.toml"), SITE)
    assert bundle.diff(SITE) == ""


def test_nothing_of_the_spec_site_reaches_the_other_sites_bundle() -> None:
    """No file of the other site's bundle names the spec's domain."""
    bundle = build_bundle(load_config(SITE / "pocket-id.toml"), SITE)
    assert [str(path) for path, text in bundle.files.items() if SPEC_DOMAIN in text] == []


def test_setting_only_app_url_keeps_no_spec_host() -> None:
    """app_url alone: no internal Ingress or Certificate for the spec's internal host."""
    config = Config.model_validate({"pocket_id": {"app_url": "https://id.example.org"}})
    assert config.ingress.internal_host == ""
    assert [name for name, obj in render(config) if SPEC_DOMAIN in str(obj)] == []


def test_the_spec_site_keeps_its_internal_host() -> None:
    """The spec's own app_url (or none) still has the spec's internal host."""
    assert Config().ingress.internal_host == "pocket-id.corp.mulliken.net"


def test_render_warns_when_a_config_leaves_app_url_unset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A config file without app_url renders the spec's site, and says so with the fix."""
    (tmp_path / "pocket-id.toml").write_text("[site]\nnamespace = 'auth'\n")
    code, _, err = run(capsys, "render", cwd=tmp_path)
    assert code == 0
    assert (
        "warning: [pocket_id] app_url is not set, so this is the spec's own site "
        "(https://auth.mulliken.net), with its host names and certificates; fix: set app_url "
        "to your site's URL"
    ) in err


def test_check_finds_no_error_in_the_other_site(crd_schemas: Path) -> None:
    """The other site's bundle and Application pass check without an error-level finding."""
    paths = [str(SITE / "k8s-apps"), str(SITE / "k8s-manifests")]
    report = run_check(paths, schema_location=str(crd_schemas))
    errors = [f"{f.rule}: {f.message}" for f in report.findings if f.severity is Severity.ERROR]
    assert errors == []


@given(
    host=st.from_regex(r"[a-z][a-z0-9-]{0,20}[a-z0-9]\.(example|test)\.(org|net)", fullmatch=True)
)
def test_fuzz_no_spec_host_for_any_app_url(host: str) -> None:
    """Whatever a site's app_url, no rendered object names the spec's domain."""
    config = Config.model_validate({"pocket_id": {"app_url": f"https://{host}"}})
    assert [name for name, obj in render(config) if SPEC_DOMAIN in str(obj)] == []
