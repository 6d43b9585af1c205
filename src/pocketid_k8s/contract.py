"""Facts of the Pocket-ID v2.2.0 runtime contract that more than one module relies on.

Read from upstream's source at the v2.2.0 tag (summarised in the project's
contract notes); ``config`` refuses what ``check`` reports.
"""

from __future__ import annotations

from typing import Final

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
