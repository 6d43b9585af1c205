"""One finding per defect, and the disagreements the one-variable measurement found.

Each case changes the committed bundle the way the measurement against the real
Pocket-ID v2.2.0 did (docs/contract.md) and asserts the single finding that
describes the defect, or none where Pocket-ID accepts the value.
"""

from __future__ import annotations

from pocketid_k8s.check.model import Finding, Severity
from tests.test_check import Docs, bundle, config, container
from tests.test_contract_table import findings


def _with(**data: str) -> Docs:
    docs = bundle()
    config(docs).update(data)
    return docs


def _by_rule(found: list[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in found:
        out.setdefault(f.rule, []).append(f)
    return out


BASELINE = {(f.rule, f.message) for f in findings(bundle())}


def _new(docs: Docs) -> list[Finding]:
    return [f for f in findings(docs) if (f.rule, f.message) not in BASELINE]


def test_a_trailing_slash_on_app_url_is_no_second_host() -> None:
    """Pocket-ID trims it (run: it starts); the internal host's redirect still matches."""
    for value in (
        "https://auth.mulliken.net/",
        "https://auth.mulliken.net//",
        "HTTPS://AUTH.MULLIKEN.NET",
    ):
        assert _new(_with(APP_URL=value)) == [], value


def test_an_unparsable_ui_config_disabled_is_one_finding() -> None:
    """Pocket-ID refuses 'yes'; the UI settings are not also reported as ignored."""
    found = _new(_with(UI_CONFIG_DISABLED="yes"))
    assert [(f.rule, f.severity) for f in found] == [("pocketid/env-value", Severity.ERROR)]


def test_a_database_that_loses_data_is_one_finding() -> None:
    """In memory, or POSTGRES:// read as a path: env-value's error, not also data-path's."""
    for value in (":memory:", "POSTGRES://u@db/pocket"):
        found = _new(_with(DB_CONNECTION_STRING=value))
        assert [(f.rule, f.severity) for f in found] == [("pocketid/env-value", Severity.ERROR)], (
            value
        )
        assert "keeps its database where a restart loses it" in found[0].message


def test_a_database_off_the_volume_under_a_read_only_root_refuses() -> None:
    """Run as uid 1000 with a read-only root: Pocket-ID cannot create it and exits."""
    (found,) = _by_rule(_new(_with(DB_CONNECTION_STRING="/srv/x.db")))["pocketid/data-path"]
    assert found.severity is Severity.ERROR
    assert "the root filesystem is read-only, so Pocket-ID cannot create it" in found.message
    docs = _with(DB_CONNECTION_STRING="/srv/x.db")
    container(docs)["securityContext"]["readOnlyRootFilesystem"] = False
    (found,) = _by_rule(_new(docs))["pocketid/data-path"]
    assert "writable layer, and every restart loses" in found.message


def test_a_specific_host_address_refuses_to_start() -> None:
    """HOST=10.1.2.3: 'bind: cannot assign requested address' (run); a name stays a warning."""
    (found,) = _new(_with(HOST="10.1.2.3"))
    assert (found.rule, found.severity) == ("pocketid/env-value", Severity.ERROR)
    assert "cannot assign requested address" in found.message
    (named,) = _new(_with(HOST="pocket-id-0"))
    assert named.severity is Severity.WARNING


def test_trust_proxy_false_says_it_is_a_runtime_outage() -> None:
    """Pocket-ID starts with TRUST_PROXY=false; the error says the outage comes at run time."""
    (found,) = _new(_with(TRUST_PROXY="false"))
    assert (found.rule, found.severity) == ("pocketid/trust-proxy", Severity.ERROR)
    assert "Pocket-ID starts, but at run time" in found.message
    assert "not a start-up refusal" in found.message


IMAGE = "ghcr.io/pocket-id/pocket-id:{}"


def _tls(tag: str, **data: str) -> list[Finding]:
    docs = _with(**data)
    container(docs)["image"] = IMAGE.format(tag)
    return [f for f in findings(docs) if f.rule == "pocketid/listener"]


def test_native_tls_with_plain_http_probes_is_one_listener_error() -> None:
    """v2.6.0 on: TLS_CERT and TLS_KEY make the port HTTPS only; the HTTP probes get a 400."""
    pem = {"TLS_CERT": "/run/tls/tls.crt", "TLS_KEY": "/run/tls/tls.key"}
    (found,) = _tls("v2.6.0", **pem)
    assert found.severity is Severity.ERROR
    assert found.message.startswith(
        "TLS_CERT and TLS_KEY are set, so Pocket-ID v2.6.0 serves only HTTPS on port 1411, but "
        "the startupProbe, readinessProbe, livenessProbe GET it over plain HTTP"
    )
    assert _tls("v2.5.0", **pem) == []  # no native TLS yet: the variables are not read
    assert _tls("v2.6.0", TLS_CERT="/run/tls/tls.crt") == []  # half a pair: not TLS
    (files,) = _tls("v2.13.0", TLS_CERT_FILE="/run/tls/tls.crt", TLS_KEY_FILE="/run/tls/k")
    assert "TLS_CERT_FILE and TLS_KEY_FILE are set" in files.message


def test_native_tls_with_https_probes_is_fine() -> None:
    docs = _with(TLS_CERT="/run/tls/tls.crt", TLS_KEY="/run/tls/tls.key")
    c = container(docs)
    c["image"] = IMAGE.format("v2.12.0")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        c[probe]["httpGet"]["scheme"] = "HTTPS"
    assert [f for f in findings(docs) if f.rule == "pocketid/listener"] == []


def test_a_refused_or_query_app_url_is_not_also_a_second_host() -> None:
    """APP_URL with a path (refused) or a query (warned): the redirect host is not blamed."""
    for value in (
        "https://auth.mulliken.net/auth",
        "https://auth mulliken.net",
        "https://auth.mulliken.net?x=1",
        "https://auth.mulliken.net#f",
    ):
        found = _new(_with(APP_URL=value))
        assert [f.rule for f in found] == ["pocketid/app-url"], (value, found)


def test_native_tls_with_the_healthcheck_command_before_v2_12() -> None:
    """v2.8.0 to v2.11.x: 'pocket-id healthcheck' talks plain HTTP to the TLS port and exits 1."""
    for tag, failing in (("v2.10.0", True), ("v2.12.0", False)):
        docs = _with(TLS_CERT="/run/tls/tls.crt", TLS_KEY="/run/tls/tls.key")
        c = container(docs)
        c["image"] = IMAGE.format(tag)
        c.pop("startupProbe")
        c.pop("readinessProbe")
        c["livenessProbe"] = {"exec": {"command": ["/app/pocket-id", "healthcheck"]}}
        found = [f for f in findings(docs) if f.rule == "pocketid/listener"]
        assert len(found) == (1 if failing else 0), (tag, found)
        if failing:
            assert "livenessProbe ('pocket-id healthcheck' before v2.12.0)" in found[0].message


def test_rules_md_states_the_trust_proxy_decision_in_the_rule_s_words() -> None:
    """docs/rules.md quotes what the error says: a runtime outage, not a start-up refusal."""
    from tests.conftest import ROOT

    doc = " ".join((ROOT / "docs/rules.md").read_text().split())
    (found,) = _new(_with(TRUST_PROXY="false"))
    for words in ("Pocket-ID starts, but at run time", "a runtime outage, not a start-up refusal"):
        assert words in found.message
        assert words in doc
