"""Facts about the Pocket-ID program and its image, other than its environment variables.

Read from upstream's source (github.com/pocket-id/pocket-id) at the v2.2.0
tag unless a fact says otherwise; each fact names its file. The environment
variables are in :mod:`pocketid_k8s.contract.env`, the image names and tags in
:mod:`pocketid_k8s.contract.image`. ``config`` refuses what ``check`` reports,
and both take these values from here only.
"""

from __future__ import annotations

from typing import Final

CHECKED_VERSION: Final = (2, 2, 0)
"""The release every fact here was read at (and, where marked, confirmed by running it)."""
CHECKED_TAG: Final = "v2.2.0"
UPSTREAM: Final = "https://github.com/pocket-id/pocket-id"

# --- the image (docker/Dockerfile-prebuilt, scripts/docker/entrypoint.sh) ----------------------

WORKDIR: Final = "/app"
"""The image's WORKDIR: every default path is relative to it."""
BINARY: Final = "/app/pocket-id"
"""The program in the image; ``pocket-id healthcheck`` and ``encryption-key-rotate`` are its
sub-commands."""
ENTRYPOINT: Final = "/app/docker/entrypoint.sh"
"""The image's ENTRYPOINT (its CMD is BINARY): as root it chowns DATA_DIR and drops to PUID:PGID
with su-exec, else it runs the CMD as it is; not in the ``-distroless`` variant."""
ENTRYPOINT_SHELL: Final = "sh"
"""docker/Dockerfile runs ENTRYPOINT through the image's shell at every v2 tag (v2.2.0-v2.14.0):
``ENTRYPOINT ["sh", "/app/docker/entrypoint.sh"]``."""
DATA_DIR: Final = "/app/data"
"""Where all state lives by default: the SQLite database, uploads, the GeoLite file."""
DATA_DIR_RELATIVE: Final = "data"
OLD_DATA_DIR: Final = "/app/backend/data"
"""The data folder before v1.0 (v0.x images); a volume there receives nothing from v1.0 on."""
OLD_WORKDIR: Final = "/app/backend"
"""Where the v0.x backend ran (its relative paths start here)."""
FIRST_V1: Final = (1, 0, 0)
DATABASE_FILE: Final = "pocket-id.db"
"""The SQLite file name inside the data folder (DB_CONNECTION_STRING's default)."""
UPLOADS_DIR: Final = "uploads"
IMAGE_USER: Final = 1000
"""PUID/PGID the entrypoint drops to when started as root; the image itself has no USER."""
DISTROLESS_USER: Final = 65532
"""The ``-distroless`` variant runs as this user, with no entrypoint script."""
DISTROLESS_SUFFIX: Final = "-distroless"

# --- the listener (common/env_config.go) -------------------------------------------------------

DEFAULT_PORT: Final = 1411
DEFAULT_HOST: Final = "0.0.0.0"  # noqa: S104 - Pocket-ID's own default listen address
DEFAULT_APP_URL: Final = f"http://localhost:{DEFAULT_PORT}"
OLD_PORT: Final = 80
"""The port before v1.0 (Caddy in front of the backend)."""
NATIVE_TLS_SINCE: Final = (2, 6, 0)
"""With TLS_CERT and TLS_KEY set (or, from v2.13.0, TLS_CERT_FILE and TLS_KEY_FILE) the port
serves HTTPS only, TLS 1.3 minimum (bootstrap/router_bootstrap.go@v2.6.0, @v2.13.0; read, not
run: the v2.2.0 binary has no TLS). A plain-HTTP request gets Go's '400 Bad Request: Client
sent an HTTP request to an HTTPS server', so an httpGet probe without scheme HTTPS fails."""
NATIVE_TLS_PAIRS: Final = (("TLS_CERT", "TLS_KEY"), ("TLS_CERT_FILE", "TLS_KEY_FILE"))
TLS_PEM_SINCE: Final = (2, 13, 0)
"""TLS_CERT/TLS_KEY hold PEM content from v2.13.0 (common/env_config.go@v2.13.0); before, a
path: v2.8.0 given PEM content refuses with 'TLS_CERT_FILE not found: stat -----BEGIN ...: file
name too long', and v2.14.0 given a path with 'failed to find any PEM data in certificate input'
(confirmed by running both: RUNS)."""

# --- health (controller/healthz_controller.go) ------------------------------------------------

HEALTH_PATH: Final = "/healthz"
HEALTH_STATUS: Final = 204
HEALTH_PROVES: Final = (
    "start-up completed (database opened, migrations ran, instance lock taken); it is not "
    "re-checked after that: /healthz stays 204 while the database is broken"
)
"""What a 204 from HEALTH_PATH proves; it does not query the database afterwards (confirmed by
running v2.2.0: it stays 204 while the database is broken under the running program). v2.2.0
then exits at its next instance-lock renewal (every LOCK_RENEW_SECONDS), "renew lock: lock renewal
failed: file is not a database" (confirmed by running v2.2.0 on a database overwritten under it:
it exited 7 s later), so the container restarts without help from a liveness probe."""
UI_FALLBACK_STATUS: Final = 200
"""Any path the backend does not serve (/health, /readyz) answers 200 with the web UI's page."""
DB_PROBE_PATH: Final = "/api/oidc/clients/00000000-0000-0000-0000-000000000000/meta"
"""An unauthenticated GET that queries the database on every request (controller/
oidc_controller.go getClientMetaDataHandler, v2.2.0 to v2.14.0, per the upstream notes): an
OIDC client id that does not exist answers DB_PROBE_STATUS while the database works, 500 when
it fails. Rate-limited like all of /api (burst 60 per address). Confirmed by running v2.2.0:
404 ``Record not found`` on a working database; with the database file overwritten under the
running program, 500 ``Something went wrong`` while /healthz, discovery and JWKS still answered
204/200."""
DB_PROBE_STATUS: Final = 404
HEALTHCHECK_COMMAND: Final = "healthcheck"
"""``pocket-id healthcheck`` GETs HEALTH_PATH; before v2.8.0 it exits 0 on any HTTP status."""
HEALTHCHECK_REAL_SINCE: Final = (2, 8, 0)
HEALTHCHECK_HTTPS_SINCE: Final = (2, 12, 0)
"""From v2.12.0 ``pocket-id healthcheck`` speaks HTTPS when native TLS is on; before, plain HTTP
(cmds/healthcheck.go@v2.12.0). Confirmed by running against the program's own TLS listener:
v2.8.0 exits 1, 'Healthcheck failed error="unexpected status 400 from
http://localhost:1411/healthz"' (inner quotes left out); v2.14.0 exits 0 (both exit 0
without TLS)."""
CURL_REMOVED: Final = (2, 14, 0)
"""The prebuilt image has curl up to v2.13.x (docker/Dockerfile-prebuilt@v2.14.0 drops it)."""

# --- the encryption key (common/env_config.go) -----------------------------------------------

MIN_KEY_BYTES: Final = 16
"""ENCRYPTION_KEY (or the file's bytes) must be at least this long, used raw."""
KEY_TOO_SHORT: Final = "ENCRYPTION_KEY must be at least 16 bytes long"
"""Pocket-ID's own words when the key is missing or short (exit 1, ``config error: ...``)."""
KEY_ROTATE_COMMAND: Final = "encryption-key-rotate"

# --- one instance (service/app_lock_service.go) -----------------------------------------------

LOCK_TTL_SECONDS: Final = 30
LOCK_RENEW_SECONDS: Final = 20
LOCK_HELD: Final = "lock is already held by another process"
"""A second process on the same database exits with these words; after SIGKILL the stale lock
makes restarts exit for up to LOCK_TTL_SECONDS (confirmed by running v2.2.0: about 28 s)."""
SECOND_INSTANCE_SINCE: Final = (2, 5, 0)
SECOND_INSTANCE: Final = "it appears that there's already one instance of Pocket ID running"
"""The second process's words from v2.5.0 (bootstrap/bootstrap.go@v2.5.0); exit 1 as before.
Confirmed by running a second process on the same data: v2.8.0 goes on '; running multiple
replicas of Pocket ID is currently not supported', v2.14.0 ' - running multiple replicas is not
(yet) supported' (exit 1 both)."""
ACTOR_HOSTS_SINCE: Final = (2, 12, 0)
ACTOR_HOST_DEADLINE_SECONDS: Final = 90
"""From v2.12.0 the database lock is gone: one actor host at a time (Francis, WithMaxHosts(1)),
and after a SIGKILL the replacement may be refused for up to this long (read at the tags;
confirmed by running v2.14.0: RESTART_OBSERVED_SECONDS)."""


RESTART_OBSERVED_SECONDS: Final = {(2, 2, 0): 28, (2, 8, 0): 30, (2, 14, 0): 84}
"""How long a restart after SIGKILL (an OOM kill) was refused at the longest, as measured by
running each release on the same data, a replacement started every ~1.2 s (v2.2.0: this
project's run, 2026-11-26; v2.8.0 and v2.14.0: issue 20's run, 2026-12-03, RUNS below).
v2.8.0: killed 20.5 s after it served (just after a lock renewal) it was refused until 30.2 s
and served at 31.4 s; killed 5 s after, refused until 25.9 s: the lock's TTL runs from its last
renewal. v2.14.0: killed 5 s after it served, refused until 84.4 s (served at 85.7 s); killed
20.5 s after, until 69.1 s: the window ends about 90 s after the actor host's last health-check
ping (here its registration at start), so a kill just after a ping is refused for up to
ACTOR_HOST_DEADLINE_SECONDS. The second process's words: SECOND_INSTANCE, exit 1."""

RUNS: Final = {
    (2, 2, 0): "the backend built from the tag (2026-11-26)",
    (2, 8, 0): "the backend built from the tag without the web UI (-tags exclude_frontend, "
    "CGO_ENABLED=0), every module from the Go module proxy (2026-12-03)",
    (2, 14, 0): "the backend built from the tag without the web UI (-tags exclude_frontend, "
    "CGO_ENABLED=0), four modules the proxy refuses replaced: italypaleale/francis "
    "v0.1.0-beta.23 and italypaleale/go-sql-utils v0.3.5 from their own repositories at the "
    "tags; pocket-id/fosite v1.3.0 and italypaleale/go-kit v1.0.0 only as earlier snapshots "
    "(fosite main dd53036 with stand-ins for the client-metadata-document, resource-indicator "
    "and RFC 9068 API it lacks; go-kit main 3cb485f with servicerunner.Ready and WaitAll added "
    "and the e-mail recipient's display name dropped). Env parsing, validation, listeners, "
    "TLS, healthcheck and the actor host are Pocket-ID's and francis' own code at the tags "
    "(2026-12-03)",
}
"""The releases run for the facts marked 'run' or 'confirmed by running', and how each binary
was built (outside the repository; no code, binary or recipe of it is committed)."""


def restart_window_seconds(version: tuple[int, int, int]) -> int:
    """Seconds a replacement process may be refused after the old one was killed (SIGKILL).

    Up to v2.11.x the stale instance lock expires after LOCK_TTL_SECONDS
    (service/app_lock_service.go); from v2.12.0 the actor host of the killed process stays
    registered until ACTOR_HOST_DEADLINE_SECONDS pass (bootstrap/actors_bootstrap.go
    ActorsHostHealthCheckDeadline, 90 s without HA). A probe budget or runbook wait shorter than
    this turns an OOM kill into a crash loop until the window ends.
    """
    return ACTOR_HOST_DEADLINE_SECONDS if version >= ACTOR_HOSTS_SINCE else LOCK_TTL_SECONDS


def healthcheck_speaks_tls(version: tuple[int, int, int]) -> bool:
    """Whether ``pocket-id healthcheck`` reaches the program's own native-TLS listener.

    Before v2.12.0 it GETs http://localhost:PORT/healthz and gets Go's 400 from the HTTPS-only
    port, so it exits 1 (run: v2.8.0 exits 1); from v2.12.0 it uses https with the
    certificate unverified when TLS is configured (cmds/healthcheck.go@v2.12.0; v2.14.0: exit 0).
    """
    return version >= HEALTHCHECK_HTTPS_SINCE


def tls_in_values(version: tuple[int, int, int]) -> bool:
    """Whether TLS_CERT/TLS_KEY hold PEM content (v2.13.0 on) rather than file paths (v2.6.0 to
    v2.12.x, where TLS_CERT_FILE/TLS_KEY_FILE name a file holding the path)."""
    return version >= TLS_PEM_SINCE


def single_holder(version: tuple[int, int, int]) -> str:
    """What only one process can hold: the database's instance lock, from v2.12.0 the one
    actor-host place (bootstrap/actors_bootstrap.go@v2.12.0 WithMaxHosts(1))."""
    return "the one actor-host place" if version >= ACTOR_HOSTS_SINCE else "the instance lock"


def after_kill(version: tuple[int, int, int]) -> str:
    """What a SIGKILLed process leaves behind that refuses its replacement for
    :func:`restart_window_seconds`: the stale instance lock, from v2.12.0 its actor host, still
    registered (the same facts as :func:`single_holder`)."""
    if version >= ACTOR_HOSTS_SINCE:
        return "the killed process's actor host, still registered"
    return "the stale instance lock"


def started_when(version: tuple[int, int, int]) -> str:
    """What HEALTH_PATH's 204 proves at ``version`` (the router starts after these)."""
    return f"the database is open, migrated and {single_holder(version)} held"


def second_instance(version: tuple[int, int, int]) -> str:
    """What a second Pocket-ID process on the same database says before it exits."""
    return SECOND_INSTANCE if version >= SECOND_INSTANCE_SINCE else LOCK_HELD


PUID_ENV: Final = "PUID"
PGID_ENV: Final = "PGID"
"""Read by the image's entrypoint only (not by the program): the user it drops to as root."""
