"""Rendering for the image's Pocket-ID version: the golden site of the newest verified tag, each
verified minor rendered and checked clean, and what an unverified tag gets (a warning naming the
facts assumed, or a refusal with the reason)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from pocketid_k8s.bundle import build_bundle, write_bundle
from pocketid_k8s.check import Severity, run_check
from pocketid_k8s.config import Config, load_config, parse_config
from pocketid_k8s.contract.image import REPOSITORY, Version, show_version
from pocketid_k8s.contract.pocketid import restart_window_seconds, single_holder
from pocketid_k8s.contract.table import NEWEST, RENAMED, VERIFIED_FROM
from pocketid_k8s.errors import ConfigError
from pocketid_k8s.render import deviations, render
from tests.conftest import ROOT, SPEC_SITE, config_with
from tests.test_cli import run

NEWEST_SITE = ROOT / "tests/sites/v2-14"
MINORS: tuple[Version, ...] = tuple(
    (2, minor, 0) for minor in range(VERIFIED_FROM[1], NEWEST[1] + 1)
)
"""Every verified minor, from the table's range."""
NEW_NAME, (OLD_NAME, RENAMED_IN) = next(iter(RENAMED.items()))


def image(version: Version | str) -> str:
    tag = version if isinstance(version, str) else show_version(version)
    return f"ghcr.io/{REPOSITORY}:{tag}"


def at(version: Version | str, **sections: dict[str, object]) -> Config:
    """The spec's config on another image, with some fields changed."""
    pocket_id = {"image": image(version), **sections.pop("pocket_id", {})}
    return config_with(pocket_id=pocket_id, **sections)


def container(config: Config) -> dict[str, Any]:
    deployment = dict(render(config))["deployment.yaml"]
    found: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return found


def configmap(config: Config) -> dict[str, str]:
    data: dict[str, str] = dict(render(config))["configmap.yaml"]["data"]
    return data


# --- the golden site of the newest verified tag ---------------------------------------------


def test_newest_site_is_on_the_newest_verified_tag() -> None:
    """tests/sites/v2-14 pins the table's newest verified release."""
    assert load_config(NEWEST_SITE / "pocket-id.toml").pocket_id.image == image(NEWEST)


def test_newest_site_bundle_is_golden() -> None:
    """tests/sites/v2-14/k8s-apps is exactly what its config renders."""
    bundle = build_bundle(load_config(NEWEST_SITE / "pocket-id.toml"), NEWEST_SITE)
    assert bundle.diff(NEWEST_SITE) == ""
    for path, text in bundle.files.items():
        assert (NEWEST_SITE / path).read_text() == text


def test_newest_site_is_current_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    """'render --check' on the site: exit 0 and no warning (the tag is verified)."""
    code, out, err = run(
        capsys, "render", "--check", "--config", "pocket-id.toml", "--out", ".", cwd=NEWEST_SITE
    )
    assert code == 0, out + err
    assert "warning:" not in err


def test_newest_site_shares_nothing_with_the_spec_site() -> None:
    """Domain, namespace, storage and certificates differ, so no test passes on spec values."""
    newest = tomllib.loads((NEWEST_SITE / "pocket-id.toml").read_text())
    ours, spec = load_config(NEWEST_SITE / "pocket-id.toml"), Config()
    assert ours.pocket_id.host != spec.pocket_id.host
    assert ours.ingress.internal_host != spec.ingress.internal_host
    assert ours.site.namespace != spec.site.namespace
    assert ours.site.app_dir != spec.site.app_dir
    assert ours.storage.claim_name != spec.storage.claim_name
    assert ours.storage.storage_class != spec.storage.storage_class
    assert ours.certificates.public_secret != spec.certificates.public_secret
    assert set(newest) >= {"site", "pocket_id", "storage", "certificates", "ingress"}


def test_check_finds_nothing_wrong_in_the_newest_site(crd_schemas: Path) -> None:
    """check on the golden bundle: no error and no warning but the unsealed placeholder."""
    report = run_check([str(NEWEST_SITE / "k8s-apps")], schema_location=str(crd_schemas))
    problems = [
        f"{f.rule}: {f.message}"
        for f in report.findings
        if f.severity is not Severity.INFO and f.rule != "policy/unsealed-placeholder"
    ]
    assert problems == []


def test_spec_site_stays_on_the_spec_version() -> None:
    """The spec's golden site keeps v2.2.0's image (the repository's own site is a fork's)."""
    assert load_config(SPEC_SITE / "pocket-id.toml").pocket_id.image == image(VERIFIED_FROM)


# --- every verified minor -------------------------------------------------------------------


@pytest.mark.parametrize("version", MINORS, ids=show_version)
def test_each_verified_minor_renders_what_check_finds_clean(
    version: Version, tmp_path: Path, crd_schemas: Path
) -> None:
    """The spec's site on each verified tag, with a renamed setting: check finds no problem."""
    config = at(version, pocket_id={"env": {NEW_NAME: '["members"]'}})
    write_bundle(build_bundle(config, tmp_path), tmp_path)
    report = run_check([str(tmp_path)], schema_location=str(crd_schemas))
    problems = [
        f"{f.rule}: {f.message}"
        for f in report.findings
        if f.severity is not Severity.INFO and f.rule != "policy/unsealed-placeholder"
    ]
    assert problems == []


@pytest.mark.parametrize("version", MINORS, ids=show_version)
def test_a_verified_tag_renders_without_a_version_warning(version: Version) -> None:
    """A verified tag follows its own facts: no warning says any were assumed."""
    assert not [w for w in deviations(at(version)) if "assumed" in w]


@pytest.mark.parametrize("version", MINORS, ids=show_version)
def test_a_renamed_setting_is_written_as_the_version_reads_it(version: Version) -> None:
    """The new spelling of a renamed setting becomes the name the tag reads, and back."""
    expected = NEW_NAME if version >= RENAMED_IN else OLD_NAME
    for given in (NEW_NAME, OLD_NAME):
        data = configmap(at(version, pocket_id={"env": {given: "[]"}}))
        assert data.get(expected) == "[]"
        assert {NEW_NAME, OLD_NAME} & set(data) == {expected}


@pytest.mark.parametrize("version", MINORS, ids=show_version)
def test_the_startup_budget_outlasts_the_restart_window(version: Version) -> None:
    """A replacement refused after a kill is never cut short: budget > restart window."""
    startup = container(at(version))["startupProbe"]
    budget = startup["periodSeconds"] * startup["failureThreshold"]
    assert budget > restart_window_seconds(version)


@pytest.mark.parametrize("version", MINORS, ids=show_version)
def test_rolling_update_warning_names_what_the_version_holds(version: Version) -> None:
    """The RollingUpdate deviation names the lock up to v2.11, the actor-host place after."""
    warnings = deviations(at(version, deployment={"strategy": "RollingUpdate"}))
    held = single_holder(version).removeprefix("the ")
    assert [w for w in warnings if "RollingUpdate" in w and held in w]


def test_the_runbook_and_timing_give_each_restart_window() -> None:
    """docs/runbook.md and docs/timing.md state every version's window after a kill."""
    runbook = (ROOT / "docs/runbook.md").read_text()
    timing = (ROOT / "docs/timing.md").read_text()
    for window in {restart_window_seconds(version) for version in MINORS}:
        assert f"{window} s" in runbook
        assert f"{window} s" in timing


def test_the_v2_2_bundle_is_the_spec_bundle() -> None:
    """An explicit v2.2.0 image renders byte for byte what the spec's config renders."""
    assert render(at(VERIFIED_FROM)) == render(Config())


# --- tags that are no verified release ------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "assumed"),
    [("v2.1.0", VERIFIED_FROM), ("v2.15.2", NEWEST), ("nightly", NEWEST)],
)
def test_an_unverified_tag_warns_which_facts_were_assumed(tag: str, assumed: Version) -> None:
    """v2.0/v2.1, a newer v2 minor or a tag naming no release: one warning naming the facts."""
    warnings = [w for w in deviations(at(tag)) if "assumed" in w]
    assert len(warnings) == 1
    assert f"{show_version(assumed)}'s facts (assumed)" in warnings[0]
    assert "fix: pin a verified tag" in warnings[0]


def test_an_unverified_tag_renders_the_assumed_versions_names() -> None:
    """A v2 minor newer than the newest read is rendered with the newest facts."""
    data = configmap(at("v2.15.0", pocket_id={"env": {OLD_NAME: "[]"}}))
    assert data.get(NEW_NAME if NEWEST >= RENAMED_IN else OLD_NAME) == "[]"


def test_an_image_not_known_as_pocket_ids_warns_that_its_version_is_unknown() -> None:
    """A repository not recognised as Pocket-ID's: warned, with the facts assumed named."""
    config = config_with(pocket_id={"image": "registry.example/auth/idp:v2.14.0"})
    warnings = [w for w in deviations(config) if "assumed" in w]
    assert len(warnings) == 1
    assert "not a Pocket-ID image name" in warnings[0]
    assert f"{show_version(NEWEST)}'s facts (assumed)" in warnings[0]


@pytest.mark.parametrize(
    ("tag", "reason"),
    [
        ("v1.11.0", "older than v2"),
        ("v0.53.0", "older than v2"),
        ("v3.0.0", "a major release this tool has not read"),
        ("v2", "moving tag 'v2'"),
        ("v2-distroless", "moving tag 'v2-distroless'"),
    ],
)
def test_a_tag_that_cannot_be_rendered_is_refused_with_the_reason(tag: str, reason: str) -> None:
    """v0/v1, a new major and a major-only tag: a config error naming the tag, reason and fix."""
    with pytest.raises(ConfigError) as caught:
        parse_config({"pocket_id": {"image": image(tag)}})
    text = str(caught.value)
    assert image(tag) in text
    assert reason in text
    assert f"e.g. '{image(NEWEST)}'" in text


def test_a_refused_tag_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """render with a v1 tag: exit 2, one error line, no traceback, no file written."""
    (tmp_path / "pocket-id.toml").write_text(f'[pocket_id]\nimage = "{image("v1.0.0")}"\n')
    code, _out, err = run(capsys, "render", cwd=tmp_path)
    assert code == 2
    assert "older than v2" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pocket-id.toml"]


def test_a_floating_minor_tag_is_rendered_as_its_minor() -> None:
    """'v2.14' (every patch of a verified minor) renders with no warning."""
    assert not [w for w in deviations(at("v2.14")) if "assumed" in w]


@pytest.mark.parametrize(
    ("tag", "name", "reads"),
    [
        ("v2.12.0", "WEBAUTHN_USER_VERIFICATION", "only from v2.13.0"),
        ("v2.12.0", "METRICS_ENABLED", "only before v2.10.0"),
    ],
)
def test_a_setting_the_version_does_not_read_is_warned(tag: str, name: str, reads: str) -> None:
    """[pocket_id] env with a variable the tag does not read: a warning saying when it is."""
    config = at(tag, pocket_id={"env": {name: "true" if "METRICS" in name else "required"}})
    warnings = [w for w in deviations(config) if name in w]
    assert warnings == [
        f"[pocket_id] env: {name} does nothing on {tag}: Pocket-ID reads it {reads}; fix: "
        "remove it, or pin a tag that reads it"
    ]


def test_a_setting_the_version_reads_is_not_warned() -> None:
    """The same variable on a tag that reads it, and a variable of no Pocket-ID: no warning."""
    config = at(NEWEST, pocket_id={"env": {"WEBAUTHN_USER_VERIFICATION": "required", "TZ": "UTC"}})
    assert deviations(config) == []


@pytest.mark.parametrize("version", [(2, RENAMED_IN[1] - 1, 0), RENAMED_IN], ids=show_version)
def test_both_spellings_of_a_renamed_setting_render_the_versions_own(version: Version) -> None:
    """Given both spellings, the value under the one the version reads is rendered, warned."""
    read = NEW_NAME if version >= RENAMED_IN else OLD_NAME
    config = at(version, pocket_id={"env": {NEW_NAME: '["new"]', OLD_NAME: '["old"]'}})
    data = configmap(config)
    assert {NEW_NAME, OLD_NAME} & set(data) == {read}
    assert data[read] == ('["new"]' if read == NEW_NAME else '["old"]')
    assert [w for w in deviations(config) if f"fix: keep {read} only" in w]
