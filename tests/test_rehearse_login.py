"""The software passkey and the OIDC client, against real implementations of the other side:
py_webauthn as the relying party, Authlib as the provider's token and PKCE code."""

from __future__ import annotations

import json
from typing import Any

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants.util import generate_id_token
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey
from webauthn import (
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

from pocketid_k8s.rehearse.login import ingress_hosts
from pocketid_k8s.rehearse.oidc import IdTokenError, Pkce, token_request, verify_id_token
from pocketid_k8s.rehearse.passkey import CeremonyError, SoftwarePasskey
from tests.test_rehearse import bundle, literal

RP = "auth.example.com"
ORIGIN = f"https://{RP}"


def registered() -> tuple[SoftwarePasskey, Any]:
    options = generate_registration_options(
        rp_id=RP,
        rp_name="Pocket ID",
        user_name="admin",
        user_id=b"user-handle-1",
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
    )
    passkey = SoftwarePasskey()
    answer = passkey.register({"publicKey": json.loads(options_to_json(options))}, ORIGIN)
    verified = verify_registration_response(
        credential=answer,
        expected_challenge=options.challenge,
        expected_rp_id=RP,
        expected_origin=ORIGIN,
        require_user_verification=True,
    )
    return passkey, verified


def authentication(passkey: SoftwarePasskey, origin: str, *, as_browser: bool = True) -> Any:
    options = generate_authentication_options(
        rp_id=RP, user_verification=UserVerificationRequirement.REQUIRED
    )
    answer = passkey.authenticate(
        json.loads(options_to_json(options)), origin, as_browser=as_browser
    )
    return options, answer


def test_registration_verifies_with_py_webauthn() -> None:
    """py_webauthn accepts the software passkey's registration: ES256, user verified."""
    passkey, verified = registered()
    assert verified.credential_id == passkey.credential_id
    assert verified.user_verified
    assert passkey.user_handle == b"user-handle-1"


def test_assertion_verifies_with_py_webauthn_and_counts_up() -> None:
    """A discoverable assertion verifies against the registered key; the counter rises."""
    passkey, verified = registered()
    for expected in (1, 2):
        options, answer = authentication(passkey, ORIGIN)
        result = verify_authentication_response(
            credential=answer,
            expected_challenge=options.challenge,
            expected_rp_id=RP,
            expected_origin=ORIGIN,
            credential_public_key=verified.credential_public_key,
            credential_current_sign_count=expected - 1,
            require_user_verification=True,
        )
        assert result.new_sign_count == expected
    assert answer["response"]["userHandle"] == "dXNlci1oYW5kbGUtMQ"


def test_other_origin_is_refused_by_the_browser_and_by_the_relying_party() -> None:
    """From another host: the browser part refuses; sent anyway, py_webauthn refuses it."""
    passkey, verified = registered()
    with pytest.raises(CeremonyError, match=r"not pocket-id\.corp\.example\.com"):
        authentication(passkey, "https://pocket-id.corp.example.com")
    options, answer = authentication(
        passkey, "https://pocket-id.corp.example.com", as_browser=False
    )
    with pytest.raises(InvalidAuthenticationResponse, match="origin"):
        verify_authentication_response(
            credential=answer,
            expected_challenge=options.challenge,
            expected_rp_id=RP,
            expected_origin=ORIGIN,
            credential_public_key=verified.credential_public_key,
            credential_current_sign_count=0,
            require_user_verification=True,
        )


def test_pkce_challenge_is_authlibs_s256() -> None:
    """Authlib's provider code computes the same S256 challenge from the verifier."""
    pkce = Pkce.make()
    assert create_s256_code_challenge(pkce.verifier) == pkce.challenge
    form = token_request("c0de", "https://app/cb", "client", "s3cret", pkce)
    assert form["code_verifier"] == pkce.verifier
    assert form["grant_type"] == "authorization_code"


def provider_token(aud: str = "client-1", nonce: str = "n-1") -> tuple[str, dict[str, Any]]:
    """An ID token made by Authlib's OIDC provider code, and the provider's JWKS."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = RSAKey.import_key(private)
    token = {"access_token": "at", "token_type": "Bearer"}
    id_token = generate_id_token(
        token,
        UserInfo(sub="user-1"),
        key.as_dict(private=True),
        iss=ORIGIN,
        aud=aud,
        nonce=nonce,
        kid="k1",
    )
    return id_token, {"keys": [{**key.as_dict(private=False), "kid": "k1"}]}


def test_id_token_from_authlib_verifies() -> None:
    """Signature against the JWKS, issuer, audience and nonce: the claims come back."""
    id_token, jwks = provider_token()
    claims = verify_id_token(id_token, jwks, issuer=ORIGIN, audience="client-1", nonce="n-1")
    assert claims["sub"] == "user-1"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"audience": "client-2"}, "aud"),
        ({"issuer": "https://other.example.com"}, "iss"),
        ({"nonce": "n-2"}, "nonce"),
    ],
)
def test_id_token_with_a_wrong_claim_is_refused(change: dict[str, str], message: str) -> None:
    """Each claim is checked: a wrong audience, issuer or nonce fails with its name."""
    id_token, jwks = provider_token()
    expected = {"issuer": ORIGIN, "audience": "client-1", "nonce": "n-1", **change}
    with pytest.raises(IdTokenError, match=message):
        verify_id_token(id_token, jwks, **expected)


def test_id_token_signed_by_another_key_is_refused() -> None:
    """The JWKS of another provider does not verify the signature."""
    id_token, _ = provider_token()
    _, other = provider_token()
    with pytest.raises(IdTokenError, match="signature"):
        verify_id_token(id_token, other, issuer=ORIGIN, audience="client-1", nonce="n-1")


def test_internal_host_redirect_is_read_from_the_middleware() -> None:
    """The bundle's internal host redirects; the spec's serves the app."""
    assert ingress_hosts(bundle(), "auth.mulliken.net") == {"pocket-id.corp.mulliken.net": True}
    assert ingress_hosts(literal(), "auth.mulliken.net") == {"pocket-id.corp.mulliken.net": False}


# --- the code flow against an Authlib provider ------------------------------------------------


CALLBACK = "https://app.example.com/callback"


def code_flow(pkce: Pkce, *, verifier: str | None = None) -> tuple[int, dict[str, Any], Any]:
    from tests.authlib_provider import Client, Provider

    provider = Provider(Client("client-1", "s3cret", CALLBACK))
    redirect = provider.authorize(
        {
            "response_type": "code",
            "client_id": "client-1",
            "redirect_uri": CALLBACK,
            "scope": "openid profile",
            "nonce": "n-1",
            "code_challenge": pkce.challenge,
            "code_challenge_method": pkce.method,
        },
        user="user-1",
    )
    form = token_request(redirect["code"], CALLBACK, "client-1", "s3cret", pkce)
    if verifier is not None:
        form["code_verifier"] = verifier
    status, body = provider.token(form)
    return status, body, provider


def test_code_flow_with_pkce_against_authlib() -> None:
    """Authlib's grant accepts the token request (PKCE S256, client_secret_post); its ID
    token verifies against its JWKS."""
    from tests.authlib_provider import ISSUER

    status, body, provider = code_flow(Pkce.make())
    assert status == 200, body
    claims = verify_id_token(
        body["id_token"], provider.jwks, issuer=ISSUER, audience="client-1", nonce="n-1"
    )
    assert claims["sub"] == "user-1"


def test_code_flow_with_a_wrong_verifier_is_refused_by_authlib() -> None:
    """Authlib refuses a code_verifier that does not match the challenge."""
    status, body, _ = code_flow(Pkce.make(), verifier=Pkce.make().verifier)
    assert status == 400
    assert body["error"] == "invalid_grant"
