"""An OpenID Connect provider built on Authlib, for testing rehearse's OIDC client.

Authlib's own grant code does the work: AuthorizationCodeGrant with client_secret_post,
RFC 7636 CodeChallenge (S256 required) and OpenIDCode (nonce, ID token signed RS256).
Only the storage (dicts) and the request plumbing are written here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin, grants
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload, JsonRequest, OAuth2Request
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.core.models import AuthorizationCodeMixin
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

ISSUER = "https://auth.example.com"
KID = "provider-key-1"


@dataclass
class Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    client_secret: str
    redirect_uri: str

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_allowed_scope(self, scope: str) -> str:
        return scope

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri == self.redirect_uri

    def check_client_secret(self, client_secret: str) -> bool:
        return client_secret == self.client_secret

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "client_secret_post"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code(AuthorizationCodeMixin):  # type: ignore[misc]
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user_id: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time


class Request(OAuth2Request):  # type: ignore[misc]
    """A request whose parameters are already parsed (what a web framework would hand over)."""

    def __init__(self, method: str, uri: str, params: dict[str, str]) -> None:
        super().__init__(method, uri, headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.payload = BasicOAuth2Payload(params)
        self._params = params

    @property
    def args(self) -> dict[str, str]:
        return self._params if self.method == "GET" else {}

    @property
    def form(self) -> dict[str, str]:
        return self._params if self.method == "POST" else {}


class Provider:
    def __init__(self, client: Client) -> None:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.key = RSAKey.import_key(private, {"kid": KID})
        self.client = client
        self.codes: dict[str, Code] = {}
        provider = self

        class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
            TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_post",)

            def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
                data = request.payload.data
                provider.codes[code] = Code(
                    code,
                    request.client.client_id,
                    request.payload.redirect_uri,
                    request.payload.scope,
                    request.user,
                    data.get("nonce"),
                    data.get("code_challenge"),
                    data.get("code_challenge_method"),
                )

            def query_authorization_code(self, code: str, client: Client) -> Code | None:
                found = provider.codes.get(code)
                return found if found and found.client_id == client.client_id else None

            def delete_authorization_code(self, code: Code) -> None:
                provider.codes.pop(code.code, None)

            def authenticate_user(self, code: Code) -> str:
                return code.user_id

        class IdToken(OpenIDCode):  # type: ignore[misc]
            def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
                return False

            def resolve_client_private_key(self, client: Client) -> dict[str, Any]:
                return provider.key.as_dict(private=True)

            def get_client_algorithm(self, client: Client) -> str:
                return "RS256"

            def get_encode_header(self, client: Client) -> dict[str, str]:
                return {"alg": "RS256", "kid": KID}

            def get_client_claims(self, client: Client) -> dict[str, Any]:
                return {"iss": ISSUER, "aud": [client.client_id], "exp": int(time.time()) + 300}

            def generate_user_info(self, user: str, scope: str) -> UserInfo:
                return UserInfo(sub=user)

        class Server(AuthorizationServer):  # type: ignore[misc]
            def query_client(self, client_id: str) -> Client | None:
                return provider.client if client_id == provider.client.client_id else None

            def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
                return None

            def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
                return request

            def create_json_request(self, request: JsonRequest) -> JsonRequest:
                return request

            def handle_response(
                self,
                status: int,
                body: Any,
                headers: list[tuple[str, str]],
            ) -> tuple[int, Any, dict[str, str]]:
                return status, body, dict(headers)

            def send_signal(self, name: str, *args: object, **kwargs: object) -> None:
                return None

        self.server = Server()
        self.server.register_token_generator("default", BearerTokenGenerator(_token))
        self.server.register_grant(CodeGrant, [CodeChallenge(required=True), IdToken()])

    @property
    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}

    def authorize(self, query: dict[str, str], user: str) -> dict[str, str]:
        """The authorization endpoint, the user already signed in: the redirect's query."""
        request = Request("GET", f"{ISSUER}/authorize?{urlencode(query)}", query)
        grant = self.server.get_consent_grant(request, end_user=user)
        status, _, headers = self.server.create_authorization_response(
            request, grant_user=user, grant=grant
        )
        location = urlsplit(headers["Location"])
        return {k: v[0] for k, v in parse_qs(location.query).items()} | {"status": str(status)}

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """The token endpoint, given the form body the client posts."""
        request = Request("POST", f"{ISSUER}/token", form)
        status, body, _ = self.server.create_token_response(request)
        return status, body


def _token(*args: object, **kwargs: object) -> str:
    import secrets

    return secrets.token_urlsafe(24)
