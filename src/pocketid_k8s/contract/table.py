"""Every environment variable Pocket-ID reads, as data: parser, bounds, default, versions.

One row per variable and version range. v2.2.0 and v2.14.0 are complete (the
struct tags of ``backend/internal/common/env_config.go``, the other
``os.Getenv`` reads, the UI settings read when ``UI_CONFIG_DISABLED=true`` with
the checks v2.14.0 makes on them at start, and the ``OTEL_*`` variables the
program hands to autoexport). For v2.3.0 to v2.13.0 the rows record what
changes a verdict (variables added or removed, parsers and messages that
changed); every row was read from the tag's source (the row's ``source``). v2.2.0,
v2.8.0 and v2.14.0 were also run, one variable at a time (``pocketid.RUNS``,
docs/contract.md).

What a bad value does is in :mod:`pocketid_k8s.contract.values`, which
validates a value against its row with the program's own wording.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final, NamedTuple

from pocketid_k8s.contract.env import SIGNUP_MODES, UI_SETTINGS, UI_SETTINGS_SINCE, parse_bool
from pocketid_k8s.contract.image import Version
from pocketid_k8s.contract.pocketid import (
    CHECKED_VERSION,
    DEFAULT_APP_URL,
    DEFAULT_HOST,
    DEFAULT_PORT,
    RUNS,
)

ENV_GO: Final = "backend/internal/common/env_config.go"
APP_CONFIG_GO: Final = "backend/internal/service/app_config_service.go"
OBSERVABILITY_GO: Final = "backend/internal/bootstrap/observability_boostrap.go"
DB_GO: Final = "backend/internal/bootstrap/db_bootstrap.go"
ROUTER_GO: Final = "backend/internal/bootstrap/router_bootstrap.go"

FIRST_V2: Final[Version] = (2, 0, 0)
VERIFIED_FROM: Final[Version] = (2, 2, 0)
VERIFIED_UNTIL: Final[Version] = (2, 14, 0)
"""Tags whose sources were read: v2.2.0 and v2.14.0 completely, the minors between for what
changes a verdict. A patch release of a verified minor (v2.14.3) shares its facts (no env change
in any patch). v2.14.0 is the newest tag of the upstream snapshot read (2026-12-03)."""
COMPLETE: Final[tuple[Version, ...]] = ((2, 2, 0), (2, 14, 0))
"""The minors whose every variable and start-up check was read (and v2.2.0's run)."""
NEWEST: Final[Version] = VERIFIED_UNTIL


class Parse(StrEnum):
    """How the program reads a value (the wire names appear in docs and tests)."""

    TEXT = "text"
    BOOL = "bool"
    """Go's strconv.ParseBool, at start; anything else refuses to start."""
    INT = "int"
    """strconv.ParseInt(v, 10, 32) at start; bounds in the row."""
    ENUM = "enum"
    APP_URL = "app-url"
    INTERNAL_URL = "internal-url"
    KEY = "key"
    """Raw bytes, at least min_bytes; never decoded."""
    API_KEY = "api-key"
    """Empty, or at least min_bytes."""
    PORT = "port"
    """A string handed to net.Listen: a number 0-65535."""
    HOST = "host"
    SOCKET = "socket"
    OCTAL = "octal-mode"
    IPV6_CIDRS = "ipv6-cidr-list"
    DB = "db-connection-string"
    PROXIES = "bool-or-ip-list"
    """v2.11.0 on: a boolean, or a comma list of IP addresses and CIDRs."""
    SYSTEMD = "systemd-socket"
    """A ParseBool; true takes the listener from systemd, which a pod never passes."""
    ACTORS_PORT = "actors-port"
    ACTORS_HOST = "actors-host"
    """The actor host's listener: only other instances connect to it, never probes or clients."""
    TLS_PATH = "tls-path"
    """v2.6.0 to v2.12.x: TLS_CERT/TLS_KEY are file paths (os.Stat at start)."""
    TLS_PEM = "tls-pem"
    """v2.13.0 on: TLS_CERT/TLS_KEY are PEM content (tls.X509KeyPair at start)."""
    TLS_FILE = "tls-file"
    """TLS_CERT_FILE/TLS_KEY_FILE: v2.6.0 to v2.12.x a file holding the path, v2.13.0 on the
    path of the PEM file itself."""
    OTEL_EXPORTER = "otel-exporter"
    OTEL_PROTOCOL = "otel-protocol"
    PATH = "path"
    UI_BOOL = "ui-bool"
    """A UI setting read with ParseBool where an error silently means false (v2.2.0)."""
    UI_INT = "ui-int"
    UI_ENUM = "ui-enum"
    UI_JSON = "ui-json"
    """A JSON array of strings."""
    UI_CLAIMS = "ui-claims"
    """A JSON array of {"key", "value"} objects."""
    UI_PATTERNS = "ui-url-patterns"
    """A JSON array of callback URL patterns."""
    UI_TEXT = "ui-text"
    """Free text; v2.14.0 checks it is set (and its length) when the row says so."""
    UI_EMAIL = "ui-email"


PATH_PARSES: Final = (Parse.PATH, Parse.DB, Parse.SOCKET, Parse.TLS_PATH, Parse.TLS_FILE)
"""Parsers whose value is (or, for DB, may be) a file-system path in the container."""


class FileVariant(StrEnum):
    """Whether ``NAME_FILE`` names a file whose content replaces the value."""

    NONE = "none"
    TRIMMED = "trimmed"
    UNTRIMMED = "untrimmed"
    OWN = "own-variable"
    """``NAME_FILE`` is a variable of its own (its own row) naming a file the program opens."""


class Var(NamedTuple):
    """One environment variable of one version range."""

    name: str
    parse: Parse
    default: str
    does: str
    source: str
    choices: tuple[str, ...] = ()
    lower: bool = False
    """The program lower-cases the value before using it."""
    minimum: int | None = None
    min_bytes: int | None = None
    file: FileVariant = FileVariant.NONE
    secret: bool = False
    ui: bool = False
    """A UI setting: read from the environment only when UI_CONFIG_DISABLED=true."""
    read_when: str = ""
    """Another variable that must be set (or true) for this one to be read at all."""
    required: bool = False
    """A UI setting v2.14.0 refuses when set to the empty string ('... is required')."""
    max_chars: int | None = None
    since: Version = (0, 0, 0)
    until: Version | None = None
    """The first version that no longer reads it this way (None: still does)."""

    def applies(self, version: Version) -> bool:
        return self.since <= version and (self.until is None or version < self.until)


def _v(name: str, parse: Parse, default: str, does: str, **kw: object) -> Var:
    kw.setdefault("source", f"{ENV_GO}@v2.2.0")
    return Var(name, parse, default, does, **kw)  # type: ignore[arg-type]


_BOOLS = {
    "ANALYTICS_DISABLED": "turns off the daily heartbeat to the project's analytics host",
    "ALLOW_DOWNGRADE": "lets an older binary run down-migrations (fetched from GitHub)",
    "UI_CONFIG_DISABLED": "reads every UI setting from the environment; the admin UI is read-only",
    "DISABLE_RATE_LIMITING": "turns off the per-address rate limits",
    "S3_FORCE_PATH_STYLE": "path-style S3 addressing",
    "S3_DISABLE_DEFAULT_INTEGRITY_CHECKS": "turns off the S3 SDK's integrity checks",
    "LOG_JSON": "logs JSON lines instead of text",
}

CORE: Final[tuple[Var, ...]] = (
    _v(
        "APP_URL",
        Parse.APP_URL,
        DEFAULT_APP_URL,
        "the public origin: OIDC issuer, WebAuthn relying party and origin, base of every link",
        lower=True,
    ),
    _v(
        "INTERNAL_APP_URL",
        Parse.INTERNAL_URL,
        "APP_URL",
        "base of the back-channel endpoints (token, userinfo, jwks); the issuer stays APP_URL",
    ),
    _v(
        "ENCRYPTION_KEY",
        Parse.KEY,
        "",
        "encrypts the signing keys and secrets in the database",
        min_bytes=16,
        file=FileVariant.UNTRIMMED,
        secret=True,
    ),
    _v(
        "DB_CONNECTION_STRING",
        Parse.DB,
        "data/pocket-id.db",
        "postgres:// or postgresql:// for PostgreSQL, anything else a SQLite path",
        file=FileVariant.TRIMMED,
        secret=True,
    ),
    _v(
        "TRUST_PROXY",
        Parse.BOOL,
        "false",
        "trusts X-Forwarded-For from any sender (client address, rate limits, audit log)",
        until=(2, 11, 0),
    ),
    _v(
        "TRUST_PROXY",
        Parse.PROXIES,
        "false",
        "true trusts every sender's X-Forwarded-For, or a comma list of addresses and CIDRs",
        since=(2, 11, 0),
        source=f"{ENV_GO}@v2.11.0",
    ),
    _v(
        "AUDIT_LOG_RETENTION_DAYS",
        Parse.INT,
        "90",
        "days audit log entries are kept",
        minimum=1,
        since=FIRST_V2,
    ),
    *(_v(name, Parse.BOOL, "false", does) for name, does in _BOOLS.items()),
    _v(
        "STATIC_API_KEY",
        Parse.API_KEY,
        "",
        "an API key that needs no user (empty: none)",
        min_bytes=16,
        file=FileVariant.TRIMMED,
        secret=True,
        since=VERIFIED_FROM,
    ),
    _v(
        "FILE_BACKEND",
        Parse.ENUM,
        "filesystem",
        "where uploads live",
        choices=("filesystem", "database", "s3"),
        lower=True,
    ),
    _v("UPLOAD_PATH", Parse.PATH, "data/uploads", "uploads folder (filesystem backend)"),
    _v("S3_BUCKET", Parse.TEXT, "", "S3 bucket (FILE_BACKEND=s3)"),
    _v("S3_REGION", Parse.TEXT, "", "S3 region"),
    _v("S3_ENDPOINT", Parse.TEXT, "", "S3 endpoint"),
    _v("S3_ACCESS_KEY_ID", Parse.TEXT, "", "S3 access key id"),
    _v(
        "S3_SECRET_ACCESS_KEY",
        Parse.TEXT,
        "",
        "S3 secret key",
        secret=True,
        until=(2, 7, 0),
    ),
    _v(
        "S3_SECRET_ACCESS_KEY",
        Parse.TEXT,
        "",
        "S3 secret key",
        secret=True,
        file=FileVariant.TRIMMED,
        since=(2, 7, 0),
        source=f"{ENV_GO}@v2.7.0",
    ),
    _v("PORT", Parse.PORT, str(DEFAULT_PORT), "the TCP port it listens on"),
    _v("HOST", Parse.HOST, DEFAULT_HOST, "the address it listens on", lower=True),
    _v("UNIX_SOCKET", Parse.SOCKET, "", "listen on this Unix socket instead of TCP"),
    _v(
        "UNIX_SOCKET_MODE",
        Parse.OCTAL,
        "",
        "the socket's file mode, octal (read only with UNIX_SOCKET)",
        read_when="UNIX_SOCKET",
    ),
    _v(
        "LOCAL_IPV6_RANGES",
        Parse.IPV6_CIDRS,
        "",
        "IPv6 ranges counted as local (comma list of CIDRs)",
    ),
    _v(
        "MAXMIND_LICENSE_KEY",
        Parse.TEXT,
        "",
        "downloads the GeoLite2 database (empty: no updates)",
        file=FileVariant.TRIMMED,
        secret=True,
    ),
    _v("GEOLITE_DB_PATH", Parse.PATH, "data/GeoLite2-City.mmdb", "the GeoLite2 database file"),
    _v("GEOLITE_DB_URL", Parse.TEXT, "(MaxMind's URL)", "where the GeoLite2 database comes from"),
    _v(
        "LOG_LEVEL",
        Parse.ENUM,
        "info",
        "log level",
        choices=("debug", "info", "warn", "warning", "error"),
        lower=True,
    ),
    _v("APP_ENV", Parse.TEXT, "production", "gin mode; anything but production is for tests"),
    _v(
        "METRICS_ENABLED",
        Parse.BOOL,
        "false",
        "exports OpenTelemetry metrics",
        until=(2, 10, 0),
    ),
    _v(
        "TRACING_ENABLED",
        Parse.BOOL,
        "false",
        "exports OpenTelemetry traces",
        until=(2, 10, 0),
    ),
    _v(
        "VERSION_CHECK_DISABLED",
        Parse.BOOL,
        "false",
        "turns off the check for new releases",
        since=(2, 3, 0),
        source=f"{ENV_GO}@v2.3.0",
    ),
    _v(
        "TRUSTED_PLATFORM",
        Parse.TEXT,
        "",
        "a header (e.g. CF-Connecting-IP) gin takes the client address from",
        since=(2, 5, 0),
        source=f"{ENV_GO}@v2.5.0",
    ),
    _v(
        "SYSTEMD_SOCKET",
        Parse.SYSTEMD,
        "false",
        "systemd socket activation: the listener comes from systemd (LISTEN_FDS)",
        since=(2, 8, 0),
        source=f"{ENV_GO}@v2.8.0",
    ),
    _v(
        "ACTORS_PORT",
        Parse.ACTORS_PORT,
        "1414",
        "the actor host's port (mTLS between instances)",
        since=(2, 10, 0),
        source=f"{ENV_GO}@v2.10.0",
    ),
    _v(
        "ACTORS_HOST",
        Parse.ACTORS_HOST,
        DEFAULT_HOST,
        "the actor host's listen address",
        lower=True,
        since=(2, 10, 0),
        source=f"{ENV_GO}@v2.10.0",
    ),
    _v(
        "ALLOW_INSECURE_CALLBACK_URLS",
        Parse.BOOL,
        "true",
        "accepts http callback URLs for OIDC clients",
        since=(2, 11, 0),
        source=f"{ENV_GO}@v2.11.0",
    ),
    _v(
        "PROXY_PROTOCOL",
        Parse.PROXIES,
        "",
        "requires PROXY-protocol headers from these senders on the TCP listener",
        since=(2, 12, 0),
        source=f"{ENV_GO}@v2.12.0",
    ),
    *(
        _v(
            name,
            Parse.TLS_PATH,
            "",
            f"native TLS: the {what} file's path (the _FILE variant: a file holding the path)",
            file=FileVariant.TRIMMED,
            secret=name == "TLS_KEY",  # a key pasted here by mistake must not be shown
            since=(2, 6, 0),
            until=(2, 13, 0),
            source=f'{ENV_GO}@v2.6.0 (options:"file"; validateTLSConfig os.Stat)',
        )
        for name, what in (("TLS_CERT", "certificate"), ("TLS_KEY", "key"))
    ),
    *(
        _v(
            name,
            Parse.TLS_PEM,
            "",
            f"native TLS: the {what} as PEM content (tls.X509KeyPair)",
            file=FileVariant.OWN,
            secret=name == "TLS_KEY",
            since=(2, 13, 0),
            source=f"{ENV_GO}@v2.13.0, {ROUTER_GO}@v2.13.0 newCertProvider",
        )
        for name, what in (("TLS_CERT", "certificate"), ("TLS_KEY", "private key"))
    ),
    *(
        _v(
            f"{name}_FILE",
            Parse.TLS_FILE,
            "",
            f"native TLS: {what} (v2.6.0 to v2.12.x: a file whose content is {name}'s path; "
            "from v2.13.0: the PEM file's path, reloaded when it changes)",
            since=(2, 6, 0),
            source=f"{ENV_GO}@v2.6.0, @v2.13.0 validateTLSConfig",
        )
        for name, what in (("TLS_CERT", "the certificate"), ("TLS_KEY", "the key"))
    ),
    _v(
        "LOG_QUERY_ARGS",
        Parse.BOOL,
        "false",
        "logs SQL parameter values at debug level",
        since=(2, 13, 0),
        source=f"{ENV_GO}@v2.13.0",
    ),
)
"""The struct tags of env_config.go: an empty value keeps the default (caarlos0/env)."""

_OTEL = f"{OBSERVABILITY_GO}@v2.2.0"
_OTEL_10 = f"{OBSERVABILITY_GO}@v2.10.0"
_EXPORTERS = ("otlp", "console", "none")
_PROTOCOLS = ("grpc", "http/protobuf")

OTEL: Final[tuple[Var, ...]] = (
    Var(
        "OTEL_LOGS_EXPORTER",
        Parse.OTEL_EXPORTER,
        "none",
        "the OpenTelemetry log exporter, created at every start",
        _OTEL,
        choices=_EXPORTERS,
    ),
    Var(
        "OTEL_TRACES_EXPORTER",
        Parse.OTEL_EXPORTER,
        "otlp",
        "the trace exporter (read only with TRACING_ENABLED=true)",
        _OTEL,
        choices=_EXPORTERS,
        read_when="TRACING_ENABLED",
        until=(2, 10, 0),
    ),
    Var(
        "OTEL_TRACES_EXPORTER",
        Parse.OTEL_EXPORTER,
        "none",
        "the trace exporter, created at every start",
        _OTEL_10,
        choices=_EXPORTERS,
        since=(2, 10, 0),
    ),
    Var(
        "OTEL_METRICS_EXPORTER",
        Parse.OTEL_EXPORTER,
        "otlp",
        "the metric reader (read only with METRICS_ENABLED=true)",
        _OTEL,
        choices=("otlp", "prometheus", "console", "none"),
        read_when="METRICS_ENABLED",
        until=(2, 10, 0),
    ),
    Var(
        "OTEL_METRICS_EXPORTER",
        Parse.OTEL_EXPORTER,
        "none",
        "the metric reader, created at every start",
        _OTEL_10,
        choices=("otlp", "prometheus", "console", "none"),
        since=(2, 10, 0),
    ),
    Var(
        "OTEL_METRICS_PRODUCERS",
        Parse.OTEL_EXPORTER,
        "",
        "extra metric producers (read with the metric reader)",
        _OTEL,
        choices=("prometheus", "none"),
        read_when="METRICS_ENABLED",
        until=(2, 10, 0),
    ),
    Var(
        "OTEL_METRICS_PRODUCERS",
        Parse.OTEL_EXPORTER,
        "",
        "extra metric producers (read by the otlp, prometheus and console metric readers; the "
        "reader is created at every start, 'none' by default)",
        _OTEL_10,
        choices=("prometheus", "none"),
        read_when="OTEL_METRICS_EXPORTER",
        since=(2, 10, 0),
    ),
    *(
        Var(
            name,
            Parse.OTEL_PROTOCOL,
            "http/protobuf",
            "the OTLP protocol (read only when an exporter is otlp)",
            _OTEL,
            choices=_PROTOCOLS,
        )
        for name in (
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
        )
    ),
)
"""OTEL_* variables Pocket-ID hands to autoexport (v0.64.0): unknown values refuse to start."""
OTEL_ENDPOINTS: Final[tuple[Var, ...]] = tuple(
    Var(
        name,
        Parse.TEXT,
        "",
        "the OTLP collector's URL (read by autoexport; from v2.14.0 also by the program, which "
        "forwards the browser's traces there when OTEL_TRACES_EXPORTER=otlp)",
        "backend/internal/tracing/telemetry_controller.go@v2.14.0",
    )
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
)
"""The two OTEL_* variables v2.14.0 reads itself (os.Getenv), beside autoexport's own reading."""

_UI_SOURCE = f"{APP_CONFIG_GO}@v2.2.0"
_UI_BOOLS = frozenset(
    {
        "EMAILS_VERIFIED",
        "DISABLE_ANIMATIONS",
        "ALLOW_OWN_ACCOUNT_EDIT",
        "REQUIRE_USER_EMAIL",
        "SMTP_SKIP_CERT_VERIFY",
        "EMAIL_LOGIN_NOTIFICATION_ENABLED",
        "EMAIL_ONE_TIME_ACCESS_AS_UNAUTHENTICATED_ENABLED",
        "EMAIL_ONE_TIME_ACCESS_AS_ADMIN_ENABLED",
        "EMAIL_API_KEY_EXPIRATION_ENABLED",
        "EMAIL_VERIFICATION_ENABLED",
        "LDAP_ENABLED",
        "LDAP_SKIP_CERT_VERIFY",
        "LDAP_SOFT_DELETE_USERS",
    }
)
_UI_SPECIAL: Final[dict[str, dict[str, object]]] = {
    "SESSION_DURATION": {"parse": Parse.UI_INT, "default": "60", "minimum": 1},
    "ALLOW_USER_SIGNUPS": {"parse": Parse.UI_ENUM, "default": "disabled", "choices": SIGNUP_MODES},
    "SMTP_TLS": {
        "parse": Parse.UI_ENUM,
        "default": "none",
        "choices": ("none", "tls", "starttls"),
    },
    "SIGNUP_DEFAULT_USER_GROUP_I_DS": {
        "parse": Parse.UI_JSON,
        "default": "[]",
        "until": (2, 14, 0),
    },
    "SIGNUP_DEFAULT_CUSTOM_CLAIMS": {"parse": Parse.UI_CLAIMS, "default": "[]"},
    "SMTP_PASSWORD": {"secret": True, "file": FileVariant.UNTRIMMED},
    "LDAP_BIND_PASSWORD": {"secret": True, "file": FileVariant.UNTRIMMED},
    "APP_NAME": {"parse": Parse.UI_TEXT, "default": "Pocket ID", "minimum": 1, "max_chars": 30},
    "HOME_PAGE_URL": {"parse": Parse.UI_TEXT, "default": "/settings/account"},
    "SMTP_FROM": {"parse": Parse.UI_EMAIL},
}
_UI_REQUIRED: Final = frozenset(
    {"APP_NAME", "SESSION_DURATION", "HOME_PAGE_URL", "ALLOW_USER_SIGNUPS", "SMTP_TLS"} | _UI_BOOLS
)
"""The fields dto.AppConfigUpdateDto tags ``binding:"required"`` at v2.14.0."""


def _ui(name: str) -> Var:
    extra: dict[str, object] = {"parse": Parse.UI_BOOL if name in _UI_BOOLS else Parse.TEXT}
    extra.update(_UI_SPECIAL.get(name, {}))
    default = str(extra.pop("default", "false" if name in _UI_BOOLS else ""))
    parse = extra.pop("parse")
    return Var(
        name,
        parse,  # type: ignore[arg-type]
        default,
        "a UI setting",
        _UI_SOURCE,
        ui=True,
        required=name in _UI_REQUIRED,
        **extra,  # type: ignore[arg-type]
    )


_UI_13 = "backend/internal/appconfig/model.go@v2.13.0"
UI: Final[tuple[Var, ...]] = (
    *(_ui(name) for name in sorted(UI_SETTINGS - UI_SETTINGS_SINCE.keys())),
    Var(
        "SIGNUP_DEFAULT_USER_GROUP_IDS",
        Parse.UI_JSON,
        "[]",
        "a UI setting (named SIGNUP_DEFAULT_USER_GROUP_I_DS before v2.14.0)",
        "backend/internal/appconfig/model.go@v2.14.0",
        ui=True,
        since=(2, 14, 0),
    ),
    Var(
        "WEBAUTHN_USER_VERIFICATION",
        Parse.UI_ENUM,
        "required",
        "a UI setting: whether passkeys must verify the user (before v2.14.0 anything but "
        "preferred means required)",
        _UI_13,
        choices=("required", "preferred"),
        ui=True,
        required=True,
        since=UI_SETTINGS_SINCE["WEBAUTHN_USER_VERIFICATION"],
    ),
    Var(
        "WEBAUTHN_ALLOW_SYNCED_PASSKEYS",
        Parse.UI_BOOL,
        "true",
        "a UI setting: whether synced (cloud) passkeys are accepted",
        _UI_13,
        ui=True,
        required=True,
        since=UI_SETTINGS_SINCE["WEBAUTHN_ALLOW_SYNCED_PASSKEYS"],
    ),
    Var(
        "WEBAUTHN_AUTHENTICATOR_ATTACHMENT",
        Parse.UI_ENUM,
        "any",
        "a UI setting: which authenticators may register (before v2.14.0 an unknown value "
        "means any)",
        _UI_13,
        choices=("any", "platform", "cross-platform"),
        ui=True,
        required=True,
        since=UI_SETTINGS_SINCE["WEBAUTHN_AUTHENTICATOR_ATTACHMENT"],
    ),
    Var(
        "CIMD_URL_ALLOWLIST",
        Parse.UI_PATTERNS,
        "[]",
        "a UI setting: callback URL patterns of clients identified by a metadata document URL",
        _UI_13,
        ui=True,
        since=UI_SETTINGS_SINCE["CIMD_URL_ALLOWLIST"],
    ),
)
"""UI settings: before v2.14.0 used as they are (no start-up check); v2.14.0 checks them all at
start with dto.AppConfigUpdateDto's rules (appconfig/service.go validateEnvConfig) and refuses."""

ROWS: Final[tuple[Var, ...]] = (*CORE, *OTEL, *OTEL_ENDPOINTS, *UI)

DEAD_ENV: Final = {
    "KEYS_STORAGE": "removed in v2; the signing keys live in the database",
    "KEYS_PATH": "removed in v2; the signing keys live in the database",
    "DB_PROVIDER": "removed in v2; DB_CONNECTION_STRING decides",
    "PUBLIC_APP_URL": "renamed to APP_URL in v1.0",
    "PUBLIC_UI_CONFIG_DISABLED": "renamed to UI_CONFIG_DISABLED in v1.0",
    "SQLITE_DB_PATH": "renamed to DB_CONNECTION_STRING in v1.0",
    "POSTGRES_CONNECTION_STRING": "renamed to DB_CONNECTION_STRING in v1.0",
    "CADDY_PORT": "renamed to PORT in v1.0",
    "BACKEND_PORT": "renamed to PORT in v1.0",
}
"""Variables that do nothing in v2, and why."""
DEAD_SINCE: Final[dict[str, Version]] = {
    "KEYS_STORAGE": FIRST_V2,
    "KEYS_PATH": FIRST_V2,
    "DB_PROVIDER": FIRST_V2,
    "PUBLIC_APP_URL": (1, 0, 0),
    "PUBLIC_UI_CONFIG_DISABLED": (1, 0, 0),
    "SQLITE_DB_PATH": (1, 0, 0),
    "POSTGRES_CONNECTION_STRING": (1, 0, 0),
    "CADDY_PORT": (1, 0, 0),
    "BACKEND_PORT": (1, 0, 0),
}
"""The first version that no longer reads each dead variable (git tags' env structs)."""

RENAMED: Final[dict[str, tuple[str, Version]]] = {
    "SIGNUP_DEFAULT_USER_GROUP_IDS": ("SIGNUP_DEFAULT_USER_GROUP_I_DS", (2, 14, 0)),
}
"""name -> (the name before, the first version reading the name): a renderer writes the name
the image's version reads (appconfig/model.go@v2.14.0 gave the setting an explicit env tag)."""


def name_at(name: str, version: Version) -> str:
    """The spelling of ``name`` that ``version`` reads (a renamed setting's older name)."""
    before, since = RENAMED.get(name, (name, (0, 0, 0)))
    return name if version >= since else before


_BY_NAME: Final[dict[str, tuple[Var, ...]]] = {}
for _row in ROWS:
    _BY_NAME[_row.name] = (*_BY_NAME.get(_row.name, ()), _row)


def read_range(name: str) -> tuple[Version, Version | None] | None:
    """(first version, first version no longer) over every row of ``name``, or None."""
    rows = _BY_NAME.get(name, ())
    if not rows:
        return None
    since = min(row.since for row in rows)
    open_ended = any(row.until is None for row in rows)
    until = None if open_ended else max(row.until or since for row in rows)
    return since, until


def is_default(name: str, value: str) -> bool:
    """Whether ``value`` is what every version that reads ``name`` uses when it is unset."""
    defaults = {row.default for row in _BY_NAME.get(name, ())}
    if value == "" or value in defaults:
        return True
    parsed = parse_bool(value)
    return parsed is not None and all(parse_bool(d) is parsed for d in defaults)


def names() -> frozenset[str]:
    """Every variable name any verified v2 version reads (without the _FILE variants)."""
    return frozenset(_BY_NAME)


def lookup(name: str, version: Version) -> Var | None:
    """The row of ``name`` at ``version``, or None where that version does not read it."""
    for row in _BY_NAME.get(name, ()):
        if row.applies(version):
            return row
    return None


def file_base(name: str, version: Version) -> Var | None:
    """The row whose ``_FILE`` variant ``name`` is, or None."""
    if not name.endswith("_FILE"):
        return None
    row = lookup(name.removesuffix("_FILE"), version)
    return row if row is not None and row.file is not FileVariant.NONE else None


def facts_for(version: Version | None) -> tuple[Version, bool]:
    """(the version whose facts apply, whether they were read for ``version``).

    A verified v2 tag uses its own facts. An unknown version (no tag, ``latest``, a digest
    alone) and a v2 tag newer than the newest read use the newest verified facts (v2.14.0);
    v2.0.x and v2.1.x use v2.2.0's; findings then say which (:func:`facts_note`). A v0/v1 tag
    keeps its own version for the few facts known.
    """
    if version is None:
        return NEWEST, False
    if verified(version):
        return version, True
    if version < FIRST_V2:
        return version, False
    return (NEWEST, False) if version > NEWEST else (CHECKED_VERSION, False)


def verified(version: Version) -> bool:
    """Whether the facts of ``version`` were read upstream (v2.2.0 to v2.14.x)."""
    return VERIFIED_FROM <= version < (VERIFIED_UNTIL[0], VERIFIED_UNTIL[1] + 1, 0)


def complete(version: Version) -> bool:
    """Whether every variable and start-up check of ``version``'s minor was read."""
    return any(version[:2] == done[:2] for done in COMPLETE)


NOT_RUN: Final = {
    "ENCRYPTION_KEY": "the bundle's key file stood in (its length checks were run on v2.2.0)",
    "ANALYTICS_DISABLED": "always true in a run: the program is never let call home",
}
"""Variables the v2.8.0 and v2.14.0 runs did not vary, and why."""


def confirmed(name: str, version: Version) -> bool:
    """Whether ``name``'s row at ``version`` was confirmed by running that release (RUNS: one
    variable at a time, valid and invalid values), not only read at the tag."""
    if version not in RUNS or lookup(name, version) is None:
        return False
    return version == CHECKED_VERSION or name not in NOT_RUN


def _show(version: Version) -> str:
    return "v" + ".".join(map(str, version))


def facts_note(version: Version | None) -> str:
    """What a finding appends to say whose facts it used ("" for a completely verified minor).

    ``version`` is the image's version (None when the reference names none).
    """
    used, known = facts_for(version)
    if version is None:
        return f" (version unknown: {_show(used)}'s facts assumed)"
    if not known:
        return f" (checked against {_show(used)}'s facts)"
    if complete(version):
        return ""
    return (
        f" ({_show(used)}'s facts, read for what changes a verdict; verified completely: "
        + ", ".join(map(_show, COMPLETE))
        + ")"
    )
