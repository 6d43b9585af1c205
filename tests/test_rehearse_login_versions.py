"""The login steps speak the pod's version's API (contract.api), against a TEST DOUBLE of
Pocket-ID's login API (tests/pocket_id_login_double.py) speaking a chosen version's."""

from __future__ import annotations

import pytest

from pocketid_k8s.contract import api
from pocketid_k8s.contract.api import Step
from pocketid_k8s.contract.image import Version
from pocketid_k8s.live.report import Status
from pocketid_k8s.rehearse.login import LoginRun
from tests.pocket_id_login_double import APP_URL, LoginDouble

Row = tuple[str, Status, str]
V2_8: Version = (2, 8, 0)
V2_14: Version = (2, 14, 0)


def login_run(double: LoginDouble, version: Version, rows: list[Row]) -> LoginRun:
    return LoginRun(
        APP_URL,
        [],
        double.port,
        lambda name, status, detail, ms: rows.append((name, status, detail)),
        version=version,
    )


def played(double_version: Version, pod_version: Version) -> list[Row]:
    """Every login row of a pod at ``pod_version`` against a double speaking
    ``double_version``'s API."""
    rows: list[Row] = []
    with LoginDouble(double_version) as double:
        login = login_run(double, pod_version, rows)
        try:
            login.run()
        finally:
            login.close()
    return rows


READ_TAGS: list[Version] = sorted(
    {r.since for r in api.ROUTES} | {api.READ_FROM, api.READ_UNTIL, (2, 9, 0), (2, 13, 0)}
)
"""Each version a route form starts at, the last version before each change, and the ends of
the range read: generated from the contract's route table."""


@pytest.mark.parametrize("version", READ_TAGS, ids=api.show)
def test_every_login_row_passes_against_a_double_of_the_same_version(version: Version) -> None:
    """A pod at each version's route forms passes every login row against a double of it."""
    rows = played(version, version)
    assert [(name, status) for name, status, _ in rows] == [
        ("login-admin", Status.PASS),
        ("login-register", Status.PASS),
        ("login-sign-out", Status.PASS),
        ("login-sign-in", Status.PASS),
        ("login-oidc", Status.PASS),
        ("login-internal", Status.PASS),
    ]


def test_v2_14_pod_uses_the_v2_14_routes() -> None:
    """A v2.14 pod's login calls .../secrets, /authorize and the interaction, not v2.8's."""
    with LoginDouble(V2_14) as double:
        login = login_run(double, V2_14, [])
        try:
            login.run()
        finally:
            login.close()
    seen = double.state.seen
    assert any(s.startswith("POST /api/oidc/clients/") and s.endswith("/secrets") for s in seen)
    assert "GET /authorize" in seen
    assert "POST /api/oidc/authorize" not in seen
    assert not any(s.endswith("/secret") for s in seen)


def test_v2_14_pod_against_a_v2_8_double_names_the_route_and_the_version() -> None:
    """A v2.14 pod on a program speaking v2.8's API fails login-oidc naming v2.14's route."""
    rows = played(V2_8, V2_14)
    assert rows[-1] == (
        "login-oidc",
        Status.FAIL,
        "client secret: POST /api/oidc/clients/{id}/secrets (v2.14.0's API) answered "
        "HTTP 404: Record not found",
    )


def test_v2_8_pod_against_a_v2_14_double_names_the_route_and_the_version() -> None:
    """A v2.8 pod on a program speaking v2.14's API fails login-oidc naming v2.8's route."""
    rows = played(V2_14, V2_8)
    assert rows[-1] == (
        "login-oidc",
        Status.FAIL,
        "client secret: POST /api/oidc/clients/{id}/secret (v2.8.0's API) answered "
        "HTTP 404: Record not found",
    )


def test_unread_version_assumes_the_newest_and_says_so() -> None:
    """A v2.15 pod uses v2.14's routes (they pass on a v2.14 double); its rows say so."""
    rows = played(V2_14, (2, 15, 0))
    assert {status for _, status, _ in rows} == {Status.PASS}
    assert all(
        detail.endswith("(v2.15.0's API not read: v2.14.0's assumed)") for *_, detail in rows
    )


def test_login_made_on_v2_8_is_checked_with_v2_14_api_after_an_upgrade() -> None:
    """After an upgrade the passkey and the OIDC client made on v2.8 work through v2.14's
    routes once the run's version is the new one."""
    rows: list[Row] = []
    with LoginDouble(V2_8) as old:
        login = login_run(old, V2_8, rows)
        try:
            login.run()
            with LoginDouble(V2_14, old.state) as new:
                login.version = V2_14
                assert login.sign_in_again(new.port), login.failure
                assert login.code_flow_again(), login.failure
        finally:
            login.close()
    assert "GET /authorize" in new.state.seen


def test_login_checked_with_the_old_api_after_an_upgrade_fails_naming_it() -> None:
    """Left at v2.8, the code flow on a v2.14 program fails naming v2.8's authorize route."""
    rows: list[Row] = []
    with LoginDouble(V2_8) as old:
        login = login_run(old, V2_8, rows)
        try:
            login.run()
            with LoginDouble(V2_14, old.state) as new:
                assert login.sign_in_again(new.port)
                assert not login.code_flow_again()
        finally:
            login.close()
    assert login.failure == (
        "authorization: POST /api/oidc/authorize (v2.8.0's API) answered HTTP 404: Record not found"
    )


@pytest.mark.parametrize("route", api.ROUTES, ids=lambda r: f"{r.step.name}@{api.show(r.since)}")
def test_each_route_form_applies_from_its_version_until_the_next(route: api.Route) -> None:
    """routes() gives each form at its own ``since`` and not before it."""
    assert api.routes(route.since)[route.step] == route
    earlier = (route.since[0], route.since[1] - 1, 0)
    if route.since > api.READ_FROM:
        assert api.routes(earlier).get(route.step) != route


@pytest.mark.parametrize("route", api.ROUTES, ids=lambda r: f"{r.step.name}@{api.show(r.since)}")
def test_each_route_cites_a_file_at_a_tag(route: api.Route) -> None:
    """Every route names the upstream file and the tag(s) it was read at."""
    assert ".go@v2." in route.read


def test_interaction_has_no_route_before_v2_10() -> None:
    """Before v2.10 there is no interaction step: the UI's JSON authorize answers the code."""
    assert Step.INTERACTION not in api.routes((2, 9, 0))
    assert api.routes((2, 9, 0))[Step.AUTHORIZE].method == "POST"


def test_login_runs_are_runs_of_the_contract() -> None:
    """Each release the login routes were run on is one of contract.pocketid.RUNS's binaries."""
    from pocketid_k8s.contract import pocketid

    assert set(api.LOGIN_RUNS) <= set(pocketid.RUNS)


@pytest.mark.parametrize("route", api.ROUTES, ids=lambda r: f"{r.step.name}@{api.show(r.since)}")
def test_each_route_form_was_confirmed_by_a_run(route: api.Route) -> None:
    """Every form of every step was in force in at least one run of ``rehearse --login``."""
    assert api.confirmed_by(route)
