"""TEST DOUBLE, not Pocket-ID: the HTTP API the login steps of ``rehearse --login`` call, served
on loopback in-process, with real implementations of the hard parts: py_webauthn as the
relying party (registration and discoverable sign-in), Authlib's provider code
(tests/authlib_provider.py) for the code grant, PKCE and the ID token.

Its routes are written here from upstream's controllers, independently of
pocketid_k8s.contract.api (so that a wrong contract fails the tests), behind a version knob as
tests/pocket_id_double.py has ``POCKET_ID_DOUBLE_VERSION``:

- up to v2.9: ``POST /api/oidc/authorize`` (JSON) answers the code;
- from v2.10: ``GET /authorize`` redirects a signed-in browser to ``/interaction?interaction=ID``,
  ``POST /api/oidc/interactions/ID/complete`` with ``{"step": "consent"}`` answers
  ``{"redirectUrl": "/authorize?interaction=ID"}``, which redirects to the callback with the code;
- up to v2.13: ``POST /api/oidc/clients/ID/secret`` (200), from v2.14 ``.../secrets`` (201).

Any other path answers 404 ``{"error": "Record not found"}``. Two doubles may share one
:class:`State` (the same database before and after an upgrade).
"""

from __future__ import annotations

import http.server
import json
import os
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.exceptions import InvalidAuthenticationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from tests.authlib_provider import ISSUER, Client, Provider

Version = tuple[int, int, int]
APP_URL = ISSUER
RP_ID = urlsplit(ISSUER).hostname or ""
USER = "rehearsal-admin"


def env_version() -> Version:
    """POCKET_ID_DOUBLE_VERSION (X.Y.Z), else v2.2.0, as tests/pocket_id_double.py reads it."""
    raw = os.environ.get("POCKET_ID_DOUBLE_VERSION", "2.2.0")
    major, minor, patch = (int(p) for p in raw.split("."))
    return major, minor, patch


@dataclass
class State:
    """What the program's database would hold."""

    sessions: set[str] = field(default_factory=set)
    challenges: dict[str, bytes] = field(default_factory=dict)
    credentials: dict[bytes, tuple[bytes, int]] = field(default_factory=dict)
    """credential id -> (public key, sign count)."""
    provider: Provider | None = None
    interactions: dict[str, dict[str, str]] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)
    """Each request's method and path, in order."""


class LoginDouble:
    """The login API of one Pocket-ID version on 127.0.0.1:``port`` (plain HTTP, as behind
    the rehearsal's TLS front)."""

    def __init__(self, version: Version | None = None, state: State | None = None) -> None:
        self.version = version or env_version()
        self.state = state or State()
        double = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                cookies = dict(
                    part.strip().split("=", 1)
                    for part in (self.headers.get("Cookie") or "").split(";")
                    if "=" in part
                )
                double.state.seen.append(f"{self.command} {urlsplit(self.path).path}")
                status, doc, headers = double.answer(self.command, self.path, body, cookies)
                data = b"" if doc is None else json.dumps(doc).encode()
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LoginDouble:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(
        self, method: str, target: str, body: bytes, cookies: dict[str, str]
    ) -> tuple[int, Any, list[tuple[str, str]]]:
        """(status, JSON answer or None, headers) for one request."""
        parts = urlsplit(target)
        path, query = parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
        signed_in = cookies.get("session") in self.state.sessions
        route = (method, path)
        found = self.routes().get(route)
        if found is None:
            for (m, pattern), handler in self.routes().items():
                head, _, tail = pattern.partition("{id}")
                if m == method and tail and path.startswith(head) and path.endswith(tail):
                    found = handler
                    query["id"] = path[len(head) : -len(tail)]
        if found is None:
            return 404, {"error": "Record not found"}, []
        needs_session = path not in (
            "/api/signup/setup",
            "/api/webauthn/login/start",
            "/api/webauthn/login/finish",
            "/api/oidc/token",
            "/.well-known/openid-configuration",
            "/.well-known/jwks.json",
        )
        if needs_session and not signed_in and path != "/authorize":
            return 401, {"error": "You are not signed in"}, []
        doc = json.loads(body) if body and body.startswith(b"{") else {}
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()} if not doc else {}
        status, answer, headers = found(doc | form | query, cookies)
        return int(status), answer, list(headers)

    def routes(self) -> dict[tuple[str, str], Any]:
        table: dict[tuple[str, str], Any] = {
            ("GET", "/.well-known/openid-configuration"): self._discovery,
            ("GET", "/.well-known/jwks.json"): self._jwks,
            ("POST", "/api/signup/setup"): self._setup,
            ("GET", "/api/users/me"): self._me,
            ("GET", "/api/webauthn/register/start"): self._register_start,
            ("POST", "/api/webauthn/register/finish"): self._register_finish,
            ("GET", "/api/webauthn/login/start"): self._login_start,
            ("POST", "/api/webauthn/login/finish"): self._login_finish,
            ("POST", "/api/webauthn/logout"): self._logout,
            ("POST", "/api/oidc/clients"): self._client,
            ("POST", "/api/oidc/token"): self._token,
        }
        if self.version >= (2, 14, 0):
            table["POST", "/api/oidc/clients/{id}/secrets"] = self._secrets
        else:
            table["POST", "/api/oidc/clients/{id}/secret"] = self._secret
        if self.version >= (2, 10, 0):
            table["GET", "/authorize"] = self._authorize
            table["POST", "/api/oidc/interactions/{id}/complete"] = self._complete
        else:
            table["POST", "/api/oidc/authorize"] = self._authorize_json
        return table

    # --- the handlers: (params, cookies) -> (status, doc, headers) ----------------------------

    def _discovery(self, _: dict[str, str], __: dict[str, str]) -> Any:
        return (
            200,
            {
                "issuer": APP_URL,
                "authorization_endpoint": APP_URL + "/authorize",
                "token_endpoint": APP_URL + "/api/oidc/token",
                "jwks_uri": APP_URL + "/.well-known/jwks.json",
            },
            [],
        )

    def _jwks(self, _: dict[str, str], __: dict[str, str]) -> Any:
        provider = self.state.provider
        return 200, provider.jwks if provider else {"keys": []}, []

    def _session(self) -> list[tuple[str, str]]:
        token = secrets.token_urlsafe(16)
        self.state.sessions.add(token)
        return [("Set-Cookie", f"session={token}; Path=/; Secure; HttpOnly")]

    def _setup(self, params: dict[str, str], _: dict[str, str]) -> Any:
        return 200, {"id": "u-1", "username": params["username"]}, self._session()

    def _me(self, _: dict[str, str], __: dict[str, str]) -> Any:
        return 200, {"id": "u-1", "username": USER, "isAdmin": True}, []

    def _register_start(self, _: dict[str, str], __: dict[str, str]) -> Any:
        options = generate_registration_options(
            rp_id=RP_ID,
            rp_name="Pocket ID",
            user_name=USER,
            user_id=b"u-1",
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
        )
        self.state.challenges["register"] = options.challenge
        return 200, {"publicKey": json.loads(options_to_json(options))}, []

    def _register_finish(self, params: dict[str, Any], _: dict[str, str]) -> Any:
        verified = verify_registration_response(
            credential=params,
            expected_challenge=self.state.challenges.pop("register"),
            expected_rp_id=RP_ID,
            expected_origin=APP_URL,
            require_user_verification=True,
        )
        self.state.credentials[verified.credential_id] = (verified.credential_public_key, 0)
        return 200, {"id": "c-1"}, []

    def _login_start(self, _: dict[str, str], __: dict[str, str]) -> Any:
        options = generate_authentication_options(
            rp_id=RP_ID, user_verification=UserVerificationRequirement.REQUIRED
        )
        token = secrets.token_urlsafe(8)
        self.state.challenges[token] = options.challenge
        cookie = [("Set-Cookie", f"login={token}; Path=/; Secure; HttpOnly")]
        return 200, {"publicKey": json.loads(options_to_json(options))}, cookie

    def _login_finish(self, params: dict[str, Any], cookies: dict[str, str]) -> Any:
        challenge = self.state.challenges.pop(cookies.get("login", ""), b"")
        credential_id = base64url_to_bytes(str(params.get("id", "")))
        if credential_id not in self.state.credentials:
            return 401, {"error": "Unknown credential"}, []
        key, count = self.state.credentials[credential_id]
        try:
            verified = verify_authentication_response(
                credential=params,
                expected_challenge=challenge,
                expected_rp_id=RP_ID,
                expected_origin=APP_URL,
                credential_public_key=key,
                credential_current_sign_count=count,
                require_user_verification=True,
            )
        except InvalidAuthenticationResponse:
            return 401, {"error": "We couldn't verify your passkey"}, []
        self.state.credentials[credential_id] = (key, verified.new_sign_count)
        return 200, {"id": "u-1", "username": USER}, self._session()

    def _logout(self, _: dict[str, str], cookies: dict[str, str]) -> Any:
        self.state.sessions.discard(cookies.get("session", ""))
        return 204, None, [("Set-Cookie", "session=; Path=/; Max-Age=0")]

    def _client(self, params: dict[str, Any], _: dict[str, str]) -> Any:
        client = Client(secrets.token_hex(8), "", str(params["callbackURLs"][0]))
        self.state.provider = Provider(client)
        return 201, {"id": client.client_id, "name": params["name"]}, []

    def _new_secret(self, client_id: str) -> str | None:
        provider = self.state.provider
        if provider is None or provider.client.client_id != client_id:
            return None
        provider.client.client_secret = secrets.token_urlsafe(24)
        return provider.client.client_secret

    def _secret(self, params: dict[str, str], _: dict[str, str]) -> Any:
        secret = self._new_secret(params["id"])
        return (200, {"secret": secret}, []) if secret else (404, {"error": "no client"}, [])

    def _secrets(self, params: dict[str, str], _: dict[str, str]) -> Any:
        secret = self._new_secret(params["id"])
        if secret is None:
            return 404, {"error": "no client"}, []
        return 201, {"id": "s-1", "secret": secret}, []

    def _code(self, query: dict[str, str]) -> dict[str, str]:
        assert self.state.provider is not None
        redirect = self.state.provider.authorize(query, "u-1")
        redirect.pop("status", None)
        return redirect

    def _authorize_json(self, params: dict[str, str], _: dict[str, str]) -> Any:
        redirect = self._code(
            {
                "response_type": "code",
                "client_id": params["clientID"],
                "redirect_uri": params["callbackURL"],
                "scope": params["scope"],
                "nonce": params["nonce"],
                "code_challenge": params["codeChallenge"],
                "code_challenge_method": params["codeChallengeMethod"],
            }
        )
        if "code" not in redirect:
            return 400, {"error": redirect.get("error", "no code")}, []
        return 200, {"code": redirect["code"], "callbackURL": params["callbackURL"]}, []

    def _authorize(self, params: dict[str, str], cookies: dict[str, str]) -> Any:
        if "interaction" in params:
            query = self.state.interactions.pop(params["interaction"], None)
            if query is None or query.get("consented") != "yes":
                return 400, {"error": "interaction not completed"}, []
            query.pop("consented")
            redirect = self._code(query)
            location = f"{query['redirect_uri']}?{urlencode(redirect)}"
            return 303, None, [("Location", location)]
        if cookies.get("session") not in self.state.sessions:
            return 302, None, [("Location", "/login")]
        interaction = secrets.token_hex(8)
        self.state.interactions[interaction] = dict(params)
        return 302, None, [("Location", f"/interaction?interaction={interaction}")]

    def _complete(self, params: dict[str, str], _: dict[str, str]) -> Any:
        query = self.state.interactions.get(params["id"])
        if query is None:
            return 404, {"error": "Interaction not found"}, []
        if params.get("step") != "consent":
            return (
                400,
                {"error": f"expected interaction step consent but got {params.get('step')}"},
                [],
            )
        query["consented"] = "yes"
        return 200, {"redirectUrl": f"/authorize?interaction={params['id']}"}, []

    def _token(self, params: dict[str, str], _: dict[str, str]) -> Any:
        assert self.state.provider is not None
        status, body = self.state.provider.token(params)
        return status, body, []
