"""Pocket-ID's HTTP API as its web UI calls it, per version (read at every tag v2.2.0..v2.14.0).

``rehearse --login`` makes the same calls as a browser on the UI would: the
first admin through the setup flow, WebAuthn registration and sign-in (the
``/api/webauthn`` group, a ``__Host-session`` cookie between start and finish),
an OIDC client and its secret, and the authorization the UI completes after the
consent page. Each call is a :class:`Step`; :data:`ROUTES` holds every form a step
took, keyed by the first version it applies from (as the ``*_SINCE`` facts of
:mod:`pocketid_k8s.contract.pocketid`), each citing the file and tag it was read at.
:func:`routes` gives one version's forms; a version outside the tags read gets the
newest read (:func:`assumed`, to say so in a report).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final, NamedTuple

from pocketid_k8s.contract.image import Version

DISCOVERY: Final = "/.well-known/openid-configuration"
"""Names ``authorization_endpoint`` (APP_URL/authorize), ``token_endpoint``
(/api/oidc/token) and ``jwks_uri`` at every tag (controller/well_known_controller.go)."""
JWKS: Final = "/.well-known/jwks.json"
LOGIN_PAGE: Final = "/login"
RELEASE_ASSETS: Final = ("pocket-id-linux-amd64", "pocket-id-linux-arm64")
"""The program as each release publishes it (a single static binary)."""
RELEASES: Final = "https://github.com/pocket-id/pocket-id/releases"
ORIGIN_REFUSED: Final = "Error validating origin"
"""What the program logs when it refuses a WebAuthn response whose clientDataJSON origin is
not APP_URL (go-webauthn's message; the client gets HTTP 500; confirmed by running v2.2.0 and
v2.8.0). v2.14.0 answers 401 "We couldn't verify your passkey" and logs no such line (run)."""

READ_FROM: Final[Version] = (2, 2, 0)
READ_UNTIL: Final[Version] = (2, 14, 0)
"""Every tag from READ_FROM to READ_UNTIL was read for the routes below (a patch release
shares its minor's routes); v2.14.0 is the newest tag of the upstream snapshot (2026-12-03)."""

CLIENT_SECRETS_SINCE: Final[Version] = (2, 14, 0)
"""Several secrets per OIDC client (commit 155a1fcb, #1679): ``POST .../secrets``."""
AUTHORIZE_INTERACTIONS_SINCE: Final[Version] = (2, 10, 0)
"""OAuth on fosite (commit 8158452b, #1520): the UI's JSON ``POST /api/oidc/authorize`` is
gone; the standard ``/authorize`` endpoint redirects a signed-in browser to an interaction
(consent) the UI completes, then redirects to the callback with the code."""

LOGIN_RUNS: Final[tuple[Version, ...]] = ((2, 2, 0), (2, 8, 0), (2, 14, 0))
"""Releases of contract.pocketid.RUNS (the binaries and how each was built) on which
``rehearse --login`` passed every login row (admin, register, sign-out, sign-in, oidc,
internal) and the restart's "the passkey still signs in": every route form in force at each
was confirmed by running it (v2.2.0: 2026-11-26; v2.8.0 and v2.14.0: 2026-12-03, the site
tests/sites/v2-14). The other tags' forms were read, not run (:func:`confirmed_by`)."""


class Step(StrEnum):
    """One call of the login steps; the value names it in a report."""

    SETUP = "first admin setup"
    ME = "the session's user"
    REGISTER_START = "registration start"
    REGISTER_FINISH = "registration finish"
    LOGIN_START = "sign-in start"
    LOGIN_FINISH = "sign-in finish"
    LOGOUT = "sign-out"
    CLIENT_CREATE = "OIDC client creation"
    CLIENT_SECRET = "client secret"
    AUTHORIZE = "authorization"
    INTERACTION = "authorization interaction"
    TOKEN = "code exchange"


class Route(NamedTuple):
    step: Step
    since: Version
    method: str
    path: str
    """Relative to APP_URL; ``{id}`` is the OIDC client's or the interaction's id."""
    read: str
    """The file (under backend/internal/) and tags it was read at."""
    body: str = ""
    """The request's JSON fields, or query parameters for a GET."""
    answer: str = ""
    """The answer's fields the login steps use."""


_CTRL: Final = "controller/"
ROUTES: Final[tuple[Route, ...]] = (
    Route(
        Step.SETUP,
        (2, 2, 0),
        "POST",
        "/api/signup/setup",
        _CTRL + "user_signup_controller.go@v2.2.0..v2.9.0, usersignup/module.go@v2.10.0..v2.14.0",
        "SignUpDto: username, firstName, lastName, email (usersignup/dto.go@v2.14.0)",
        "the first admin's user: username; sets the session cookie",
    ),
    Route(
        Step.ME,
        (2, 2, 0),
        "GET",
        "/api/users/me",
        _CTRL + "user_controller.go@v2.2.0..v2.14.0",
        answer="username, isAdmin (dto/user_dto.go@v2.14.0); 401 without a session",
    ),
    Route(
        Step.REGISTER_START,
        (2, 2, 0),
        "GET",
        "/api/webauthn/register/start",
        _CTRL + "webauthn_controller.go@v2.2.0..v2.9.0, webauthn/module.go@v2.10.0..v2.14.0",
        answer="publicKey creation options (go-webauthn)",
    ),
    Route(
        Step.REGISTER_FINISH,
        (2, 2, 0),
        "POST",
        "/api/webauthn/register/finish",
        _CTRL + "webauthn_controller.go@v2.2.0..v2.9.0, webauthn/module.go@v2.10.0..v2.14.0",
        "the credential (WebAuthn JSON)",
    ),
    Route(
        Step.LOGIN_START,
        (2, 2, 0),
        "GET",
        "/api/webauthn/login/start",
        _CTRL + "webauthn_controller.go@v2.2.0..v2.9.0, webauthn/module.go@v2.10.0..v2.14.0",
        answer="publicKey request options (go-webauthn)",
    ),
    Route(
        Step.LOGIN_FINISH,
        (2, 2, 0),
        "POST",
        "/api/webauthn/login/finish",
        _CTRL + "webauthn_controller.go@v2.2.0..v2.9.0, webauthn/module.go@v2.10.0..v2.14.0",
        "the assertion (WebAuthn JSON); rate-limited per address: burst 5, one per 10 s",
        "the user: username",
    ),
    Route(
        Step.LOGOUT,
        (2, 2, 0),
        "POST",
        "/api/webauthn/logout",
        _CTRL + "webauthn_controller.go@v2.2.0..v2.9.0, webauthn/module.go@v2.10.0..v2.14.0",
    ),
    Route(
        Step.CLIENT_CREATE,
        (2, 2, 0),
        "POST",
        "/api/oidc/clients",
        _CTRL + "oidc_controller.go@v2.2.0..v2.14.0",
        "OidcClientCreateDto: name, callbackURLs, isPublic, pkceEnabled (dto/oidc_dto.go)",
        "id",
    ),
    Route(
        Step.CLIENT_SECRET,
        (2, 2, 0),
        "POST",
        "/api/oidc/clients/{id}/secret",
        _CTRL + "oidc_controller.go@v2.2.0..v2.13.0",
        answer="secret (200)",
    ),
    Route(
        Step.CLIENT_SECRET,
        CLIENT_SECRETS_SINCE,
        "POST",
        "/api/oidc/clients/{id}/secrets",
        _CTRL + "oidc_controller.go@v2.14.0",
        "OidcClientSecretCreateDto, optional (none sent)",
        "OidcClientSecretCreatedDto: secret (201; dto/oidc_dto.go@v2.14.0)",
    ),
    Route(
        Step.AUTHORIZE,
        (2, 2, 0),
        "POST",
        "/api/oidc/authorize",
        _CTRL + "oidc_controller.go@v2.2.0..v2.9.0",
        "AuthorizeOidcClientRequestDto: clientID, scope, callbackURL, nonce, codeChallenge, "
        "codeChallengeMethod",
        "code",
    ),
    Route(
        Step.AUTHORIZE,
        AUTHORIZE_INTERACTIONS_SINCE,
        "GET",
        "/authorize",
        "oidc/module.go, oidc/authorization_handler.go@v2.10.0..v2.14.0",
        "client_id, response_type=code, scope, redirect_uri, state, nonce, code_challenge, "
        "code_challenge_method",
        "302 to /interaction?interaction=ID, or (no step left) to redirect_uri with code",
    ),
    Route(
        Step.INTERACTION,
        AUTHORIZE_INTERACTIONS_SINCE,
        "POST",
        "/api/oidc/interactions/{id}/complete",
        "oidc/module.go, oidc/interaction_session_dto.go@v2.10.0..v2.14.0",
        "step: the interaction's currentStep (consent for a new client)",
        "redirectUrl (/authorize?interaction=ID) when done, else interaction.currentStep",
    ),
    Route(
        Step.TOKEN,
        (2, 2, 0),
        "POST",
        "/api/oidc/token",
        _CTRL + "oidc_controller.go@v2.2.0..v2.9.0, oidc/module.go@v2.10.0..v2.14.0",
        "form: authorization_code grant, client_secret_post, code_verifier",
        "id_token",
    ),
)
"""Every form of every step; a step's form applies from its ``since`` until the next one's."""


def assumed(version: Version) -> Version | None:
    """The version whose routes stand in for ``version``'s when its tag was not read (the
    newest read), else None."""
    if READ_FROM <= version < (READ_UNTIL[0], READ_UNTIL[1] + 1, 0):
        return None
    return READ_UNTIL


def routes(version: Version) -> dict[Step, Route]:
    """The form of each step at ``version`` (a version not read: the newest read's). A step
    absent from the answer has no route at that version (INTERACTION before v2.10.0)."""
    at = assumed(version) or version
    found: dict[Step, Route] = {}
    for route in sorted(ROUTES, key=lambda r: r.since):
        if route.since <= at:
            found[route.step] = route
    return found


def confirmed_by(route: Route) -> tuple[Version, ...]:
    """The releases of LOGIN_RUNS whose run used ``route`` (none: read at the tags only)."""
    return tuple(v for v in LOGIN_RUNS if routes(v).get(route.step) == route)


def show(version: Version) -> str:
    return "v" + ".".join(map(str, version))


def note(version: Version) -> str:
    """What a login row appends when ``version``'s routes were not read ("" when they were)."""
    used = assumed(version)
    return "" if used is None else f" ({show(version)}'s API not read: {show(used)}'s assumed)"
