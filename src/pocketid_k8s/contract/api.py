"""Pocket-ID v2.2.0's HTTP API, as its web UI calls it (``backend/internal/controller/*.go``).

``rehearse --login`` makes the same calls as a browser on the UI would: the
first admin through the setup flow, WebAuthn registration and sign-in (the
``/api/webauthn`` group, a ``__Host-session`` cookie between start and finish),
an OIDC client, and the authorization the UI posts after the consent page.
"""

from __future__ import annotations

from typing import Final

DISCOVERY: Final = "/.well-known/openid-configuration"
JWKS: Final = "/.well-known/jwks.json"
SIGNUP_SETUP: Final = "/api/signup/setup"
"""POST SignUpDto (username, firstName, lastName, email): the first admin, signed in."""
USERS_ME: Final = "/api/users/me"
REGISTER_START: Final = "/api/webauthn/register/start"
REGISTER_FINISH: Final = "/api/webauthn/register/finish"
LOGIN_START: Final = "/api/webauthn/login/start"
LOGIN_FINISH: Final = "/api/webauthn/login/finish"
"""Rate-limited per client address: burst 5, one per 10 s."""
LOGOUT: Final = "/api/webauthn/logout"
OIDC_CLIENTS: Final = "/api/oidc/clients"
OIDC_CLIENT_SECRET: Final = "/api/oidc/clients/{id}/secret"
OIDC_AUTHORIZE: Final = "/api/oidc/authorize"
"""POST AuthorizeOidcClientRequestDto (clientID, scope, callbackURL, nonce, codeChallenge,
codeChallengeMethod): the code, as the UI's authorize page gets it."""
LOGIN_PAGE: Final = "/login"
RELEASE_ASSETS: Final = ("pocket-id-linux-amd64", "pocket-id-linux-arm64")
"""The program as each release publishes it (a single static binary)."""
RELEASES: Final = "https://github.com/pocket-id/pocket-id/releases"
ORIGIN_REFUSED: Final = "Error validating origin"
"""What the program logs when it refuses a WebAuthn response whose clientDataJSON origin is
not APP_URL (go-webauthn's message; the client gets HTTP 500; confirmed by running v2.2.0)."""
