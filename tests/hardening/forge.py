"""A forged WebAuthn authenticator: exact control over every byte it answers with.

The project's software CTAP2 device goes through a real Fido2Client; this one
writes the W3C JSON by hand (authenticator data, client data, "none"
attestation CBOR) with a P-256 key, so tests and benchmarks can pick the
credential id, the counter and the flags, and reuse one credential id across
ceremonies (which no honest device does). It builds the bytes itself rather
than with fido2's types, so it neither depends on nor pays for the library
under test.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2 import cbor
from fido2.utils import websafe_decode, websafe_encode

UP, UV, AT = 0x01, 0x04, 0x40


def _cose_es256(public_key: ec.EllipticCurvePublicKey) -> bytes:
    numbers = public_key.public_numbers()
    return cbor.encode(
        {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
    )


def _client_data(kind: str, challenge: str, origin: str) -> bytes:
    document = {"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}
    return json.dumps(document, separators=(",", ":")).encode()


@dataclass
class ForgedKey:
    """One credential: its id, private key and sign counter."""

    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    counter: int = 0
    user_handle: bytes | None = None

    def register(self, public_key: dict[str, Any], origin: str) -> dict[str, Any]:
        """A RegistrationResponseJSON ("none" attestation) for creation options."""
        self.user_handle = websafe_decode(public_key["user"]["id"])
        credential_data = (
            b"\0" * 16
            + struct.pack(">H", len(self.credential_id))
            + self.credential_id
            + _cose_es256(self.private_key.public_key())
        )
        auth_data = (
            hashlib.sha256(public_key["rp"]["id"].encode()).digest()
            + bytes([UP | AT])
            + struct.pack(">I", self.counter)
            + credential_data
        )
        attestation = cbor.encode({"fmt": "none", "attStmt": {}, "authData": auth_data})
        encoded_id = websafe_encode(self.credential_id)
        return {
            "id": encoded_id,
            "rawId": encoded_id,
            "type": "public-key",
            "response": {
                "clientDataJSON": websafe_encode(
                    _client_data("webauthn.create", public_key["challenge"], origin)
                ),
                "attestationObject": websafe_encode(attestation),
            },
            "clientExtensionResults": {},
        }

    def assertion(
        self,
        public_key: dict[str, Any],
        origin: str,
        *,
        counter: int | None = None,
        user_verified: bool = False,
    ) -> dict[str, Any]:
        """An AuthenticationResponseJSON for request options; advances the counter."""
        if counter is None:
            self.counter += 1
            counter = self.counter
        auth_data = (
            hashlib.sha256(public_key["rpId"].encode()).digest()
            + bytes([UP | (UV if user_verified else 0)])
            + struct.pack(">I", counter)
        )
        client_data = _client_data("webauthn.get", public_key["challenge"], origin)
        signature = self.private_key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        encoded_id = websafe_encode(self.credential_id)
        response: dict[str, Any] = {
            "clientDataJSON": websafe_encode(client_data),
            "authenticatorData": websafe_encode(auth_data),
            "signature": websafe_encode(signature),
        }
        if self.user_handle is not None:
            response["userHandle"] = websafe_encode(self.user_handle)
        return {
            "id": encoded_id,
            "rawId": encoded_id,
            "type": "public-key",
            "response": response,
            "clientExtensionResults": {},
        }
