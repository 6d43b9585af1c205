"""``--login``: a real sign-in through a TLS front, with a software passkey, then an OIDC flow.

The calls are the ones Pocket-ID's web UI makes at the pod's version (``/api/signup/setup``,
``/api/webauthn/...``, ``/api/oidc/...``): :mod:`pocketid_k8s.contract.api` holds each
version's routes, read from upstream at every tag. Every row is about the running program;
nothing here is a stand-in for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final
from urllib.parse import parse_qs, quote, urlencode, urljoin, urlsplit

from pocketid_k8s.check.model import Resource
from pocketid_k8s.contract import api
from pocketid_k8s.contract.api import Step
from pocketid_k8s.contract.image import Version
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
SCOPE: Final = "openid profile email"
MAX_REDIRECTS: Final = 6
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
        *,
        version: Version,
    ) -> None:
        self.app_url = app_url
        self.version = version
        """The running program's version: whose routes the calls take (an upgrade changes it
        between the old program's steps and the new one's)."""
        self.failure = ""
        """Why the last :meth:`sign_in_again` or :meth:`code_flow_again` returned False."""
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

    def call(self, step: Step, body: object = None, *, id: str = "") -> Response:
        """``step`` as the program's version has it (``id`` fills the route's ``{id}``)."""
        route = self.route(step)
        path = route.path.format(id=quote(id, safe=""))  # the program's id, as one segment
        return self.browser.request(
            route.method, self.url(path), json_body=body, origin=self.app_url
        )

    def route(self, step: Step) -> api.Route:
        found = api.routes(self.version).get(step)
        if found is None:  # a bug: the flow asked for a step its version's API has not
            raise _Failed(f"{step}: no route at {api.show(self.version)}")
        return found

    def ok(self, response: Response, step: Step) -> Response:
        """``response`` when it succeeded; else a failure naming the route and whose API it is."""
        if response.status < 400:
            return response
        route = self.route(step)
        raise _Failed(
            f"{step}: {route.method} {route.path} ({api.show(self.version)}'s API"
            f"{api.note(self.version)}) answered {response.error()}"
        )

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
        detail += api.note(self.version)
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
        except (_Failed, CeremonyError, RemoteError) as exc:
            self.failure = str(exc)
            return False
        except _SHAPES as exc:
            self.failure = _shape(exc)
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
        response = self.ok(self.call(Step.SETUP, body), Step.SETUP)
        me = self.ok(self.call(Step.ME), Step.ME)
        return (
            f"first admin {response.json().get('username')} created through the setup flow "
            f"over TLS for {self.host} (admin: {me.json().get('isAdmin')})"
        )

    def _register(self) -> str:
        options = self.ok(self.call(Step.REGISTER_START), Step.REGISTER_START)
        answer = self.passkey.register(options.json(), self.app_url)
        self.ok(self.call(Step.REGISTER_FINISH, answer), Step.REGISTER_FINISH)
        self.registered = True
        return f"software passkey (ES256) registered for relying party {self.passkey.rp_id}"

    def _sign_out(self) -> str:
        self.ok(self.call(Step.LOGOUT), Step.LOGOUT)
        me = self.call(Step.ME)
        if me.status != 401:
            raise _Failed(f"still signed in after sign-out ({me.error()})")
        return f"signed out: {self.route(Step.ME).path} answers 401"

    def _sign_in(self) -> str:
        options = self.ok(self.call(Step.LOGIN_START), Step.LOGIN_START)
        answer = self.passkey.authenticate(options.json(), self.app_url)
        user = self.ok(self.call(Step.LOGIN_FINISH, answer), Step.LOGIN_FINISH)
        self.ok(self.call(Step.ME), Step.ME)
        return f"signed in as {user.json().get('username')} with the passkey (discoverable)"

    def _oidc(self) -> str:
        client = {
            "name": "rehearsal-client",
            "callbackURLs": [CALLBACK],
            "isPublic": False,
            "pkceEnabled": True,
        }
        created = self.ok(self.call(Step.CLIENT_CREATE, client), Step.CLIENT_CREATE)
        client_id = str(created.json()["id"])
        secret = self.ok(self.call(Step.CLIENT_SECRET, id=client_id), Step.CLIENT_SECRET)
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
        except (_Failed, CeremonyError, IdTokenError, RemoteError) as exc:
            self.failure = str(exc)
            return False
        except (*_SHAPES, ValueError) as exc:
            self.failure = _shape(exc)
            return False
        return True

    def _code_flow(self, client_id: str, client_secret: str) -> str:
        discovery = _ok(self.browser.request("GET", self.url(api.DISCOVERY)), "discovery").json()
        pkce, nonce = Pkce.make(), Pkce.make().verifier[:32]
        code = self._authorize(client_id, pkce, nonce)
        form = token_request(code, CALLBACK, client_id, client_secret, pkce)
        tokens = self.browser.request("POST", str(discovery["token_endpoint"]), form=form)
        self.ok(tokens, Step.TOKEN)
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

    def _authorize(self, client_id: str, pkce: Pkce, nonce: str) -> str:
        """The authorization code, as the UI gets it at the program's version."""
        route = self.route(Step.AUTHORIZE)
        if route.method == "POST":  # up to v2.9: the UI posts the consent as JSON
            request = {
                "clientID": client_id,
                "scope": SCOPE,
                "callbackURL": CALLBACK,
                "nonce": nonce,
                "codeChallenge": pkce.challenge,
                "codeChallengeMethod": pkce.method,
            }
            return str(self.ok(self.call(Step.AUTHORIZE, request), Step.AUTHORIZE).json()["code"])
        state = Pkce.make().verifier[:32]
        query = {
            "client_id": client_id,
            "response_type": "code",
            "scope": SCOPE,
            "redirect_uri": CALLBACK,
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce.challenge,
            "code_challenge_method": pkce.method,
        }
        answer = self.browser.request(
            "GET", f"{self.url(route.path)}?{urlencode(query)}", origin=self.app_url
        )
        for _ in range(MAX_REDIRECTS):
            location = self._redirect(answer, route)
            params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
            if location.startswith(CALLBACK + "?"):
                if params.get("state") != state or "code" not in params:
                    raise _Failed(
                        f"{Step.AUTHORIZE}: the callback got no code for this request "
                        f"({params.get('error') or 'state differs'}: "
                        f"{params.get('error_description', '')[:200]})"
                    )
                return params["code"]
            if urlsplit(location).path == "/interaction" and "interaction" in params:
                location = self._interaction(params["interaction"])
            answer = self.browser.request("GET", urljoin(self.url("/"), location))
        raise _Failed(f"{Step.AUTHORIZE}: more than {MAX_REDIRECTS} redirects, no code")

    def _redirect(self, answer: Response, route: api.Route) -> str:
        if answer.status not in (302, 303) or not answer.headers.get("location"):
            raise _Failed(
                f"{Step.AUTHORIZE}: {route.method} {route.path} ({api.show(self.version)}'s API"
                f"{api.note(self.version)}) answered {answer.error()}, not a redirect"
            )
        return answer.headers["location"]

    def _interaction(self, interaction: str) -> str:
        """Complete each step the interaction asks for (consent, for a new client), signed
        in: the redirect back to the authorization endpoint."""
        step = "consent"
        for _ in range(MAX_REDIRECTS):
            done = self.ok(
                self.call(Step.INTERACTION, {"step": step}, id=interaction), Step.INTERACTION
            ).json()
            if done.get("redirectUrl"):
                return str(done["redirectUrl"])
            step = str(done["interaction"]["currentStep"])
        raise _Failed(f"{Step.INTERACTION}: more than {MAX_REDIRECTS} steps")

    def _internal(self) -> str:
        if not self.internal:
            return "no other Ingress host in the manifests"
        notes = []
        failed = []
        for host, redirect in self.internal.items():
            origin = f"https://{host}"
            landing = self.browser.request("GET", origin + api.LOGIN_PAGE)
            try:
                options = self.call(Step.LOGIN_START).json()
                self.passkey.authenticate(options, origin)
                refused_by = "nothing"
            except CeremonyError as exc:
                refused_by = f"the browser ({exc})"
            # A response sent anyway, from the internal origin, is refused by Pocket-ID too.
            options = self.call(Step.LOGIN_START).json()
            forged = self.passkey.authenticate(options, origin, as_browser=False)
            answer = self.browser.request(
                "POST",
                self.url(self.route(Step.LOGIN_FINISH).path),
                json_body=forged,
                origin=origin,
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
