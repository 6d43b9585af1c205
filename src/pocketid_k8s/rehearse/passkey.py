"""A software passkey: the authenticator and the browser's part of a WebAuthn ceremony.

The authenticator makes an ES256 key pair, answers registration with a "none"
attestation and authentication with a signature, and keeps the user handle
(a resident, discoverable credential, as Pocket-ID requires). The browser part
builds clientDataJSON with the page's origin and, like a browser, refuses a
relying-party id that is not the origin's host or a parent domain of it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.webauthn import AttestationObject, AttestedCredentialData, AuthenticatorData

__all__ = ["CeremonyError", "SoftwarePasskey", "b64url", "unb64url"]

AAGUID = bytes(16)


class CeremonyError(Exception):
    """The browser would refuse the ceremony (as a SecurityError or NotAllowedError)."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _public_key(options: dict[str, Any]) -> dict[str, Any]:
    """Options as Pocket-ID sends them (``{"publicKey": ...}``) or bare."""
    inner = options.get("publicKey", options)
    return inner if isinstance(inner, dict) else {}


@dataclass
class SoftwarePasskey:
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    user_handle: bytes | None = None
    rp_id: str | None = None
    counter: int = 0

    def register(self, options: dict[str, Any], origin: str) -> dict[str, Any]:
        """navigator.credentials.create(): the RegistrationResponseJSON to send back."""
        public = _public_key(options)
        rp_id = str((public.get("rp") or {}).get("id") or urlsplit(origin).hostname)
        _check_rp_id(rp_id, origin)
        client_data = _client_data("webauthn.create", public, origin)
        cose = ES256.from_cryptography_key(self.key.public_key())  # type: ignore[no-untyped-call]
        attested = AttestedCredentialData.create(AAGUID, self.credential_id, cose)
        flags = AuthenticatorData.FLAG
        auth_data = AuthenticatorData.create(
            hashlib.sha256(rp_id.encode()).digest(),
            flags.UP | flags.UV | flags.AT,
            self.counter,
            bytes(attested),
        )
        attestation = AttestationObject.create("none", auth_data, {})
        self.user_handle = unb64url(str((public.get("user") or {}).get("id") or ""))
        self.rp_id = rp_id
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(bytes(attestation)),
                "transports": ["internal"],
            },
            "clientExtensionResults": {"credProps": {"rk": True}},
        }

    def authenticate(
        self, options: dict[str, Any], origin: str, *, as_browser: bool = True
    ) -> dict[str, Any]:
        """navigator.credentials.get(): the AuthenticationResponseJSON to send back.

        ``as_browser=False`` skips the browser's relying-party check, to show what the
        server does with a response a browser would never send.
        """
        public = _public_key(options)
        rp_id = str(public.get("rpId") or self.rp_id or urlsplit(origin).hostname)
        if as_browser:
            _check_rp_id(rp_id, origin)
        allowed = [unb64url(str(c.get("id"))) for c in public.get("allowCredentials") or []]
        if rp_id != self.rp_id or (allowed and self.credential_id not in allowed):
            raise CeremonyError(f"no passkey for {rp_id} on this authenticator")
        client_data = _client_data("webauthn.get", public, origin)
        self.counter += 1
        flags = AuthenticatorData.FLAG
        auth_data = bytes(
            AuthenticatorData.create(
                hashlib.sha256(rp_id.encode()).digest(), flags.UP | flags.UV, self.counter
            )
        )
        signature = self.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(self.user_handle or b""),
            },
            "clientExtensionResults": {},
        }


def _client_data(kind: str, public: dict[str, Any], origin: str) -> bytes:
    challenge = str(public.get("challenge") or "")
    doc = {"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}
    return json.dumps(doc, separators=(",", ":")).encode()


def _check_rp_id(rp_id: str, origin: str) -> None:
    host = (urlsplit(origin).hostname or "").lower()
    if host != rp_id.lower() and not host.endswith("." + rp_id.lower()):
        raise CeremonyError(
            f"the relying party id {rp_id} is not {host} or a parent domain of it: a browser "
            "refuses the ceremony (SecurityError)"
        )
