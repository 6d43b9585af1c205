"""The newest verified Pocket-ID (v2.14.0) and v2.8.0, through ``check``: issue 20's cases.

Each test writes the committed bundle, pinned to one release's image and changed in one
place, to a folder and runs the real ``check`` on it. The cases are the ones an outside
run of the real v2.8.0 and v2.14.0 programs found missed, wrong or right for a wrong reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pocketid_k8s.check import run_check
from pocketid_k8s.check.model import Finding, Severity
from pocketid_k8s.contract import pocketid as pid
from pocketid_k8s.contract.table import confirmed, facts_for, facts_note, lookup, name_at
from pocketid_k8s.contract.values import validate
from tests.test_check import Docs, bundle, config, container

IMAGE = "ghcr.io/pocket-id/pocket-id:{}"
PEM_CERT = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
PEM_KEY = "-----BEGIN PRIVATE KEY-----\nMIIEfake\n-----END PRIVATE KEY-----\n"


def check_at(
    tmp_path: Path, tag: str, env: dict[str, str], docs: Docs | None = None
) -> list[Finding]:
    """``check`` on the bundle pinned to ``tag`` with ``env`` added to its ConfigMap."""
    docs = docs or bundle()
    container(docs)["image"] = IMAGE.format(tag)
    config(docs).update(env)
    for key, doc in docs.items():
        (tmp_path / f"{key.replace('/', '-')}.yaml").write_text(yaml.safe_dump(doc))
    return run_check([str(tmp_path)]).findings


def errors(found: list[Finding]) -> list[Finding]:
    return [f for f in found if f.severity is Severity.ERROR]


def about(found: list[Finding], name: str) -> list[Finding]:
    return [f for f in found if f.message.startswith(f"{name}=")]


@pytest.mark.parametrize("tag", ["v2.2.0", "v2.8.0", "v2.14.0"])
def test_the_bundle_pinned_to_each_verified_release_is_clean(tmp_path: Path, tag: str) -> None:
    """No error on the committed bundle, whichever verified release it runs."""
    assert [f.message for f in errors(check_at(tmp_path, tag, {}))] == []


# --- missed: the program refuses, check said nothing -----------------------------------------


@pytest.mark.parametrize("tag", ["v2.8.0", "v2.14.0"])
def test_systemd_socket_refuses_in_a_pod(tmp_path: Path, tag: str) -> None:
    """SYSTEMD_SOCKET=true: a pod passes no socket, so the program exits at start."""
    (only,) = about(check_at(tmp_path, tag, {"SYSTEMD_SOCKET": "true"}), "SYSTEMD_SOCKET")
    assert only.severity is Severity.ERROR
    assert "'did not receive any sockets from systemd'" in only.message


@pytest.mark.parametrize(
    ("tag", "words"),
    [
        ("v2.8.0", "'config error: TLS_KEY_FILE must be set when TLS_CERT_FILE is set'"),
        ("v2.14.0", "'config error: TLS_KEY must be set when TLS_CERT is set'"),
    ],
)
def test_a_certificate_without_its_key_refuses(tmp_path: Path, tag: str, words: str) -> None:
    """TLS_CERT without TLS_KEY: an error in the release's own words (v2.8.0 names the fields)."""
    value = "/run/tls/tls.crt" if tag == "v2.8.0" else PEM_CERT
    found = check_at(tmp_path, tag, {"TLS_CERT": value})
    (only,) = about(found, "TLS_CERT")
    assert only.severity is Severity.ERROR
    assert words in only.message
    assert [f for f in found if f.rule == "pocketid/listener"] == []


UI_2140 = [
    ("SMTP_FROM", "Pocket ID <noreply@mulliken.net>", "must be a valid email address"),
    ("APP_NAME", "", "is required"),
    ("APP_NAME", "Mulliken Passkey Sign-in Service", "must be at most 30 characters long"),
    ("HOME_PAGE_URL", "", "is required"),
    ("WEBAUTHN_USER_VERIFICATION", "discouraged", "is invalid"),
    ("WEBAUTHN_ALLOW_SYNCED_PASSKEYS", "yes", "must be either true or false"),
    ("WEBAUTHN_AUTHENTICATOR_ATTACHMENT", "roaming", "is invalid"),
    ("CIMD_URL_ALLOWLIST", "https://app.example.com/*", "must be a JSON array of valid callback"),
]


@pytest.mark.parametrize(("name", "value", "says"), UI_2140, ids=[c[0] + c[1][:5] for c in UI_2140])
def test_v2_14_refuses_bad_ui_settings(tmp_path: Path, name: str, value: str, says: str) -> None:
    """v2.14.0 checks the UI settings at start (UI_CONFIG_DISABLED=true) and refuses these."""
    (only,) = about(check_at(tmp_path, "v2.14.0", {name: value}), name)
    assert only.severity is Severity.ERROR
    assert f"'invalid environment app configuration: {name} {says}" in only.message


@pytest.mark.parametrize(("name", "value", "says"), UI_2140, ids=[c[0] + c[1][:5] for c in UI_2140])
def test_v2_8_serves_with_the_same_ui_settings(
    tmp_path: Path, name: str, value: str, says: str
) -> None:
    """v2.8.0 checks none of them at start: no error (the WebAuthn ones it does not read)."""
    assert errors(about(check_at(tmp_path, "v2.8.0", {name: value}), name)) == []


# --- wrong: check gave an error, the program serves ------------------------------------------


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_actor_host_on_loopback_is_fine(tmp_path: Path, host: str) -> None:
    """ACTORS_HOST=localhost serves exactly as 127.0.0.1: only other instances dial it."""
    found = check_at(tmp_path, "v2.14.0", {"ACTORS_HOST": host})
    assert [f.message for f in found if "ACTORS_HOST" in f.message] == []


def test_actor_host_on_a_foreign_address_refuses(tmp_path: Path) -> None:
    """ACTORS_HOST set to an address the pod does not have cannot bind."""
    (only,) = about(check_at(tmp_path, "v2.14.0", {"ACTORS_HOST": "10.1.2.3"}), "ACTORS_HOST")
    assert only.severity is Severity.ERROR
    assert "bind: cannot assign requested address" in only.message


# --- right verdict, now for the right reason -------------------------------------------------


def test_pem_content_in_tls_cert_refuses_on_v2_8(tmp_path: Path) -> None:
    """v2.8.0 reads TLS_CERT as a path: PEM content fails os.Stat, not the probes."""
    found = check_at(tmp_path, "v2.8.0", {"TLS_CERT": PEM_CERT, "TLS_KEY": PEM_KEY})
    (only,) = about(found, "TLS_CERT")
    assert only.severity is Severity.ERROR
    assert "'config error: TLS_CERT_FILE not found: stat -----BEGIN" in only.message
    assert [f for f in found if f.rule == "pocketid/listener"] == []


def test_a_path_in_tls_cert_refuses_on_v2_14(tmp_path: Path) -> None:
    """v2.14.0 reads TLS_CERT as PEM content: a path has no PEM data."""
    found = check_at(tmp_path, "v2.14.0", {"TLS_CERT": "/tls/tls.crt", "TLS_KEY": "/tls/tls.key"})
    (only,) = about(found, "TLS_CERT")
    assert "tls: failed to find any PEM data in certificate input'" in only.message
    assert PEM_KEY not in str([f.message for f in found])


def test_a_key_in_tls_key_is_never_shown(tmp_path: Path) -> None:
    """A private key pasted into TLS_KEY (v2.8.0 wants a path) is refused without quoting it."""
    found = check_at(tmp_path, "v2.8.0", {"TLS_CERT": "/tls/tls.crt", "TLS_KEY": PEM_KEY})
    (only,) = about(found, "TLS_KEY")
    assert only.message.startswith("TLS_KEY=(value not shown: secret): Pocket-ID refuses")
    assert "MIIEfake" not in " ".join(f.message + f.hint for f in found)


@pytest.mark.parametrize(
    ("tag", "severity"), [("v2.2.0", None), ("v2.8.0", None), ("v2.14.0", Severity.ERROR)]
)
def test_emails_verified_capital_true(tmp_path: Path, tag: str, severity: Severity | None) -> None:
    """EMAILS_VERIFIED=True: ParseBool accepts it up to v2.11, v2.14.0 wants exactly true."""
    found = about(check_at(tmp_path, tag, {"EMAILS_VERIFIED": "True"}), "EMAILS_VERIFIED")
    assert [f.severity for f in found] == ([severity] if severity else [])


def test_mixing_pem_values_and_files_refuses_on_v2_14(tmp_path: Path) -> None:
    """From v2.13.0 TLS_CERT/TLS_KEY and TLS_CERT_FILE/TLS_KEY_FILE exclude each other."""
    env = {"TLS_CERT": PEM_CERT, "TLS_KEY": PEM_KEY, "TLS_CERT_FILE": "/tls/tls.crt"}
    found = check_at(tmp_path, "v2.14.0", env)
    (only,) = [f for f in found if "cannot be combined" in f.message]
    assert only.message.startswith("TLS_CERT_FILE='/tls/tls.crt': Pocket-ID refuses to start")


def test_proxy_protocol_fails_the_kubelets_probes(tmp_path: Path) -> None:
    """PROXY_PROTOCOL makes the TCP listener reject connections without a PROXY header."""
    found = about(
        check_at(tmp_path, "v2.14.0", {"PROXY_PROTOCOL": "10.42.0.0/16"}), "PROXY_PROTOCOL"
    )
    (only,) = found
    assert only.severity is Severity.ERROR
    assert "cannot be reached through the pod's port" in only.message


@pytest.mark.parametrize(("tag", "flagged"), [("v2.8.0", True), ("v2.14.0", False)])
def test_healthcheck_against_its_own_tls_listener(tmp_path: Path, tag: str, flagged: bool) -> None:
    """'pocket-id healthcheck' speaks HTTPS to native TLS from v2.12.0 (v2.8.0: exit 1)."""
    docs = bundle()
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        container(docs)[probe] = {"exec": {"command": [pid.BINARY, pid.HEALTHCHECK_COMMAND]}}
    file_env = {"TLS_CERT_FILE": "/run/tls/cert-path", "TLS_KEY_FILE": "/run/tls/key-path"}
    env = file_env if tag == "v2.8.0" else {"TLS_CERT": PEM_CERT, "TLS_KEY": PEM_KEY}
    found = [f for f in check_at(tmp_path, tag, env, docs) if f.rule == "pocketid/listener"]
    assert bool(found) is flagged


# --- which facts applied ---------------------------------------------------------------------


def test_a_partly_verified_release_names_its_facts(tmp_path: Path) -> None:
    """A finding on v2.8.0 says it used v2.8.0's facts, read for what changes a verdict."""
    (only,) = about(check_at(tmp_path, "v2.8.0", {"LOG_LEVEL": "trace"}), "LOG_LEVEL")
    assert only.message.endswith(
        "(v2.8.0's facts, read for what changes a verdict; verified completely: v2.2.0, v2.14.0)"
    )


def test_a_completely_verified_release_adds_nothing(tmp_path: Path) -> None:
    """A finding on v2.14.0 needs no note: every fact of the tag was read."""
    (only,) = about(check_at(tmp_path, "v2.14.0", {"LOG_LEVEL": "trace"}), "LOG_LEVEL")
    assert only.message.endswith("or 'error'' (from envFrom configMapRef pocket-id-config)")


@pytest.mark.parametrize(
    ("reference", "says"),
    [
        ("ghcr.io/pocket-id/pocket-id", "image tag no tag: the version is unknown"),
        ("ghcr.io/pocket-id/pocket-id:latest", "image tag latest: the version is unknown"),
        (
            "ghcr.io/pocket-id/pocket-id@sha256:" + "a" * 64,
            "image tag a digest only: the version is unknown",
        ),
    ],
)
def test_an_unknown_version_says_which_facts_were_assumed(
    tmp_path: Path, reference: str, says: str
) -> None:
    """No tag, latest or a digest alone: unknown version, v2.14.0's facts assumed, warnings."""
    docs = bundle()
    container(docs)["image"] = reference
    for key, doc in docs.items():
        (tmp_path / f"{key.replace('/', '-')}.yaml").write_text(yaml.safe_dump(doc))
    found = run_check([str(tmp_path)]).findings
    (version,) = [f for f in found if f.rule == "pocketid/version"]
    assert version.message.startswith(says)
    assert "checked against v2.14.0's facts, the newest read (assumed)" in version.message


def test_facts_for_each_kind_of_version() -> None:
    """Verified tags use their own facts; unknown and newer ones v2.14.0's; v2.0/v2.1 v2.2.0's."""
    assert facts_for((2, 8, 3)) == ((2, 8, 3), True)
    assert facts_for(None) == ((2, 14, 0), False)
    assert facts_for((2, 20, 0)) == ((2, 14, 0), False)
    assert facts_for((2, 1, 0)) == ((2, 2, 0), False)
    assert facts_note((2, 14, 2)) == ""
    assert facts_note(None) == " (version unknown: v2.14.0's facts assumed)"


# --- facts a renderer and the runbook need ---------------------------------------------------


@pytest.mark.parametrize(
    ("version", "seconds", "observed"),
    [((2, 2, 0), 30, 28), ((2, 8, 0), 30, 30), ((2, 14, 0), 90, 84)],
)
def test_the_restart_window_after_a_kill(
    version: tuple[int, int, int], seconds: int, observed: int
) -> None:
    """A restart after SIGKILL is refused for the lock TTL, from v2.12.0 the actor deadline."""
    assert pid.restart_window_seconds(version) == seconds
    assert observed <= pid.restart_window_seconds(version)
    assert pid.RESTART_OBSERVED_SECONDS[version] == observed


def test_the_renamed_setting_per_version() -> None:
    """SIGNUP_DEFAULT_USER_GROUP_IDS is spelled ..._I_DS before v2.14.0."""
    assert name_at("SIGNUP_DEFAULT_USER_GROUP_IDS", (2, 13, 0)) == "SIGNUP_DEFAULT_USER_GROUP_I_DS"
    assert name_at("SIGNUP_DEFAULT_USER_GROUP_IDS", (2, 14, 0)) == "SIGNUP_DEFAULT_USER_GROUP_IDS"


@pytest.mark.parametrize(
    ("tag", "holder"), [("v2.8.0", "the instance lock"), ("v2.14.0", "the one actor-host place")]
)
def test_a_surge_pod_is_told_what_it_cannot_take(tmp_path: Path, tag: str, holder: str) -> None:
    """RollingUpdate: v2.12.0 and later admit one actor host, earlier ones hold a lock."""
    docs = bundle()
    docs["Deployment/pocket-id"]["spec"]["strategy"] = {"type": "RollingUpdate"}
    found = [f for f in check_at(tmp_path, tag, {}, docs) if f.rule == "pocketid/single-instance"]
    (only,) = found
    assert f"the surge pod cannot take {holder} " in only.message


@pytest.mark.parametrize("port", ["1414", "1411"])
def test_the_actor_port_and_the_http_port_do_not_clash(port: str) -> None:
    """The actor host listens on UDP (WebTransport): PORT equal to ACTORS_PORT serves (run)."""
    version = (2, 14, 0)
    row, actors = lookup("PORT", version), lookup("ACTORS_PORT", version)
    assert row is not None
    assert actors is not None
    assert validate(row, port, {"ACTORS_PORT": port}, version) is None
    assert validate(actors, port, {"PORT": port}, version) is None


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("0", "'failed to initialize actors: failed to create actor host: option Address is"),
        ("abc", "'failed to initialize actors: failed to create actor host: option Address is"),
        ("99999", "'failed to run services: error running peer WebTransport server: address"),
    ],
)
def test_an_actor_port_the_actor_host_refuses(value: str, words: str) -> None:
    """ACTORS_PORT 0, a name or past 65535: v2.14.0 exits at start, in these words (run)."""
    row = lookup("ACTORS_PORT", (2, 14, 0))
    assert row is not None
    problem = validate(row, value, {}, (2, 14, 0))
    assert problem is not None
    assert problem.says.startswith(words)


@pytest.mark.parametrize(
    ("env", "refused"),
    [
        ({"OTEL_LOGS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "bogus"}, False),
        ({"OTEL_LOGS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "bogus"}, False),
        ({"OTEL_LOGS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "bogus"}, True),
        ({"OTEL_LOGS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "bogus"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "bogus"}, True),
    ],
)
def test_a_signal_protocol_is_read_by_its_own_exporter_only(
    env: dict[str, str], refused: bool
) -> None:
    """A bad OTLP protocol refuses only when an otlp exporter reads it (run, v2.14.0)."""
    name = next(n for n in env if n.endswith("_PROTOCOL"))
    row = lookup(name, (2, 14, 0))
    assert row is not None
    assert (validate(row, env[name], env, (2, 14, 0)) is not None) is refused


@pytest.mark.parametrize(
    ("tag", "env", "name"),
    [
        ("v2.8.0", {"TLS_CERT": "/run/tls/tls.crt", "TLS_KEY": "/run/tls/tls.key"}, "TLS_CERT"),
        (
            "v2.14.0",
            {"TLS_CERT_FILE": "/run/tls/tls.crt", "TLS_KEY_FILE": "/run/tls/tls.key"},
            "TLS_CERT_FILE",
        ),
    ],
)
def test_a_certificate_path_on_no_volume_refuses(
    tmp_path: Path, tag: str, env: dict[str, str], name: str
) -> None:
    """The certificate's path is os.Stat'ed at start: a path on no volume refuses, in its words."""
    found = [f for f in check_at(tmp_path, tag, env) if f.message.startswith(f"{name} names ")]
    (first, *_) = found
    assert first.severity is Severity.ERROR
    assert "('config error: TLS_CERT_FILE not found: stat /run/tls/tls.crt: no such file" in (
        first.message
    )


def test_a_key_from_a_sealed_secret_completes_the_pair(tmp_path: Path) -> None:
    """TLS_KEY from a Secret outside the checked set is set: TLS_CERT is not half a pair."""
    docs = bundle()
    container(docs)["env"].append(
        {
            "name": "TLS_KEY",
            "valueFrom": {"secretKeyRef": {"name": "pocket-id-tls", "key": "tls.key"}},
        }
    )
    found = check_at(tmp_path, "v2.14.0", {"TLS_CERT": PEM_CERT}, docs)
    assert [f.message for f in found if f.message.startswith(("TLS_CERT=", "TLS_KEY="))] == []


# --- confirmed by running v2.8.0 and v2.14.0 (pocketid.RUNS): check quotes what they said -----

RUN_WORDS = [
    (
        "v2.8.0",
        {"AUDIT_LOG_RETENTION_DAYS": "99999999999"},
        "AUDIT_LOG_RETENTION_DAYS",
        'strconv.ParseInt: parsing "99999999999": value out of range',
    ),
    (
        "v2.8.0",
        {"TLS_CERT": PEM_CERT, "TLS_KEY": PEM_KEY},
        "TLS_CERT",
        "'config error: TLS_CERT_FILE not found: stat -----BEGIN ...: file name too long'",
    ),
    (
        "v2.14.0",
        {"TLS_CERT": "/run/tls/tls.crt", "TLS_KEY": "/run/tls/tls.key"},
        "TLS_CERT",
        "tls: failed to find any PEM data in certificate input'",
    ),
    (
        "v2.14.0",
        {"ACTORS_HOST": "10.1.2.3"},
        "ACTORS_HOST",
        "error running peer WebTransport server: listen udp 10.1.2.3:",
    ),
    (
        "v2.14.0",
        {"ACTORS_PORT": "0"},
        "ACTORS_PORT",
        "'failed to initialize actors: failed to create actor host: option Address is invalid",
    ),
    (
        "v2.14.0",
        {"PROXY_PROTOCOL": "bogus"},
        "PROXY_PROTOCOL",
        "'Configuration error ... invalid proxy IP address or CIDR \"bogus\"'",
    ),
]


@pytest.mark.parametrize(("tag", "env", "name", "words"), RUN_WORDS, ids=[c[2] for c in RUN_WORDS])
def test_an_outage_is_one_error_in_the_words_the_program_printed(
    tmp_path: Path, tag: str, env: dict[str, str], name: str, words: str
) -> None:
    """Each case the real program refused is one error quoting its printed words."""
    found = [f for f in check_at(tmp_path, tag, env) if f.message.startswith(tuple(env))]
    (only,) = found
    assert only.message.startswith(f"{name}=")
    assert only.severity is Severity.ERROR
    assert words in only.message


def test_mixed_tls_forms_on_v2_8_are_still_an_https_only_listener(tmp_path: Path) -> None:
    """v2.8.0: TLS_CERT_FILE's content replaces TLS_CERT, so a PEM TLS_CERT beside it is unused."""
    env = {
        "TLS_CERT_FILE": "/run/tls/cert-path",
        "TLS_KEY_FILE": "/run/tls/key-path",
        "TLS_CERT": PEM_CERT,
    }
    found = check_at(tmp_path, "v2.8.0", env)
    assert [f.rule for f in errors(found) if "serves only HTTPS" in f.message] != []


def test_every_observed_restart_names_how_its_binary_was_built() -> None:
    """A release with a measured restart window says how it was built and run (RUNS)."""
    assert set(pid.RESTART_OBSERVED_SECONDS) <= set(pid.RUNS)
    assert "replaced" in pid.RUNS[(2, 14, 0)]


@pytest.mark.parametrize(
    ("name", "version", "run"),
    [
        ("ACTORS_PORT", (2, 14, 0), True),
        ("ACTORS_PORT", (2, 12, 0), False),
        ("SYSTEMD_SOCKET", (2, 8, 0), True),
        ("ACTORS_PORT", (2, 8, 0), False),
        ("ANALYTICS_DISABLED", (2, 14, 0), False),
    ],
)
def test_the_contract_says_which_rows_were_run(
    name: str, version: tuple[int, int, int], run: bool
) -> None:
    """A row is confirmed by running only on a release that was run and that reads it."""
    assert confirmed(name, version) is run
