"""Tests generated from the contract table: every variable, a valid value and each bad kind.

Each case changes one variable in the committed bundle's ConfigMap (or the
container's env) and runs the Pocket-ID rules on the objects in memory; the
finding about that variable must have the rule, severity and opening words
the table says, and a secret's value must never appear.
"""

from __future__ import annotations

import base64
import copy
import functools
from collections.abc import Callable, Iterator
from typing import Any, Final

import pytest

from pocketid_k8s.check import environment, pocketid, refs
from pocketid_k8s.check.context import Context
from pocketid_k8s.check.model import Finding, Resource, Severity
from pocketid_k8s.contract.image import Version
from pocketid_k8s.contract.pocketid import CHECKED_VERSION
from pocketid_k8s.contract.table import ROWS, Parse, Var, lookup
from pocketid_k8s.contract.values import Outcome, validate
from tests.test_check import Docs, bundle, config, container

V220 = CHECKED_VERSION
V280: Version = (2, 8, 0)
V2140: Version = (2, 14, 0)
V2100: Version = (2, 10, 0)
VERSIONS = (V220, V280, V2140)
MINORS: list[Version] = [(2, minor, 0) for minor in range(2, 15)]
NEXT: Version = (2, 15, 0)
"""The two completely verified releases, and v2.8.0 (measured against the real program)."""
R, U, L, M = Outcome.REFUSES, Outcome.UNREACHABLE, Outcome.LOSES_DATA, Outcome.MISBEHAVES
IMAGE = "ghcr.io/pocket-id/pocket-id:{}"
PEM_CERT = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"
PEM_KEY = "-----BEGIN PRIVATE KEY-----\nMIIEfake\n-----END PRIVATE KEY-----\n"

VALID: dict[Parse, str] = {
    Parse.TEXT: "some text",
    Parse.PATH: "data/elsewhere",
    Parse.BOOL: "True",
    Parse.INT: "+30",
    Parse.ENUM: "",  # replaced per row by its first choice, upper-cased where it is lowered
    Parse.APP_URL: "HTTPS://AUTH.MULLIKEN.NET//",
    Parse.INTERNAL_URL: "http://pocket-id:1411",
    Parse.KEY: "k" * 16,
    Parse.API_KEY: "a" * 16,
    Parse.PORT: "1411",
    Parse.HOST: "0.0.0.0",  # noqa: S104 - the listen address under test
    Parse.SOCKET: "",
    Parse.OCTAL: "0660",
    Parse.IPV6_CIDRS: "fd00::/8, fe80::/10",
    Parse.DB: "data/pocket-id.db?_pragma=journal_mode(WAL)",
    Parse.PROXIES: "10.42.0.0/16, fd00::1",
    Parse.OTEL_EXPORTER: "",  # replaced per row by its choices, comma-separated
    Parse.OTEL_PROTOCOL: "grpc",
    Parse.SYSTEMD: "false",
    Parse.ACTORS_PORT: "1411",  # UDP: beside PORT's TCP 1411 it serves (run, v2.14.0)
    Parse.ACTORS_HOST: "localhost",
    Parse.TLS_PATH: "/run/tls/tls.crt",
    Parse.TLS_PEM: "",  # replaced per row by its PEM block
    Parse.TLS_FILE: "/run/tls/tls.crt",
    Parse.UI_BOOL: "true",
    Parse.UI_INT: "120",
    Parse.UI_ENUM: "",  # replaced per row by its last choice
    Parse.UI_JSON: '["a"]',
    Parse.UI_CLAIMS: '[{"key": "team", "value": "ops"}]',
    Parse.UI_PATTERNS: '["https://*.example.com/callback", "*"]',
    Parse.UI_TEXT: "Mulliken Auth",
    Parse.UI_EMAIL: "noreply@mulliken.net",
}
OTHER_DIGITS: Final = [("\u00b9", R), ("\u0663", R)]
"""'¹' and Arabic-Indic '3': digits to str.isdigit (int() refuses the first and reads the
second), not to Go, which reads a port in ASCII digits only ('unknown port')."""
INVALID: dict[Parse, list[tuple[str, Outcome]]] = {
    Parse.BOOL: [("yes", R), ("on", R), (" true", R), ("10.42.0.0/16", R)],
    Parse.INT: [("abc", R), ("30d", R), ("99999999999", R)],
    Parse.ENUM: [("fs", R), ("trace", R)],
    Parse.APP_URL: [
        ("https://auth.mulliken.net/auth", R),
        ("auth.mulliken.net", R),
        ("https://auth mulliken.net", R),
        ("https://auth.mulliken.net/?x=1", R),
        ("https://auth.mulliken.net?x=1", M),
        ("https://auth.mulliken.net#top", M),
    ],
    Parse.INTERNAL_URL: [
        ("http://pocket-id:1411/", R),
        ("http://pocket-id:port", R),
        ("http://pocket-id:\u00b9/", R),  # '¹': a digit to str.isdigit, no port to Go
    ],
    Parse.KEY: [("too-short", R), ("", R)],
    Parse.API_KEY: [("short", R)],
    Parse.PORT: [("abc", R), ("99999", R), ("0", U), *OTHER_DIGITS],
    Parse.HOST: [("127.0.0.1", U), ("localhost", U), ("::1", U), ("10.0.0.5", R), ("pod-name", M)],
    Parse.SOCKET: [("/run/pocket-id.sock", U)],
    Parse.OCTAL: [("999", R), ("0o660", R)],
    Parse.IPV6_CIDRS: [("10.0.0.0/8", R), ("fd00::1", R), ("::ffff:10.0.0.0/104", R)],
    Parse.DB: [
        ("data/x.db?_pragma=foreign_keys(0)", R),
        ("data/x.db?_fk=1", R),
        ("file::memory:", L),
        ("POSTGRES://u@db/pocket", L),
    ],
    Parse.OTEL_EXPORTER: [("stdout", R), ("jaeger", R)],
    Parse.OTEL_PROTOCOL: [("http/json", R)],
    Parse.PROXIES: [("yes", R), ("10.0.0.300", R)],
    Parse.SYSTEMD: [("true", R), ("yes", R)],
    Parse.ACTORS_PORT: [("abc", R), ("0", R), ("99999", R), *OTHER_DIGITS],
    Parse.ACTORS_HOST: [("10.0.0.5", R), ("pod-name", M)],
    Parse.TLS_PATH: [(PEM_CERT, R)],
    Parse.TLS_PEM: [("/run/tls/tls.crt", R)],
    Parse.UI_BOOL: [("yes", M), ("1 ", M)],
    Parse.UI_INT: [("1h", M)],
    Parse.UI_ENUM: [("Open", M)],
    Parse.UI_JSON: [("group-a", M)],
    Parse.UI_CLAIMS: [("team=ops", M)],
}
"""Bad values and what v2.2.0 and v2.8.0 do with them (the UI settings: v2.14.0 below)."""
INVALID_2140: dict[Parse, list[tuple[str, Outcome]]] = {
    Parse.UI_BOOL: [("yes", R), ("True", R), ("1 ", R), ("", R)],
    Parse.UI_INT: [("1h", R), ("", R)],
    Parse.UI_ENUM: [("Open", R), ("", R)],
    Parse.UI_JSON: [("group-a", R), ("[1]", R)],
    Parse.UI_CLAIMS: [("team=ops", R), ('["team"]', R), ('[{"key": "team"}]', R)],
    Parse.UI_PATTERNS: [("https://app.example.com/*", R), ("[1]", R), ('["https://a b/"]', R)],
    Parse.UI_EMAIL: [("Pocket ID <noreply@mulliken.net>", R), ("noreply", R)],
}
"""v2.14.0 checks every UI setting at start (UI_CONFIG_DISABLED=true) and refuses bad ones."""
INVALID_TEXT: dict[str, list[tuple[str, Outcome]]] = {
    "APP_ENV": [("development", M)],
    "PROXY_PROTOCOL": [("yes", R), ("10.42.0.0/16", U), ("true", U)],
}
INVALID_UI_TEXT_2140: dict[str, list[tuple[str, Outcome]]] = {
    "APP_NAME": [("", R), ("x" * 31, R)],
    "HOME_PAGE_URL": [("", R)],
}
UI_WORDS = "'invalid environment app configuration: "
WORDS: list[tuple[Parse, Version, Version, str]] = [
    (Parse.PORT, V220, V280, "'failed to create tcp listener: listen tcp: lookup tcp/abc"),
    (Parse.PORT, V280, NEXT, "'failed to create TCP socket: listen tcp: lookup tcp/abc"),
    (Parse.API_KEY, V220, (2, 10, 0), "'config error: STATIC_API_KEY must be at least 16"),
    (Parse.API_KEY, (2, 10, 0), NEXT, "'config error: when set, STATIC_API_KEY must be at"),
    (Parse.TLS_PATH, (2, 6, 0), (2, 13, 0), "'config error: TLS_CERT_FILE not found: stat -----"),
    (Parse.TLS_PEM, (2, 13, 0), NEXT, "'failed to load TLS certificate: tls: failed to find any"),
    (Parse.SYSTEMD, V280, NEXT, "'did not receive any sockets from systemd'"),
    (Parse.UI_BOOL, V220, (2, 12, 0), "it is read with ParseBool"),
    (Parse.UI_BOOL, (2, 12, 0), V2140, "it is read with go-kit's IsTruthy"),
    *((parse, V2140, NEXT, UI_WORDS) for parse in Parse if parse.value.startswith("ui-")),
]
"""The program's own words each version prints for the first bad value of a parser."""
RULE_OF = {
    "ENCRYPTION_KEY": "pocketid/encryption-key",
    "APP_URL": "pocketid/app-url",
    "TRUST_PROXY": "pocketid/trust-proxy",
}


VALID_BY_NAME: dict[str, str] = {
    "APP_ENV": "production",
    "PROXY_PROTOCOL": "false",  # any sender list makes the probes fail (see INVALID_TEXT)
}


def _valid(row: Var) -> str:
    if row.name in VALID_BY_NAME:
        return VALID_BY_NAME[row.name]
    if row.parse is Parse.ENUM:
        return row.choices[0].upper() if row.lower else row.choices[0]
    if row.parse is Parse.OTEL_EXPORTER:
        return ",".join(row.choices)
    if row.parse is Parse.UI_ENUM:
        return row.choices[-1]
    if row.parse is Parse.TLS_PEM:
        return PEM_CERT if row.name == "TLS_CERT" else PEM_KEY
    return VALID[row.parse]


def _invalid(row: Var, version: Version) -> list[tuple[str, Outcome]]:
    if row.name in INVALID_TEXT:
        return INVALID_TEXT[row.name]
    if version >= V2140 and row.ui:
        if row.parse is Parse.UI_TEXT:
            return INVALID_UI_TEXT_2140.get(row.name, [])
        return INVALID_2140.get(row.parse, [])
    cases = INVALID.get(row.parse, [])
    if row.name == "AUDIT_LOG_RETENTION_DAYS":
        cases = [*cases, ("0", R), ("-1", R)]
    if row.name == "FILE_BACKEND":
        cases = [*cases, ("S3", R)]  # s3 without S3_BUCKET: the first image listing fails
    if row.name == "TLS_KEY" and row.parse is Parse.TLS_PATH:
        cases = [(PEM_KEY, R)]
    if row.parse is Parse.UI_BOOL and version >= (2, 12, 0):
        cases = [("enabled", M), ("1 ", M)]  # go-kit's IsTruthy: yes and on are true
    return cases


def words_of(parse: Parse, version: Version) -> str | None:
    """The program's words for the first bad value of ``parse`` at ``version``, where pinned."""
    return next(
        (w for p, since, until, w in WORDS if p is parse and since <= version < until), None
    )


def rows_at(version: Version) -> list[Var]:
    return [row for row in ROWS if row.applies(version)]


def findings(docs: Docs) -> list[Finding]:
    resources = [Resource(doc, f"{key}.yaml") for key, doc in docs.items()]
    ctx = Context(resources)
    return [*pocketid.check(ctx), *environment.check(ctx)]


def _tag(version: Version) -> str:
    return "v" + ".".join(map(str, version))


@functools.cache
def _bundle() -> Docs:
    return bundle()


def with_value(row: Var, value: str, version: Version = V220) -> Docs:
    """The bundle pinned to ``version`` with ``row`` set to ``value`` (and what it needs)."""
    docs = copy.deepcopy(_bundle())
    data = config(docs)
    data[row.name] = value
    if row.read_when:
        data[row.read_when] = {"ENABLED": "true", "XPORTER": "prometheus"}.get(
            row.read_when[-7:], "/run/p.sock"
        )
    if row.parse is Parse.OTEL_PROTOCOL:  # read by its own signal's otlp exporter (run)
        signal = row.name.removeprefix("OTEL_EXPORTER_OTLP_").removesuffix("PROTOCOL") or "LOGS_"
        data[f"OTEL_{signal}EXPORTER"] = "otlp"
        if version < V2100:
            data.update({"TRACING_ENABLED": "true", "METRICS_ENABLED": "true"})
    if row.ui:
        data["UI_CONFIG_DISABLED"] = "true"
    if row.name == "ENCRYPTION_KEY":
        container(docs).pop("env")  # the file variant wins over the value
    if row.parse in (Parse.TLS_PATH, Parse.TLS_PEM, Parse.TLS_FILE):
        partner = row.name.replace("CERT", "@").replace("KEY", "CERT").replace("@", "KEY")
        other = lookup(partner, version)
        assert other is not None
        data[partner] = _valid(other)
    container(docs)["image"] = IMAGE.format(_tag(version))
    return docs


def about(found: list[Finding], name: str) -> list[Finding]:
    return [f for f in found if f.message.startswith(f"{name}=")]


def cases() -> Iterator[Any]:
    for version in VERSIONS:
        tag = _tag(version)
        for row in rows_at(version):
            yield pytest.param(row, _valid(row), None, version, id=f"{tag}-{row.name}-valid")
            for value, outcome in _invalid(row, version):
                yield pytest.param(row, value, outcome, version, id=f"{tag}-{row.name}={value!r}")


@pytest.mark.parametrize("version", MINORS, ids=_tag)
def test_every_parser_has_cases(version: Version) -> None:
    """No row escapes: each parser of the version has a valid value, each checked one bad ones."""
    parsers = {row.parse for row in rows_at(version)}
    assert parsers <= set(VALID)
    unchecked = {Parse.TEXT, Parse.PATH, Parse.TLS_FILE}  # TLS_FILE: explicit tests below
    if version < V2140:
        unchecked |= {Parse.UI_TEXT, Parse.UI_EMAIL, Parse.UI_PATTERNS}  # not checked at start
    bad = {row.parse for row in rows_at(version) if _invalid(row, version)}
    assert parsers - unchecked <= bad


@pytest.mark.parametrize(("row", "value", "outcome", "version"), list(cases()))
def test_each_variable(row: Var, value: str, outcome: Outcome | None, version: Version) -> None:
    """A valid value raises nothing about the variable; a bad one one finding, in its words."""
    found = about(findings(with_value(row, value, version)), row.name)
    if outcome is None:
        assert found == [], [f.message for f in found]
        return
    assert len(found) == 1, [f.message for f in found]
    (only,) = found
    assert only.rule == RULE_OF.get(row.name, "pocketid/env-value")
    assert only.severity is (Severity.ERROR if outcome.outage else Severity.WARNING)
    shown = "(value not shown: secret)" if row.secret else repr(value)
    opening = f"{row.name}={shown}: Pocket-ID {outcome.value}: "
    assert only.message.startswith(opening), only.message
    words = words_of(row.parse, version)
    if words is not None and (row.parse, value) in FIRST_BAD:
        assert only.message.startswith(opening + words), only.message
    if version >= V2140 and row.ui:
        assert f"configuration: {row.name} " in only.message
    assert only.hint
    if row.secret and value:
        assert value not in only.message + only.hint


FIRST_BAD = {
    (parse, values[0][0]) for parse, values in [*INVALID.items(), *INVALID_2140.items()] if values
} | {(Parse.API_KEY, "short"), (Parse.UI_TEXT, ""), (Parse.UI_BOOL, "enabled")}


def validator_cases() -> Iterator[Any]:
    for version in MINORS:
        tag = _tag(version)
        for row in rows_at(version):
            yield pytest.param(row, _valid(row), None, version, id=f"{tag}-{row.name}-valid")
            for value, outcome in _invalid(row, version):
                yield pytest.param(row, value, outcome, version, id=f"{tag}-{row.name}={value!r}")


@pytest.mark.parametrize(("row", "value", "outcome", "version"), list(validator_cases()))
def test_each_row_at_every_minor(
    row: Var, value: str, outcome: Outcome | None, version: Version
) -> None:
    """Every minor v2.2 to v2.14: the validator's verdict and words for each row's values."""
    env = config(with_value(row, value, version))
    problem = validate(row, value, env, version)
    if outcome is None:
        assert problem is None, problem
        return
    assert problem is not None
    assert problem.outcome is outcome
    words = words_of(row.parse, version)
    if words is not None and (row.parse, value) in FIRST_BAD:
        assert problem.says.startswith(words), problem.says


def test_secrets_from_a_secret_are_validated_but_never_shown() -> None:
    """A short key in a Secret in the set is an error that does not print the key."""
    docs = bundle()
    key = "tiny-key"
    docs["Secret/pocket-id-env"] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "pocket-id-env", "namespace": "pocket-id"},
        "data": {
            "ENCRYPTION_KEY": base64.b64encode(key.encode()).decode(),
            "LOG_LEVEL": base64.b64encode(b"trace").decode(),
        },
    }
    c = container(docs)
    c.pop("env")
    c["envFrom"].append({"secretRef": {"name": "pocket-id-env"}})
    found = findings(docs)
    (short,) = about(found, "ENCRYPTION_KEY")
    assert short.severity is Severity.ERROR
    assert "(it has 8)" in short.message
    (level,) = about(found, "LOG_LEVEL")
    assert level.message.startswith("LOG_LEVEL=(value not shown: from a Secret): ")
    assert all(key not in f.message and "trace" not in f.message for f in found)


# --- versions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "tag", "severity", "opening"),
    [
        ("TRUST_PROXY", "10.42.0.0/16", "v2.10.0", Severity.ERROR, "Pocket-ID refuses to start"),
        ("TRUST_PROXY", "10.42.0.0/16", "v2.11.0", None, ""),
        ("TRUST_PROXY", " true", "v2.11.0", None, ""),
        (
            "TRUST_PROXY",
            "yes",
            "v2.12.0",
            Severity.ERROR,
            "Pocket-ID refuses to start: 'Configuration error ... invalid proxy IP address",
        ),
        (
            "TRUST_PROXY",
            "yes",
            "v2.11.0",
            Severity.ERROR,
            "Pocket-ID refuses to start: 'failed to configure trusted proxies",
        ),
        ("METRICS_ENABLED", "yes", "v2.9.0", Severity.ERROR, "Pocket-ID refuses to start"),
        ("METRICS_ENABLED", "yes", "v2.10.0", None, ""),
        ("OTEL_TRACES_EXPORTER", "jaeger", "v2.2.0", None, ""),
        ("OTEL_TRACES_EXPORTER", "jaeger", "v2.10.0", Severity.ERROR, "Pocket-ID refuses"),
        ("EMAILS_VERIFIED", "yes", "v2.13.0", None, ""),  # go-kit's IsTruthy: yes is true
        ("EMAILS_VERIFIED", "enabled", "v2.13.0", Severity.WARNING, "Pocket-ID starts, but"),
        ("EMAILS_VERIFIED", "True", "v2.8.0", None, ""),  # ParseBool: True is true
        (
            "EMAILS_VERIFIED",
            "True",
            "v2.14.0",
            Severity.ERROR,
            "Pocket-ID refuses to start: 'invalid environment app configuration: EMAILS_VERIFIED "
            "must be either true or false'",
        ),
        (
            "EMAILS_VERIFIED",
            "yes",
            "v2.14.0",
            Severity.ERROR,
            "Pocket-ID refuses to start: 'invalid environment app configuration: EMAILS_VERIFIED "
            "must be either true or false'",
        ),
        ("LOG_LEVEL", "trace", "v2.20.0", Severity.WARNING, "Pocket-ID refuses to start"),
        ("LOG_LEVEL", "trace", "latest", Severity.WARNING, "Pocket-ID refuses to start"),
    ],
)
def test_the_image_version_decides(
    name: str, value: str, tag: str, severity: Severity | None, opening: str
) -> None:
    """Facts change with the tag; an unverified tag turns errors into 'checked against' warnings."""
    docs = bundle()
    config(docs)[name] = value
    config(docs)["UI_CONFIG_DISABLED"] = "true"
    container(docs)["image"] = IMAGE.format(tag)
    found = about(findings(docs), name)
    if severity is None:
        assert found == []
        return
    (only,) = found
    assert only.severity is severity
    assert only.message.startswith(f"{name}={value!r}: {opening}")
    if tag == "v2.20.0":
        assert only.message.endswith("(checked against v2.14.0's facts)")
    if tag == "latest":
        assert only.message.endswith("(version unknown: v2.14.0's facts assumed)")


@pytest.mark.parametrize(
    ("tag", "severity", "words"),
    [
        ("v2.2.0", None, ""),
        ("v2.14.3", None, ""),
        (
            "v2.6.2",
            Severity.INFO,
            "image tag v2.6.2: checked against v2.6.2's facts, read upstream for what changes",
        ),
        ("v2.20.0", Severity.WARNING, "image tag v2.20.0: not a release whose facts were read"),
        (
            "latest",
            Severity.WARNING,
            "image tag latest: the version is unknown (v2.2.0 to v2.14.x were read), so settings "
            "were checked against v2.14.0's facts, the newest read (assumed)",
        ),
        ("v1.16.0", Severity.WARNING, "runs Pocket-ID v1.16.0, before v2"),
        # Arabic-Indic digits: no release (Python's \d read it as v2.2.0, so no finding)
        ("v\u0662.\u0662.\u0660", Severity.WARNING, "the version is unknown (v2.2.0 to v2.14.x"),
    ],
)
def test_the_version_is_named(tag: str, severity: Severity | None, words: str) -> None:
    """Any tag but v2.2.0 says which facts it was checked against."""
    docs = bundle()
    container(docs)["image"] = IMAGE.format(tag)
    found = [f for f in findings(docs) if f.rule == "pocketid/version"]
    assert [f.severity for f in found] == ([severity] if severity else [])
    if words:
        assert words in found[0].message


@pytest.mark.parametrize(
    "image",
    [
        "stonith404/pocket-id:v2.2.0",
        "ghcr.io/stonith404/pocket-id:v2.2.0",
        "docker.io/pocketid/pocket-id:v2.2.0",
        "registry.example.com:5000/mirror/pocket-id/pocket-id:v2.2.0@sha256:" + "a" * 64,
    ],
)
def test_the_image_under_every_name(image: str) -> None:
    """Former name, other registries and mirrors: the same rules apply."""
    docs = bundle()
    container(docs)["image"] = image
    config(docs)["TRUST_PROXY"] = "yes"
    (found,) = about(findings(docs), "TRUST_PROXY")
    assert found.severity is Severity.ERROR


# --- files, the listener, a missing ConfigMap -----------------------------------------------

KEY_FILE = "/run/secrets/pocket-id/encryption-key"


def _volume(docs: Docs) -> dict[str, Any]:
    volumes: list[dict[str, Any]] = docs["Deployment/pocket-id"]["spec"]["template"]["spec"][
        "volumes"
    ]
    return next(v for v in volumes if v["name"] == "secrets")


def _secret(docs: Docs, value: bytes) -> None:
    docs["Secret/pocket-id-secrets"] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "pocket-id-secrets", "namespace": "pocket-id"},
        "data": {"encryption-key": base64.b64encode(value).decode()},
    }
    docs.pop("SealedSecret/pocket-id-secrets")


def _lacking(docs: Docs) -> None:
    """The Secret is in the set but holds another key; the volume projects all its keys."""
    _secret(docs, b"k" * 32)
    docs["Secret/pocket-id-secrets"]["data"] = {"other": "eA=="}
    _volume(docs)["secret"].pop("items")


FILE_CASES: dict[str, tuple[Callable[[Docs], object], str, str]] = {
    "unmounted": (
        lambda d: container(d)["env"][0].update(value="/etc/key"),
        "pocketid/encryption-key",
        "ENCRYPTION_KEY_FILE names /etc/key, which is on no mounted volume",
    ),
    "mount-folder-itself": (
        lambda d: container(d)["env"][0].update(value="/run/secrets/pocket-id"),
        "pocketid/encryption-key",
        "ENCRYPTION_KEY_FILE names /run/secrets/pocket-id, which is the mount folder itself",
    ),
    "key-not-projected": (
        lambda d: _volume(d)["secret"].update(items=[{"key": "encryption-key", "path": "k"}]),
        "pocketid/encryption-key",
        f"ENCRYPTION_KEY_FILE names {KEY_FILE}, but volume 'secrets' provides k",
    ),
    "secret-lacks-the-key": (
        _lacking,
        "pocketid/encryption-key",
        f"ENCRYPTION_KEY_FILE names {KEY_FILE}, but volume 'secrets' provides other",
    ),
    "short-key-file": (
        lambda d: _secret(d, b"fifteen-bytes!\n"),
        "pocketid/encryption-key",
        f"ENCRYPTION_KEY_FILE names {KEY_FILE}, whose content has 15 bytes",
    ),
    "static-api-key-file": (
        lambda d: config(d).update(STATIC_API_KEY_FILE="/secrets/api-key"),
        "pocketid/env-file",
        "STATIC_API_KEY_FILE names /secrets/api-key, which is on no mounted volume",
    ),
    "smtp-password-file-ui-disabled": (
        lambda d: config(d).update({"SMTP_PASSWORD_FILE": "/secrets/smtp"}),
        "pocketid/env-file",
        "SMTP_PASSWORD_FILE names /secrets/smtp, which is on no mounted volume",
    ),
}


@pytest.mark.parametrize("case", FILE_CASES)
def test_file_variables_reach_their_file(case: str) -> None:
    """Each *_FILE is followed to its mount, projected key and Secret; one finding each."""
    change, rule, opening = FILE_CASES[case]
    docs = bundle()
    change(docs)
    found = [f for f in findings(docs) if f.rule in ("pocketid/encryption-key", rule)]
    assert [f.rule for f in found] == [rule]
    assert found[0].message.startswith(opening), found[0].message
    assert found[0].severity is Severity.ERROR


def test_a_key_file_of_sixteen_bytes_with_its_newline_is_enough() -> None:
    """ENCRYPTION_KEY_FILE is not trimmed: 15 characters and a newline are 16 bytes."""
    docs = bundle()
    _secret(docs, b"fifteen-chars!!\n")
    assert [f for f in findings(docs) if f.rule == "pocketid/encryption-key"] == []


def test_ui_password_files_are_ignored_while_the_database_rules() -> None:
    """SMTP_PASSWORD_FILE is read only with UI_CONFIG_DISABLED=true."""
    docs = bundle()
    config(docs).update({"SMTP_PASSWORD_FILE": "/secrets/smtp", "UI_CONFIG_DISABLED": "false"})
    assert [f for f in findings(docs) if f.rule == "pocketid/env-file"] == []


@pytest.mark.parametrize(
    ("port", "expected"),
    [
        ("1411", None),
        (
            "8080",
            "Pocket-ID listens on 8080 (PORT=8080), but containerPort 1411, the startupProbe "
            "(port 1411), the readinessProbe (port 1411), the livenessProbe (port 1411), Service "
            "pocket-id (targetPort 1411) expect another port",
        ),
    ],
)
def test_port_agrees_with_the_pod_and_service(port: str, expected: str | None) -> None:
    """PORT is compared with the container port, the probes (named ports resolved), the Service."""
    docs = bundle()
    config(docs)["PORT"] = port
    found = [f for f in findings(docs) if f.rule == "pocketid/listener"]
    assert [f.message.split(":")[0] for f in found] == ([expected] if expected else [])


def test_a_probe_port_of_other_digits_is_a_name_the_container_lacks() -> None:
    """A probe's port '¹' (a digit to str.isdigit, which int() refuses: the check ended in an
    internal error) is read as the kubelet reads it, a port name, here one not declared."""
    docs = bundle()
    container(docs)["startupProbe"]["httpGet"]["port"] = "\u00b9"
    assert [(f.rule, f.message) for f in findings(docs)] == [
        (
            "pocketid/health-probe",
            "startupProbe targets port \u00b9, which the container does not declare",
        )
    ]


def test_a_deployment_without_its_configmap_is_not_blamed_for_app_url() -> None:
    """APP_URL may come from a ConfigMap that is not in the checked set.

    A required one is refs/missing-reference's single finding (one per defect); an optional
    one is not reported there, so a warning says APP_URL may come from it.
    """
    docs = {"Deployment/pocket-id": bundle()["Deployment/pocket-id"]}
    assert [f for f in findings(docs) if f.rule == "pocketid/app-url"] == []
    ctx = Context([Resource(doc, f"{key}.yaml") for key, doc in docs.items()])
    assert [f.rule for f in refs.check(ctx) if "pocket-id-config" in f.message] == [
        "refs/missing-reference"
    ]
    container(docs)["envFrom"][0]["configMapRef"]["optional"] = True
    found = [f for f in findings(docs) if f.rule == "pocketid/app-url"]
    assert [(f.severity, f.message.split(";")[0]) for f in found] == [
        (Severity.WARNING, "APP_URL is not set in the checked manifests")
    ]


def test_the_lookup_knows_every_row_at_its_versions() -> None:
    """Rows of one name never overlap: at any version one row (or none) applies."""
    for row in ROWS:
        for version in [(2, minor, 0) for minor in range(0, 16)]:
            matching = [r for r in ROWS if r.name == row.name and r.applies(version)]
            assert len(matching) <= 1, (row.name, version)
            if matching:
                assert lookup(row.name, version) == matching[0]


@pytest.mark.parametrize(
    ("name", "value", "tag", "expected"),
    [
        (
            "METRICS_ENABLED",
            "true",
            "v2.14.0",
            (Severity.WARNING, "METRICS_ENABLED does nothing in v2.14.0 (no longer read from "),
        ),
        ("METRICS_ENABLED", "false", "v2.14.0", None),
        (
            "SIGNUP_DEFAULT_USER_GROUP_IDS",
            '["a"]',
            "v2.2.0",
            (
                Severity.INFO,
                "SIGNUP_DEFAULT_USER_GROUP_IDS does nothing in v2.2.0 (read only from ",
            ),
        ),
        ("SIGNUP_DEFAULT_USER_GROUP_IDS", "[]", "v2.2.0", None),
        ("PUID", "1000", "v2.2.0", None),
    ],
)
def test_a_variable_of_another_release_is_named(
    name: str, value: str, tag: str, expected: tuple[Severity, str] | None
) -> None:
    """A variable only other releases read does nothing: said unless its value is the default."""
    docs = bundle()
    config(docs)[name] = value
    container(docs)["image"] = IMAGE.format(tag)
    found = [f for f in findings(docs) if f.message.startswith(f"{name} does nothing")]
    if expected is None:
        assert found == []
        return
    (only,) = found
    assert (only.severity, only.message[: len(expected[1])]) == expected


def test_a_second_port_for_metrics_is_not_a_mismatch() -> None:
    """A metrics port beside Pocket-ID's, and a Service port for it, are fine: one port matches."""
    docs = bundle()
    container(docs)["ports"].append({"name": "metrics", "containerPort": 9464})
    docs["Service/pocket-id"]["spec"]["ports"].append(
        {"name": "metrics", "port": 9464, "targetPort": "metrics"}
    )
    assert [f for f in findings(docs) if f.rule == "pocketid/listener"] == []
    config(docs)["PORT"] = "9464"
    (found,) = [f for f in findings(docs) if f.rule == "pocketid/listener"]
    assert "the startupProbe (port 1411)" in found.message
