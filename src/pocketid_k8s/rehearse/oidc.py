"""The relying party's side of an OIDC authorization-code flow with PKCE.

Standard parts only (RFC 7636, OpenID Connect Core): the verifier and its
challenge, the token request, and the ID token checked against the provider's
JWKS (signature, issuer, audience, nonce, expiry) with ``joserfc``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

__all__ = ["IdTokenError", "Pkce", "token_request", "verify_id_token"]

ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "EdDSA", "PS256")


class IdTokenError(Exception):
    """The ID token does not verify: the message says which check failed."""


@dataclass(frozen=True)
class Pkce:
    verifier: str
    challenge: str
    method: str = "S256"

    @classmethod
    def make(cls) -> Pkce:
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode())


def token_request(
    code: str, redirect_uri: str, client_id: str, client_secret: str | None, pkce: Pkce
) -> dict[str, str]:
    """The form body of the authorization-code token request (client_secret_post)."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client_id,
        "code_verifier": pkce.verifier,
    }
    if client_secret:
        form["client_secret"] = client_secret
    return form


def verify_id_token(
    id_token: str, jwks: dict[str, Any], *, issuer: str, audience: str, nonce: str | None
) -> dict[str, Any]:
    """The ID token's claims, once its signature, issuer, audience, nonce and expiry verify."""
    try:
        keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
    except (JoseError, ValueError) as exc:
        raise IdTokenError(f"signature does not verify against the JWKS ({exc})") from None
    options: dict[str, Any] = {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": audience},
        "sub": {"essential": True},
        "exp": {"essential": True},
    }
    if nonce is not None:
        options["nonce"] = {"essential": True, "value": nonce}
    try:
        jwt.JWTClaimsRegistry(leeway=5, **options).validate(token.claims)
    except JoseError as exc:
        raise IdTokenError(f"claims do not verify ({exc})") from None
    return dict(token.claims)
