"""Pocket-ID's environment variables: names, and the variables that no longer do anything.

Read from upstream's ``backend/internal/common/env_config.go`` (struct tags)
and ``backend/internal/service/app_config_service.go`` (UI settings) at
v2.2.0. The full table of every variable (parser, bounds, default, what a bad
value does) builds on these names.
"""

from __future__ import annotations

import re
from typing import Final

APP_URL: Final = "APP_URL"
INTERNAL_APP_URL: Final = "INTERNAL_APP_URL"
PORT: Final = "PORT"
HOST: Final = "HOST"
UNIX_SOCKET: Final = "UNIX_SOCKET"
ENCRYPTION_KEY: Final = "ENCRYPTION_KEY"
ENCRYPTION_KEY_FILE: Final = "ENCRYPTION_KEY_FILE"
TRUST_PROXY: Final = "TRUST_PROXY"
UI_CONFIG_DISABLED: Final = "UI_CONFIG_DISABLED"
ALLOW_USER_SIGNUPS: Final = "ALLOW_USER_SIGNUPS"
DB_CONNECTION_STRING: Final = "DB_CONNECTION_STRING"
UPLOAD_PATH: Final = "UPLOAD_PATH"
FILE_BACKEND: Final = "FILE_BACKEND"
ANALYTICS_DISABLED: Final = "ANALYTICS_DISABLED"
ALLOW_DOWNGRADE: Final = "ALLOW_DOWNGRADE"
FILE_SUFFIX: Final = "_FILE"

SIGNUP_MODES: Final = ("disabled", "withToken", "open")
"""ALLOW_USER_SIGNUPS values (a UI setting)."""
POSTGRES_PREFIXES: Final = ("postgres://", "postgresql://")
"""DB_CONNECTION_STRING with one of these means PostgreSQL; anything else is SQLite."""


def is_postgres(connection: str) -> bool:
    """Whether Pocket-ID takes ``connection`` for PostgreSQL: a case-sensitive prefix test
    (POSTGRES://... is a SQLite file path to it)."""
    return connection.startswith(POSTGRES_PREFIXES)


FILE_BACKEND_DEFAULT: Final = "filesystem"

BOOL_TRUE: Final = ("1", "t", "T", "TRUE", "true", "True")
BOOL_FALSE: Final = ("0", "f", "F", "FALSE", "false", "False")
"""Exactly what Go's strconv.ParseBool accepts; anything else is a parse error."""


def parse_bool(value: str) -> bool | None:
    """Go's strconv.ParseBool: True, False, or None where Go returns an error."""
    if value in BOOL_TRUE:
        return True
    if value in BOOL_FALSE:
        return False
    return None


UI_SETTINGS: Final = frozenset(
    re.sub(r"(?<!^)(?=[A-Z])", "_", key).upper()
    for key in [
        "appName",
        "sessionDuration",
        "homePageUrl",
        "emailsVerified",
        "accentColor",
        "disableAnimations",
        "allowOwnAccountEdit",
        "allowUserSignups",
        "signupDefaultUserGroupIDs",
        "signupDefaultCustomClaims",
        "requireUserEmail",
        "smtpHost",
        "smtpPort",
        "smtpFrom",
        "smtpUser",
        "smtpPassword",
        "smtpTls",
        "smtpSkipCertVerify",
        "emailLoginNotificationEnabled",
        "emailOneTimeAccessAsUnauthenticatedEnabled",
        "emailOneTimeAccessAsAdminEnabled",
        "emailApiKeyExpirationEnabled",
        "emailVerificationEnabled",
        "ldapEnabled",
        "ldapUrl",
        "ldapBindDn",
        "ldapBindPassword",
        "ldapBase",
        "ldapUserSearchFilter",
        "ldapUserGroupSearchFilter",
        "ldapSkipCertVerify",
        "ldapAttributeUserUniqueIdentifier",
        "ldapAttributeUserUsername",
        "ldapAttributeUserEmail",
        "ldapAttributeUserFirstName",
        "ldapAttributeUserLastName",
        "ldapAttributeUserDisplayName",
        "ldapAttributeUserProfilePicture",
        "ldapAttributeGroupMember",
        "ldapAttributeGroupUniqueIdentifier",
        "ldapAttributeGroupName",
        "ldapAdminGroupName",
        "ldapSoftDeleteUsers",
        "webauthnUserVerification",
        "webauthnAllowSyncedPasskeys",
        "webauthnAuthenticatorAttachment",
        "cimdUrlAllowlist",
    ]
)
"""The UI settings (app_config_service.go's struct fields, in the environment's spelling):
read from the environment only when UI_CONFIG_DISABLED=true."""
UI_SETTINGS_SINCE: Final = {
    "WEBAUTHN_USER_VERIFICATION": (2, 13, 0),
    "WEBAUTHN_ALLOW_SYNCED_PASSKEYS": (2, 13, 0),
    "WEBAUTHN_AUTHENTICATOR_ATTACHMENT": (2, 13, 0),
    "CIMD_URL_ALLOWLIST": (2, 13, 0),
}
"""UI settings added after v2.2.0 (appconfig/model.go@v2.13.0); the others are read from v2.0.0."""

SQLITE_SCHEME: Final = "file:"
"""Prefixed to a SQLite connection string that lacks it (bootstrap/db_bootstrap.go)."""
