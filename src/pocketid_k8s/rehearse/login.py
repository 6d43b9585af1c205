"""``--login``: a real sign-in through a TLS front, with a software passkey, then an OIDC flow.

The calls are the ones Pocket-ID v2.2.0's web UI makes (``/api/signup/setup``,
``/api/webauthn/...``, ``/api/oidc/...``: read from upstream's controllers).
Every row is about the running program; nothing here is a stand-in for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final
from urllib.parse import urlsplit

from pocketid_k8s.check.model import Resource
from pocketid_k8s.contract import api
from pocketid_k8s.live.report import Status
from pocketid_k8s.rehearse.browser import Browser, Response
from pocketid_k8s.rehearse.front import Front
from pocketid_k8s.rehearse.oidc import IdTokenError, Pkce, token_request, verify_id_token
from pocketid_k8s.rehearse.passkey import CeremonyError, SoftwarePasskey
from pocketid_k8s.rehearse.tls import ThrowawayCA
from pocketid_k8s.remote import RemoteError

__all__ = ["LoginRun", "ingress_hosts"]

MIDDLEWARES: Final = "traefik.ingress.kubernetes.io/router.middlewares"
CALLBACK: Final = "https://rehearsal-client.invalid/callback"
Report = Callable[[str, Status, str, float | None], None]


def ingress_hosts(resources: list[Resource], app_host: str) -> dict[str, bool]:
    """Every other Ingress host -> whether its Ingress goes through a redirect Middleware."""
    redirecting = {
        f"{m.namespace}-{m.name}@kubernetescrd"
        for m in resources
        if m.kind == "Middleware" and "redirectRegex" in m.view.get("spec", {})
    }
    found: dict[str, bool] = {}
    for ingress in resources:
        if ingress.kind != "Ingress":
            continue
        used = {s.strip() for s in str(ingress.annotations.get(MIDDLEWARES, "")).split(",")}
        for rule in ingress.view.get("spec", {}).get("rules") or []:
            host = (rule.get("host") or "").lower()
            if host and host != app_host:
                found[host] = bool(used & redirecting)
    return found


class LoginRun:
    def __init__(
        self,
        app_url: str,
        resources: list[Resource],
        port: int,
        report: Report,
        log: Callable[[], str] = str,
    ) -> None:
        self.app_url = app_url
        self.log = log
        """The running program's log so far (to quote why it refused a request)."""
        self.host = urlsplit(app_url).hostname or "localhost"
        self.internal = ingress_hosts(resources, self.host)
        self.report = report
        self.ca = ThrowawayCA((self.host, *self.internal))
        redirects = {h: app_url for h, redirect in self.internal.items() if redirect}
        self.front = Front(port, self.ca.server_context(), redirects)
        self.passkey = SoftwarePasskey()
        self.registered = False
        self.client: tuple[str, str] | None = None
        """The OIDC client made by the login steps: its id and secret."""
        self.browser = Browser(self.front.port, self.ca.client_context())

    def url(self, path: str) -> str:
        return self.app_url + path

    def call(self, method: str, path: str, body: object = None) -> Response:
        return self.browser.request(method, self.url(path), json_body=body, origin=self.app_url)

    def step(self, name: str, action: Callable[[], str]) -> bool:
        start = time.perf_counter()
        try:
            detail = action()
        except (_Failed, CeremonyError, IdTokenError, RemoteError) as exc:
            self.report(name, Status.FAIL, str(exc), (time.perf_counter() - start) * 1000)
            return False
        except _SHAPES as exc:
            self.report(name, Status.FAIL, _shape(exc), (time.perf_counter() - start) * 1000)
            return False
        self.report(name, Status.PASS, detail, (time.perf_counter() - start) * 1000)
        return True

    def run(self) -> None:
        if urlsplit(self.app_url).scheme != "https":
            self.report("login", Status.FAIL, f"APP_URL {self.app_url} is not https", None)
            return
        self.front.start()
        for name, action in (
            ("login-admin", self._admin),
            ("login-register", self._register),
            ("login-sign-out", self._sign_out),
            ("login-sign-in", self._sign_in),
            ("login-oidc", self._oidc),
        ):
            if not self.step(name, action):
                return
        self.step("login-internal", self._internal)

    def sign_in_again(self, port: int) -> bool:
        """After a restart, on the new program: the same passkey still signs in."""
        self.front.backend_port = port
        self.browser.cookies.clear()
        try:
            self._sign_in()
        except (_Failed, CeremonyError, RemoteError, *_SHAPES):
            return False
        return True

    def close(self) -> None:
        self.front.close()

    def _admin(self) -> str:
        body = {
            "username": "rehearsal-admin",
            "firstName": "Rehearsal",
            "lastName": "Admin",
            "email": "rehearsal-admin@example.com",
        }
        response = _ok(self.call("POST", api.SIGNUP_SETUP, body), "first admin setup")
        me = _ok(self.call("GET", api.USERS_ME), "the new admin's session")
        return (
            f"first admin {response.json().get('username')} created through the setup flow "
            f"over TLS for {self.host} (admin: {me.json().get('isAdmin')})"
        )

    def _register(self) -> str:
        options = _ok(self.call("GET", api.REGISTER_START), "registration start")
        answer = self.passkey.register(options.json(), self.app_url)
        _ok(self.call("POST", api.REGISTER_FINISH, answer), "registration finish")
        self.registered = True
        return f"software passkey (ES256) registered for relying party {self.passkey.rp_id}"

    def _sign_out(self) -> str:
        _ok(self.call("POST", api.LOGOUT), "sign-out")
        me = self.call("GET", api.USERS_ME)
        if me.status != 401:
            raise _Failed(f"still signed in after sign-out ({me.error()})")
        return "signed out: /api/users/me answers 401"

    def _sign_in(self) -> str:
        options = _ok(self.call("GET", api.LOGIN_START), "sign-in start")
        answer = self.passkey.authenticate(options.json(), self.app_url)
        user = _ok(self.call("POST", api.LOGIN_FINISH, answer), "sign-in finish")
        _ok(self.call("GET", api.USERS_ME), "the signed-in session")
        return f"signed in as {user.json().get('username')} with the passkey (discoverable)"

    def _oidc(self) -> str:
        client = {
            "name": "rehearsal-client",
            "callbackURLs": [CALLBACK],
            "isPublic": False,
            "pkceEnabled": True,
        }
        created = _ok(self.call("POST", api.OIDC_CLIENTS, client), "OIDC client creation")
        client_id = str(created.json()["id"])
        secret = _ok(
            self.call("POST", api.OIDC_CLIENT_SECRET.format(id=client_id)), "client secret"
        )
        client_secret = str(secret.json()["secret"])
        self.client = (client_id, client_secret)
        return self._code_flow(client_id, client_secret)

    def code_flow_again(self) -> bool:
        """After an upgrade, on the new program: the OIDC client made before completes the code
        flow (call after :meth:`sign_in_again`)."""
        if self.client is None:
            return False
        try:
            self._code_flow(*self.client)
        except (_Failed, CeremonyError, IdTokenError, OSError, KeyError, ValueError):
            return False
        return True

    def _code_flow(self, client_id: str, client_secret: str) -> str:
        discovery = _ok(self.call("GET", api.DISCOVERY), "discovery").json()
        pkce, nonce = Pkce.make(), Pkce.make().verifier[:32]
        request = {
            "clientID": client_id,
            "scope": "openid profile email",
            "callbackURL": CALLBACK,
            "nonce": nonce,
            "codeChallenge": pkce.challenge,
            "codeChallengeMethod": pkce.method,
        }
        code = _ok(self.call("POST", api.OIDC_AUTHORIZE, request), "authorization").json()
        form = token_request(str(code["code"]), CALLBACK, client_id, client_secret, pkce)
        tokens = self.browser.request("POST", str(discovery["token_endpoint"]), form=form)
        _ok(tokens, "code exchange")
        jwks = _ok(self.browser.request("GET", str(discovery["jwks_uri"])), "JWKS").json()
        claims = verify_id_token(
            str(tokens.json()["id_token"]),
            jwks,
            issuer=self.app_url,
            audience=client_id,
            nonce=nonce,
        )
        return (
            f"client {client_id[:8]}...: code with PKCE S256 exchanged at "
            f"{discovery['token_endpoint']}; ID token verifies against the JWKS "
            f"(iss {claims['iss']}, aud = client, nonce, exp); sub {str(claims['sub'])[:8]}..."
        )

    def _internal(self) -> str:
        if not self.internal:
            return "no other Ingress host in the manifests"
        notes = []
        failed = []
        for host, redirect in self.internal.items():
            origin = f"https://{host}"
            landing = self.browser.request("GET", origin + api.LOGIN_PAGE)
            try:
                options = self.call("GET", api.LOGIN_START).json()
                self.passkey.authenticate(options, origin)
                refused_by = "nothing"
            except CeremonyError as exc:
                refused_by = f"the browser ({exc})"
            # A response sent anyway, from the internal origin, is refused by Pocket-ID too.
            options = self.call("GET", api.LOGIN_START).json()
            forged = self.passkey.authenticate(options, origin, as_browser=False)
            answer = self.browser.request(
                "POST", self.url(api.LOGIN_FINISH), json_body=forged, origin=origin
            )
            server = "refused" if answer.status >= 400 else "ACCEPTED"
            why = f"{answer.error()}; its log: {api.ORIGIN_REFUSED}"
            if api.ORIGIN_REFUSED not in self.log():
                why = answer.error()
            if redirect and landing.status in (301, 302, 307, 308):
                notes.append(
                    f"{host} redirects ({landing.status}) to {landing.headers.get('location')}, "
                    f"where the passkey works; without the redirect a ceremony there is "
                    f"refused by {refused_by} and Pocket-ID {server} it ({why})"
                )
            else:
                failed.append(
                    f"{host} reaches the program without a redirect (HTTP {landing.status}): a "
                    f"passkey ceremony there is refused by {refused_by}, and Pocket-ID {server} "
                    f"it ({why}); fix: redirect it to APP_URL with a Middleware (redirectRegex)"
                )
        if failed:
            raise _Failed("; ".join(failed + notes))
        return "; ".join(notes)


class _Failed(Exception):
    pass


_SHAPES: Final = (KeyError, TypeError, AttributeError, IndexError)
"""What reading a JSON answer of another shape than Pocket-ID's raises (``doc["id"]`` of a
list, ``.get`` of a string): the step fails, naming it."""


def _shape(exc: Exception) -> str:
    return (
        f"the program's answer does not have Pocket-ID's shape ({type(exc).__name__}: "
        f"{str(exc)[:100]})"
    )


def _ok(response: Response, what: str) -> Response:
    if response.status >= 400:
        raise _Failed(f"{what}: {response.error()}")
    return response
