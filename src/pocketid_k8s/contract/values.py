"""What Pocket-ID does with a value: validate one variable against its row, in its own words.

Each check returns a :class:`Problem` (what the program does, quoting its own
message, and the fix) or None when the value is accepted. The wording is
shared: ``check`` reports it for manifests and ``config`` refuses the same
values at render time. A secret's value never appears in a message.

Confirmed by running the v2.2.0 backend on loopback (one variable changed at a
time, otherwise valid environment), 2026-11-26: every REFUSES outcome of the
bool, int, enum, APP_URL, INTERNAL_APP_URL, STATIC_API_KEY, LOCAL_IPV6_RANGES,
SQLite pragma, PORT, UNIX_SOCKET_MODE, OTEL_* and ``_FILE`` checks below
(including FILE_BACKEND=S3 without S3 settings, SMTP_PASSWORD_FILE with
UI_CONFIG_DISABLED=true and a HOST that does not resolve), and that these
start: APP_URL with trailing slashes, a query, a fragment or upper case; ``+5``
for an int; ``DEBUG``/``warning`` for LOG_LEVEL; ``FILE_BACKEND=Database``;
UNIX_SOCKET_MODE=999 or OTEL_TRACES_EXPORTER=jaeger or
OTEL_EXPORTER_OTLP_PROTOCOL=http/json while unused; SMTP_PASSWORD_FILE missing
while the UI config is in the database; EMAILS_VERIFIED=yes and
SESSION_DURATION=abc with UI_CONFIG_DISABLED=true; an empty TRUST_PROXY; a key
file of 15 characters and a newline.

A second run (248 one-change cases generated from the table, the bundle's environment,
uid 1000 with only the bundle's volumes writable; docs/contract.md) confirmed these too:
HOST set to an IP address that is not the pod's refuses to start ('bind: cannot assign
requested address'); a SQLite path or UPLOAD_PATH off the volumes refuses under a read-only
root, and POSTGRES:// (upper case) is such a SQLite path; ':memory:' starts; HOST=localhost,
PORT=0 and UNIX_SOCKET start but are not reachable on the probed port; every _FILE variable
naming a missing file or a folder refuses. Everything else is read from the source.

v2.8.0 and v2.14.0 were run the same way (2026-12-03, issue 20; how each binary was built:
:data:`pocketid_k8s.contract.pocketid.RUNS`; the figures: docs/contract.md): the checks marked
"run" below (the actor host's UDP port, the OTLP protocols per signal, the TLS words) and every
v2.14.0 UI-setting refusal, SYSTEMD_SOCKET, the lone TLS value and PROXY_PROTOCOL outcome are
confirmed by running; the minors between are read at their tags.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Final, NamedTuple
from urllib.parse import parse_qsl

from pocketid_k8s.contract.env import BOOL_FALSE, BOOL_TRUE, POSTGRES_PREFIXES, parse_bool
from pocketid_k8s.contract.image import Version, show_version
from pocketid_k8s.contract.pocketid import KEY_TOO_SHORT, TLS_PEM_SINCE
from pocketid_k8s.contract.table import Parse, Var, file_base, lookup

UI_VALIDATED_SINCE: Final[Version] = (2, 14, 0)
"""appconfig/service.go@v2.14.0 validateEnvConfig: the UI settings are checked at start."""
UI_TRUTHY_SINCE: Final[Version] = (2, 12, 0)
"""appconfig/model.go@v2.12.0: UI booleans read with go-kit's IsTruthy instead of ParseBool."""
PROXIES_AT_PARSE_SINCE: Final[Version] = (2, 12, 0)
SOCKET_WORDS_SINCE: Final[Version] = (2, 8, 0)
"""bootstrap/socket.go@v2.8.0: 'failed to create TCP socket' (before: 'failed to create tcp
listener', router_bootstrap.go@v2.2.0)."""
API_KEY_WORDS_SINCE: Final[Version] = (2, 10, 0)
"""common/env_config.go@v2.10.0: 'when set, STATIC_API_KEY must be ...'."""
SQLITEKIT_SINCE: Final[Version] = (2, 10, 0)
"""bootstrap/db_bootstrap.go@v2.10.0: SQLite connection strings go to italypaleale/go-sql-utils'
sqlitekit.NewConnector (not in the snapshot read), no longer to Pocket-ID's own check."""
_TRUTHY: Final = ("1", "true", "t", "on", "yes", "y")
_FALSY: Final = ("0", "false", "f", "off", "no", "n")
_BOOLS: Final = ", ".join(BOOL_TRUE + BOOL_FALSE)


class Outcome(StrEnum):
    """What the program does with a value; the first two stop Pocket-ID from serving."""

    REFUSES = "refuses to start"
    UNREACHABLE = "starts, but cannot be reached through the pod's port"
    LOSES_DATA = "starts, but keeps its database where a restart loses it"
    MISBEHAVES = "starts, but misbehaves"

    @property
    def outage(self) -> bool:
        """Whether ``check`` makes it an error: no service, or no data after a restart."""
        return self is not Outcome.MISBEHAVES


class Problem(NamedTuple):
    outcome: Outcome
    says: str
    """What Pocket-ID does, quoting its own message where it prints one."""
    fix: str


def shown(row: Var, value: str) -> str:
    """How a message names the value: quoted, or not at all for a secret."""
    return "(value not shown: secret)" if row.secret else repr(value)


def message(row: Var, value: str, problem: Problem) -> str:
    """The one sentence ``check`` and ``config`` both say about a bad value."""
    return f"{row.name}={shown(row, value)}: Pocket-ID {problem.outcome.value}: {problem.says}"


Env = Mapping[str, str]
"""The other variables of the same container (literal values, or SET_UNKNOWN)."""
SET_UNKNOWN: Final = "\x00(set, value unknown)"
"""Stands for a variable set from a source outside the checked set (a SealedSecret's key):
present for the cross-variable checks (a TLS pair, S3_BUCKET), matching no value or spelling."""


def _go(value: str) -> str:
    """A value as Go's %q prints it (double quotes), as in Pocket-ID's own messages."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _refuses(says: str, fix: str) -> Problem:
    return Problem(Outcome.REFUSES, says, fix)


def _misbehaves(says: str, fix: str) -> Problem:
    return Problem(Outcome.MISBEHAVES, says, fix)


# --- the parsers ----------------------------------------------------------------------------


def _bool(row: Var, value: str, env: Env, version: Version) -> Problem | None:
    if value == "" or parse_bool(value) is not None:
        return None
    return _refuses(
        f"'Configuration error ... strconv.ParseBool: parsing {_go(value)}: invalid syntax' "
        "(even when the feature is unused)",
        f"use true or false (Go accepts exactly {_BOOLS})",
    )


_INT = re.compile(r"^[+-]?[0-9]+$")


def _int(row: Var, value: str, env: Env, version: Version) -> Problem | None:
    if value == "":
        return None
    if not _INT.match(value) or not -(2**31) <= int(value) < 2**31:
        why = "invalid syntax" if not _INT.match(value) else "value out of range"
        return _refuses(
            f"'Configuration error ... strconv.ParseInt: parsing {_go(value)}: {why}'",
            "use a whole number without unit, e.g. 90",
        )
    if row.minimum is not None and int(value) < row.minimum:
        return _refuses(
            f"'config error: {row.name} must be greater than {row.minimum - 1}'",
            f"use a whole number of at least {row.minimum}",
        )
    return None


_ENUM_WORDS: Final = {
    "FILE_BACKEND": "config error: invalid FILE_BACKEND value. Must be 'filesystem', "
    "'database', or 's3'",
    "LOG_LEVEL": "config error: invalid LOG_LEVEL value. Must be 'debug', 'info', 'warn' or "
    "'error'",
}


def _enum(row: Var, value: str, env: Env, version: Version) -> Problem | None:
    if value == "":
        return None
    given = value.lower() if row.lower else value
    if given in row.choices:
        if row.name == "FILE_BACKEND" and given == "s3" and not env.get("S3_BUCKET"):
            return _refuses(
                "'failed to initialize application images: failed to list application images: "
                "operation error S3: ...' (no S3_BUCKET or credentials)",
                "set S3_BUCKET, S3_REGION and the credentials, or use filesystem",
            )
        return None
    return _refuses(
        f"'{_ENUM_WORDS.get(row.name, 'invalid value')}'",
        f"use one of {', '.join(row.choices)}",
    )


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_HOST_CHARS = re.compile(r"^[A-Za-z0-9._~!$&'()*+,;=%-]*$")


def go_url_path(value: str) -> str | None:
    """The Path Go's url.Parse gives ``value``, or None where url.Parse returns an error.

    Enough of net/url for the cases that decide APP_URL's fate: control characters, an
    invalid host or port, and where the path starts (a scheme-less value is all path).
    """
    if _CONTROL.search(value):
        return None
    rest = value.split("#", 1)[0]
    scheme = _SCHEME.match(rest)
    if rest.startswith(":"):
        return None
    if scheme:
        rest = rest[scheme.end() :]
    elif ":" in rest.split("/", 1)[0]:
        return None  # "first path segment in URL cannot contain colon"
    rest = rest.split("?", 1)[0]
    if scheme and not rest.startswith("/"):
        return ""  # opaque: 'localhost:1411' is scheme 'localhost'
    if rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        host = authority.rpartition("@")[2]
        if host.startswith("["):
            end = host.find("]")
            if end < 0:
                return None
            port = host[end + 1 :]
            if port and not re.fullmatch(r":[0-9]*", port):
                return None
        else:
            name, colon, port = host.rpartition(":") if ":" in host else (host, "", "")
            if colon and not go_digits(port) and port != "":
                return None
            if not _HOST_CHARS.match(name):
                return None
        return slash + path
    return rest


def _app_url(row: Var, value: str, env: Env, version: Version) -> Problem | None:
    if value == "":
        return None
    url = value.lower().rstrip("/") if row.lower else value
    path = go_url_path(url)
    if path is None:
        return _refuses(
            f"'config error: {row.name} is not a valid URL'",
            "use the origin only, e.g. https://auth.example.com",
        )
    if path:
        return _refuses(
            f"'config error: {row.name} must not contain a path'"
            + (" (a trailing '/' is a path here: it is not trimmed)" if path == "/" else ""),
            "use the origin only, e.g. https://auth.example.com"
            if row.lower
            else "use the origin only, without a trailing '/', e.g. http://pocket-id:1411",
        )
    if not url.startswith(("http://", "https://")) or url.split("://", 1)[1] in ("", "/"):
        return _misbehaves(
            "it is not an http(s) URL with a host, so the issuer, the passkey domain and every "
            "link are wrong",
            "use the public origin, e.g. https://auth.example.com",
        )
    if "?" in url or "#" in url:
        return _misbehaves(
            "the query or fragment is kept in the issuer and in every link it builds, which "
            "OIDC clients reject"
            if row.lower
            else "the query or fragment is kept in the back-channel endpoint URLs (token, "
            "userinfo, jwks) it builds, so those requests go wrong",
            "use the origin only, e.g. https://auth.example.com"
            if row.lower
            else "use the origin only, e.g. http://pocket-id:1411",
        )
    return None


def _key(row: Var, value: str, env: Env, version: Version) -> Problem | None:
    if len(value.encode()) < (row.min_bytes or 0):
        return _refuses(
            f"'config error: {KEY_TOO_SHORT}' (it has {len(value.encode())})",
            "give it at least 16 bytes: seal a key of 32 random bytes (pocketid-k8s seal)",
        )
    return None


def _api_key(row: Var, value: str, env: Env, version: Version) -> Problem | None:
    if value and len(value.encode()) < (row.min_bytes or 0):
        when = "when set, " if version >= API_KEY_WORDS_SINCE else ""
        return _refuses(
            f"'config error: {when}{row.name} must be at least {row.min_bytes} characters long'",
            f"use at least {row.min_bytes} random characters, or leave it empty",
        )
    return None


def _listen_words(version: Version) -> str:
    """How the program names the failed TCP listener, per version."""
    return (
        "failed to create TCP socket: listen tcp"
        if version >= SOCKET_WORDS_SINCE
        else "failed to create tcp listener: listen tcp"
    )


def go_digits(text: str) -> bool:
    """Whether ``text`` is a number as Go's strconv and net read one (a port, Retry-After):
    ASCII digits. str.isdigit is also true of '¹' and '٣', which int() refuses or reads and Go
    refuses ('unknown port')."""
    return text.isascii() and text.isdigit()


def _port_number(row: Var, value: str, version: Version, words: str) -> Problem | None:
    if not go_digits(value):
        return _refuses(
            f"'{words}: lookup tcp/{value}: unknown port'",
            f"use a port number, e.g. {row.default}",
        )
    if int(value) > 65535:
        return _refuses(
            f"'{words}: address {value}: invalid port'",
            "use a port number from 1 to 65535",
        )
    return None


def _port(row: Var, value: str, env: Env, version: Version) -> Problem | None:
    if value == "":
        return None
    problem = _port_number(row, value, version, _listen_words(version))
    if problem is not None:
        return problem
    if int(value) == 0:
        return Problem(
            Outcome.UNREACHABLE,
            "port 0 makes it listen on a random port",
            "use a fixed port, e.g. 1411",
        )
    return None


def _actors_port(row: Var, value: str, env: Env, version: Version) -> Problem | None:
    """The actor host's port: a UDP port (francis serves WebTransport over QUIC), so it never
    clashes with PORT's TCP listener; francis refuses 0 and anything but a number.

    Confirmed by running v2.14.0 (ACTORS_PORT=1411 beside PORT=1411 serves; 0 and abc refuse,
    99999 refuses); francis' host/local/host.go reads the same at v0.1.0-beta.6 (v2.10.0) to
    beta.23 (v2.14.0)."""
    if value == "":
        return None
    if not go_digits(value) or int(value) == 0:
        return _refuses(
            "'failed to initialize actors: failed to create actor host: option Address is "
            "invalid: port is invalid'",
            f"use a port number from 1 to 65535 (default {row.default}), or remove ACTORS_PORT",
        )
    if int(value) > 65535:
        return _refuses(
            f"'failed to run services: error running peer WebTransport server: address {value}: "
            "invalid port'",
            f"use a port number from 1 to 65535 (default {row.default}), or remove ACTORS_PORT",
        )
    return None


_LOOPBACK_NAMES: Final = ("localhost", "localhost.", "ip6-localhost")


def _host(row: Var, value: str, env: Env, version: Version) -> Problem | None:
    host = value.lower().strip("[]")
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - the wildcard addresses are what works
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if host in _LOOPBACK_NAMES or (address is not None and address.is_loopback):
        return Problem(
            Outcome.UNREACHABLE,
            f"it listens on {value} only, inside the pod: probes, the Service and the "
            "ingress cannot reach it",
            "remove HOST (the default 0.0.0.0 listens on every address)",
        )
    if address is not None:
        return _refuses(
            f"'{_listen_words(version)} {value}:...: bind: cannot assign "
            "requested address' (a pod's address is assigned at run time, so no manifest can "
            "name it)",
            "remove HOST (the default 0.0.0.0 listens on every address)",
        )
    return _misbehaves(
        f"it listens only on the address {value} resolves to: the pod's own name works, but a "
        "name that does not resolve in the pod ('lookup ...: no such host') or resolves to "
        "another address ('bind: cannot assign requested address') stops it at start",
        "remove HOST (the default 0.0.0.0 listens on every address)",
    )


def _actors_host(row: Var, value: str, env: Env, version: Version) -> Problem | None:
    """The actor host listens for other instances only: loopback serves a single pod fine."""
    host = value.lower().strip("[]")
    if host in ("", "0.0.0.0", "::", *_LOOPBACK_NAMES):  # noqa: S104 - these all work here
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None and address.is_loopback:
        return None
    if address is not None:
        return _refuses(
            "'failed to run services: error running peer WebTransport server: listen udp "
            f"{value}:...: bind: cannot assign requested address' (a pod's address is assigned "
            "at run time, so no manifest can name it)",
            "remove ACTORS_HOST (only other instances dial it; 0.0.0.0 or 127.0.0.1 both work)",
        )
    return _misbehaves(
        f"the actor host listens only on the address {value} resolves to: a name that does not "
        "resolve in the pod or resolves to another address stops it at start",
        "remove ACTORS_HOST (only other instances dial it; 0.0.0.0 or 127.0.0.1 both work)",
    )


def _systemd(row: Var, value: str, env: Env, version: Version) -> Problem | None:
    problem = _bool(row, value, env, version)
    if problem is not None or parse_bool(value) is not True:
        return problem
    if env.get("UNIX_SOCKET"):
        return _refuses(
            "'config error: SYSTEMD_SOCKET and UNIX_SOCKET are mutually exclusive'",
            "remove SYSTEMD_SOCKET and UNIX_SOCKET (a pod listens on TCP)",
        )
    return _refuses(
        "'did not receive any sockets from systemd' (a pod has no systemd to pass one)",
        "remove SYSTEMD_SOCKET (a pod listens on TCP: PORT)",
    )


def _socket(row: Var, value: str, env: Env, version: Version) -> Problem | None:
    if value == "":
        return None
    return Problem(
        Outcome.UNREACHABLE,
        "it listens on the Unix socket instead of TCP, so the port never opens: probes, the "
        "Service and the ingress fail",
        "remove UNIX_SOCKET",
    )


def _octal(row: Var, value: str, env: Env, version: Version) -> Problem | None:
    if not value or not env.get(row.read_when):
        return None
    if re.fullmatch(r"[0-7]+", value) and int(value, 8) < 2**32:
        return None
    return _refuses(
        f"'failed to parse UNIX socket mode {value!r}: strconv.ParseUint: parsing "
        f"{_go(value)}: invalid syntax'",
        "use octal digits, e.g. 0660 (not 0o660)",
    )


def _ipv6_cidrs(row: Var, value: str, env: Env, version: Version) -> Problem | None:
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            network = ipaddress.ip_network(item, strict=False) if "/" in item else None
        except ValueError:
            network = None
        if network is None:
            return _refuses(
                f"'config error: invalid LOCAL_IPV6_RANGES {item!r}: invalid CIDR address: {item}'",
                "use IPv6 CIDRs such as fd00::/8, separated by commas",
            )
        mapped = isinstance(network, ipaddress.IPv6Network) and (
            network.network_address.ipv4_mapped is not None
        )
        if network.version == 4 or mapped:
            return _refuses(
                f"'config error: range {item!r} is not a valid IPv6 range'",
                "list IPv6 ranges only (IPv4 private ranges are always local)",
            )
    return None


def _db(row: Var, value: str, env: Env, version: Version) -> Problem | None:
    if value == "" or value.startswith(POSTGRES_PREFIXES):
        return None
    if value.lower().startswith(POSTGRES_PREFIXES):
        return Problem(
            Outcome.LOSES_DATA,
            "the prefix is compared case-sensitively, so this is taken as a SQLite file path "
            "in the container's working folder, off the data volume (with a read-only root "
            "filesystem it cannot create it and refuses to start)",
            "write the scheme in lower case: postgres://",
        )
    query = value.split("?", 1)[1] if "?" in value else ""
    for key, item in parse_qsl(query, keep_blank_values=True):
        if (key == "_pragma" and item.lower().startswith("foreign_keys")) or key.lower() in (
            "_foreign_keys",
            "_fk",
        ):
            return _refuses(
                "'failed to connect to database: invalid SQLite connection string: found "
                "forbidden option '_pragma=foreign_keys' in the connection string'"
                if version < SQLITEKIT_SINCE
                else "'failed to connect to database: ...' (the connection string is checked "
                "by go-sql-utils' sqlitekit from v2.10.0, whose words were not read here)",
                "remove the foreign_keys option (Pocket-ID always turns foreign keys on)",
            )
    memory = value in (":memory:", "file::memory:") or "mode=memory" in query
    if memory:
        return Problem(
            Outcome.LOSES_DATA,
            "the database is in memory, so every restart loses all users, passkeys and keys",
            "use a file under the data volume, e.g. data/pocket-id.db",
        )
    return None


def _proxies(row: Var, value: str, env: Env, version: Version) -> Problem | None:
    text = value.strip()
    if text == "" or parse_bool(text) is not None:
        return _proxy_protocol(text, env) if row.name == "PROXY_PROTOCOL" and text else None
    for item in (part.strip() for part in text.split(",")):
        try:
            if "/" in item:
                ipaddress.ip_network(item, strict=False)
            else:
                ipaddress.ip_address(item)
        except ValueError:
            words = (
                f"'Configuration error ... invalid proxy IP address or CIDR {_go(item)}'"
                if version >= PROXIES_AT_PARSE_SINCE
                else f"'failed to configure trusted proxies: invalid IP address: {item}'"
            )
            return _refuses(words, "use true, false, or a comma list of IP addresses and CIDRs")
    if row.name == "PROXY_PROTOCOL":
        return _proxy_protocol(text, env)
    return None


def _proxy_protocol(text: str, env: Env) -> Problem | None:
    """PROXY_PROTOCOL set: every TCP connection but loopback must come from a listed sender
    with a PROXY header (bootstrap/proxy_protocol.go@v2.12.0: REQUIRE for the listed ranges,
    REJECT for the rest)."""
    if parse_bool(text) is False:
        return None
    if env.get("UNIX_SOCKET"):
        return _refuses(
            "'config error: PROXY_PROTOCOL and UNIX_SOCKET are mutually exclusive'",
            "remove PROXY_PROTOCOL and UNIX_SOCKET (a pod listens on TCP)",
        )
    return Problem(
        Outcome.UNREACHABLE,
        "the TCP listener rejects every connection without a PROXY-protocol header from the "
        "listed senders (loopback excepted): the kubelet's httpGet probes send none and fail, and "
        "so does the Service's traffic unless the ingress speaks PROXY protocol",
        "remove PROXY_PROTOCOL (TRUST_PROXY covers an ingress), or have the ingress send PROXY "
        "headers and probe with 'pocket-id healthcheck'",
    )


def _otel_read(row: Var, env: Env) -> bool:
    if row.read_when.endswith("_EXPORTER"):  # read by a metric reader that is not 'none'
        return env.get(row.read_when, "").strip() not in ("", "none")
    return not row.read_when or parse_bool(env.get(row.read_when, "")) is True


def _otel_exporter(row: Var, value: str, env: Env, version: Version) -> Problem | None:
    if value == "" or not _otel_read(row, env):
        return None
    for item in (part.strip() for part in value.split(",")):
        if item not in row.choices:
            return _refuses(
                "'failed to initialize OpenTelemetry: ... unknown exporter or metrics producer'",
                f"use one of {', '.join(row.choices)}",
            )
    return None


_SIGNALS: Final = {
    "LOGS": "OTEL_LOGS_EXPORTER",
    "TRACES": "OTEL_TRACES_EXPORTER",
    "METRICS": "OTEL_METRICS_EXPORTER",
}


def _otlp_signals(env: Env, version: Version) -> list[str]:
    """The signals (LOGS, TRACES, METRICS) whose exporter is otlp at start."""
    used = []
    for signal, name in _SIGNALS.items():
        exporter = lookup(name, version)
        if exporter is None or not _otel_read(exporter, env):
            continue
        if "otlp" in (e.strip() for e in env.get(name, exporter.default).split(",")):
            used.append(signal)
    return used


def _otel_protocol(row: Var, value: str, env: Env, version: Version) -> Problem | None:
    """autoexport reads OTEL_EXPORTER_OTLP_<SIGNAL>_PROTOCOL for that signal's otlp exporter
    only, and OTEL_EXPORTER_OTLP_PROTOCOL for an otlp exporter whose own variable is unset
    (confirmed by running v2.14.0: a bad TRACES or METRICS protocol serves while only the log
    exporter is otlp; a bad LOGS or general one refuses)."""
    if value == "" or value in row.choices:
        return None
    signals = _otlp_signals(env, version)
    own = row.name.removeprefix("OTEL_EXPORTER_OTLP_").removesuffix("_PROTOCOL")
    if own == "PROTOCOL":  # the general variable
        used = any(not env.get(f"OTEL_EXPORTER_OTLP_{s}_PROTOCOL") for s in signals)
    else:
        used = own in signals
    if not used:
        return None
    return _refuses(
        "'failed to initialize OpenTelemetry: ... invalid OTLP protocol - should be one of "
        "['grpc', 'http/protobuf']'",
        "use grpc or http/protobuf",
    )


def _given(env: Env, *names: str) -> bool:
    return any(env.get(name) for name in names)


def _partner(name: str) -> str:
    base = name.removesuffix("_FILE")
    other = "TLS_KEY" if base == "TLS_CERT" else "TLS_CERT"
    return other + ("_FILE" if name.endswith("_FILE") else "")


def _pair_words(name: str, version: Version) -> str:
    """v2.6.0 to v2.12.x name the pair by its fields, TLS_*_FILE, whichever variable was set."""
    base = name.removesuffix("_FILE")
    own = base + "_FILE" if version < TLS_PEM_SINCE else name
    other = _partner(base) + "_FILE" if version < TLS_PEM_SINCE else _partner(name)
    return f"'config error: {other} must be set when {own} is set'"


def _tls_path(row: Var, value: str, env: Env, version: Version) -> Problem | None:
    """v2.6.0 to v2.12.x: TLS_CERT/TLS_KEY (or their _FILE content) are paths, os.Stat at start
    (run: v2.8.0)."""
    other = _partner(row.name)
    if not value or not _given(env, other, other + "_FILE"):
        if value:
            return _refuses(
                _pair_words(row.name, version), f"set {other} too, or remove {row.name}"
            )
        return None
    if "-----BEGIN" in value or "\n" in value:
        cert = env.get("TLS_CERT", "")
        if row.name == "TLS_KEY" and "-----BEGIN" in cert:
            return None  # the certificate is stat'ed first: its finding is the one
        return _refuses(
            f"'config error: {row.name}_FILE not found: stat -----BEGIN ...: file name too long' "
            "(or 'no such file or directory', as the PEM's '/' characters fall; "
            f"{show_version(version)} reads {row.name} as a file path; PEM content is read only "
            "from v2.13.0)",
            f"mount the PEM file from a Secret and set {row.name} to its path",
        )
    return None


def _tls_pem(row: Var, value: str, env: Env, version: Version) -> Problem | None:
    """v2.13.0 on: TLS_CERT/TLS_KEY are the PEM content itself (tls.X509KeyPair)."""
    if not value or _given(env, "TLS_CERT_FILE", "TLS_KEY_FILE"):
        return None  # mixing inline and file forms is the _FILE variable's one finding
    other = _partner(row.name)
    if not env.get(other):
        return _refuses(_pair_words(row.name, version), f"set {other} too, or remove {row.name}")
    if "-----BEGIN" not in value:
        cert = env.get("TLS_CERT", "")
        if row.name == "TLS_KEY" and cert not in ("", SET_UNKNOWN) and "-----BEGIN" not in cert:
            return None  # tls.X509KeyPair reads the certificate first: its finding is the one
        what = "certificate" if row.name == "TLS_CERT" else "key"
        return _refuses(
            f"'failed to load TLS certificate: tls: failed to find any PEM data in {what} "
            f"input' ({show_version(version)} reads {row.name} as PEM content, not a "
            "path)",
            f"put the PEM content in {row.name}, or the file's path in {row.name}_FILE",
        )
    return None


def _tls_file(row: Var, value: str, env: Env, version: Version) -> Problem | None:
    """TLS_CERT_FILE/TLS_KEY_FILE: paired like the values; from v2.13.0 never with them."""
    if not value:
        return None
    if version >= TLS_PEM_SINCE and _given(env, "TLS_CERT", "TLS_KEY"):
        return _refuses(
            "'config error: TLS_CERT and TLS_KEY cannot be combined with TLS_CERT_FILE or "
            "TLS_KEY_FILE'",
            "use either the PEM values or the _FILE paths, not both",
        )
    other = _partner(row.name)
    others = (other,) if version >= TLS_PEM_SINCE else (other, other.removesuffix("_FILE"))
    if not _given(env, *others):
        return _refuses(_pair_words(row.name, version), f"set {other} too, or remove {row.name}")
    return None


def _text(row: Var, value: str, env: Env, version: Version) -> Problem | None:
    if row.name == "APP_ENV" and value and value.lower() != "production":
        return _misbehaves(
            "anything but production is a test mode (no analytics job; 'test' also turns off "
            "rate limits and the scheduler)",
            "remove APP_ENV (the image sets production)",
        )
    return None


def _ui_active(env: Env) -> bool:
    return parse_bool(env.get("UI_CONFIG_DISABLED", "")) is True


def _refused_ui(row: Var, says: str, fix: str) -> Problem:
    """v2.14.0's words (appconfig/service.go validateEnvConfig, dto.ValidationErrorDetails)."""
    return _refuses(f"'invalid environment app configuration: {row.name} {says}'", fix)


def _ui(
    accepted: Callable[[str, Version], bool],
    before: str | None,
    since: str,
    fix: str,
) -> Callable[[Var, str, Env, Version], Problem | None]:
    """A UI setting's check: v2.14.0 refuses to start, earlier tags use what they read.

    ``before`` says what an earlier tag does with a value ``accepted`` refuses (None: nothing
    visible)."""

    def check(row: Var, value: str, env: Env, version: Version) -> Problem | None:
        if not _ui_active(env) or not row.applies(version):
            return None
        if version >= UI_VALIDATED_SINCE:
            if value == "":
                return _refused_ui(row, "is required", fix) if row.required else None
            return None if accepted(value, version) else _refused_ui(row, since, fix)
        if value == "" or accepted(value, version) or before is None:
            return None
        return _misbehaves(before, fix)

    return check


def _ui_bool_accepted(value: str, version: Version) -> bool:
    if version >= UI_VALIDATED_SINCE:
        return value in ("true", "false")
    if version >= UI_TRUTHY_SINCE:
        return value.lower() in _TRUTHY + _FALSY
    return parse_bool(value) is not None


def _ui_bool(row: Var, value: str, env: Env, version: Version) -> Problem | None:
    before = (
        "it is read with go-kit's IsTruthy: anything but 1, true, t, on, yes or y (any case) "
        "silently means false"
        if version >= UI_TRUTHY_SINCE
        else "it is read with ParseBool and any error silently means false"
    )
    return _ui(_ui_bool_accepted, before, "must be either true or false", "use true or false")(
        row, value, env, version
    )


def _json_list(value: str) -> bool:
    try:
        return isinstance(json.loads(value), list)
    except ValueError:
        return False


def _json_strings(value: str, version: Version) -> bool:
    """dto.validateJSONStringArray: an array (not null) of strings."""
    if version < UI_VALIDATED_SINCE:
        return _json_list(value)
    try:
        items = json.loads(value)
    except ValueError:
        return False
    return isinstance(items, list) and all(isinstance(item, str) for item in items)


def _json_claims(value: str, version: Version) -> bool:
    """dto.validateJSONCustomClaims: an array of objects with string key and value."""
    if version < UI_VALIDATED_SINCE:
        return _json_list(value)
    try:
        items = json.loads(value)
    except ValueError:
        return False
    return isinstance(items, list) and all(
        isinstance(item, dict)
        and isinstance(item.get("key"), str)
        and isinstance(item.get("value"), str)
        for item in items
    )


def _url_patterns(value: str, version: Version) -> bool:
    """dto.validateCIMDURLAllowlist: an array of callback URL patterns ('*', or one that parses
    as a URL; upstream's urlpattern compilation is not reproduced, so some it refuses pass)."""
    try:
        items = json.loads(value)
    except ValueError:
        return False
    return isinstance(items, list) and all(
        isinstance(item, str)
        and (item == "*" or (item != "" and go_url_path(item.split("#", 1)[0]) is not None))
        for item in items
    )


_EMAIL: Final = re.compile(
    r"^[^@\s<>()\[\],;:\\\"]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$"
)
"""An address as go-playground/validator's ``email`` accepts it, for the common cases: a local
part, '@', and a dotted domain ('Name <a@b.c>' and 'a@localhost' are refused)."""


def _ui_text(row: Var, value: str, env: Env, version: Version) -> Problem | None:
    if not _ui_active(env) or version < UI_VALIDATED_SINCE:
        return None
    if value == "":
        return _refused_ui(row, "is required", "set a value") if row.required else None
    if row.max_chars is not None and len(value) > row.max_chars:
        return _refused_ui(
            row,
            f"must be at most {row.max_chars} characters long",
            f"use at most {row.max_chars} characters",
        )
    return None


def _ui_enum(row: Var, value: str, env: Env, version: Version) -> Problem | None:
    if row.name.startswith("WEBAUTHN_"):
        before = f"a value it does not know is taken as {row.default}, without a word in the log"
    else:
        before = (
            "the value is not one it knows, so the setting behaves as its most restrictive "
            "choice (sign-ups not open; e-mails fail with 'invalid SMTP TLS setting')"
        )
    return _ui(
        lambda v, _: v in row.choices,
        before,
        "is invalid",
        f"use one of {', '.join(row.choices)} (case matters)",
    )(row, value, env, version)


VALIDATORS: Final[dict[Parse, Callable[[Var, str, Env, Version], Problem | None]]] = {
    Parse.TEXT: _text,
    Parse.PATH: lambda row, value, env, version: None,
    Parse.BOOL: _bool,
    Parse.INT: _int,
    Parse.ENUM: _enum,
    Parse.APP_URL: _app_url,
    Parse.INTERNAL_URL: _app_url,
    Parse.KEY: _key,
    Parse.API_KEY: _api_key,
    Parse.PORT: _port,
    Parse.HOST: _host,
    Parse.SOCKET: _socket,
    Parse.OCTAL: _octal,
    Parse.IPV6_CIDRS: _ipv6_cidrs,
    Parse.DB: _db,
    Parse.PROXIES: _proxies,
    Parse.OTEL_EXPORTER: _otel_exporter,
    Parse.OTEL_PROTOCOL: _otel_protocol,
    Parse.SYSTEMD: _systemd,
    Parse.ACTORS_PORT: _actors_port,
    Parse.ACTORS_HOST: _actors_host,
    Parse.TLS_PATH: _tls_path,
    Parse.TLS_PEM: _tls_pem,
    Parse.TLS_FILE: _tls_file,
    Parse.UI_BOOL: _ui_bool,
    Parse.UI_INT: _ui(
        lambda v, _: re.fullmatch(r"[+-]?[0-9]+", v) is not None and -(2**63) <= int(v) < 2**63,
        "a value that is not a whole number is read as 0 minutes: every session expires at once",
        "must be an integer",
        "use a whole number of minutes, e.g. 60",
    ),
    Parse.UI_ENUM: _ui_enum,
    Parse.UI_JSON: _ui(
        _json_strings,
        "sign-ups fail at run time: the value is not a JSON array",
        "must be a JSON array of strings",
        'use a JSON array of strings, e.g. [] or ["group-id"]',
    ),
    Parse.UI_CLAIMS: _ui(
        _json_claims,
        "sign-ups fail at run time: the value is not a JSON array",
        'must be a JSON array of objects with string "key" and "value" properties',
        'use a JSON array such as [{"key": "team", "value": "ops"}], or []',
    ),
    Parse.UI_PATTERNS: _ui(
        _url_patterns,
        None,
        "must be a JSON array of valid callback URL patterns",
        'use a JSON array of callback URL patterns, e.g. ["https://*.example.com/*"], or []',
    ),
    Parse.UI_TEXT: _ui_text,
    Parse.UI_EMAIL: _ui(
        lambda v, _: _EMAIL.match(v) is not None,
        None,
        "must be a valid email address",
        "use a bare address, e.g. noreply@example.com (no display name)",
    ),
}


def validate(row: Var, value: str, env: Env, version: Version) -> Problem | None:
    """What Pocket-ID ``version`` does with ``value`` for ``row``; None when it is accepted."""
    return VALIDATORS[row.parse](row, value, env, version)


def file_unreadable(row: Var, name: str, path: str, version: Version) -> str:
    """The program's words when ``name`` (a ``*_FILE`` variable of ``row``) names a missing file.

    env_config.go resolveFileBasedEnvVariable for the struct's file options; the UI settings'
    own reader (app_config_service.go, appconfig/service.go) for SMTP_PASSWORD and
    LDAP_BIND_PASSWORD; validateTLSConfig's os.Stat for TLS_*_FILE from v2.13.0.
    """
    if row.ui:
        return f"failed to read secret '{row.name}' from file '{path}': open {path}: ..."
    if row.parse is Parse.TLS_PEM:
        return f"config error: {name} not found: stat {path}: no such file or directory"
    if row.parse is Parse.TLS_PATH and name == row.name:
        return f"config error: {name}_FILE not found: stat {path}: no such file or directory"
    return f"failed to read file for env var {name}: open {path}: ..."


def opened_file(name: str, version: Version, env: Env) -> Var | None:
    """The row whose file the program opens at start when ``name`` is set, or None.

    A ``*_FILE`` variable of a row with a file variant; and, v2.6.0 to v2.12.x, TLS_CERT and
    TLS_KEY themselves (a path os.Stat'ed at start, once both are set: a lone one is refused
    before, and that is pocketid/env-value's finding).
    """
    row = lookup(name, version)
    if row is not None and row.parse is Parse.TLS_PATH:
        other = _partner(name)
        paired = _given(env, other, other + "_FILE")
        return row if paired and "-----BEGIN" not in env.get(name, "") else None
    return file_base(name, version)


def tls_refused(env: Env, version: Version) -> bool:
    """Whether ``version`` refuses to start on the TLS settings in ``env`` (then the listener's
    HTTPS-only finding does not apply: the program never serves)."""
    for name in ("TLS_CERT", "TLS_KEY", "TLS_CERT_FILE", "TLS_KEY_FILE"):
        row = lookup(name, version)
        value = env.get(name, "")
        if row is None or value in ("", SET_UNKNOWN):
            continue
        if row.parse is Parse.TLS_PATH and _given(env, name + "_FILE"):
            continue  # v2.6.0 to v2.12.x: the _FILE's content replaces the value (run, v2.8.0)
        if validate(row, value, env, version) is not None:
            return True
    return False
