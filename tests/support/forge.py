"""A forged WebAuthn authenticator: exact control over every byte it answers with.

The project's software CTAP2 device goes through a real Fido2Client; this one
writes the W3C JSON by hand (authenticator data, client data, "none"
attestation CBOR) with a P-256, Ed25519 or RSA key, so tests and benchmarks can pick the
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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from fido2 import cbor
from fido2.utils import websafe_decode, websafe_encode

UP, UV, AT = 0x01, 0x04, 0x40


PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey


def cose_public_key(private_key: PrivateKey) -> dict[int, Any]:
    """The COSE map of a key: ES256 (P-256), EdDSA (Ed25519) or RS256."""
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        numbers = private_key.public_key().public_numbers()
        return {
            1: 2,
            3: -7,
            -1: 1,
            -2: numbers.x.to_bytes(32, "big"),
            -3: numbers.y.to_bytes(32, "big"),
        }
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        raw = private_key.public_key().public_bytes_raw()
        return {1: 1, 3: -8, -1: 6, -2: raw}
    rsa_numbers = private_key.public_key().public_numbers()
    n = rsa_numbers.n.to_bytes((rsa_numbers.n.bit_length() + 7) // 8, "big")
    e = rsa_numbers.e.to_bytes((rsa_numbers.e.bit_length() + 7) // 8, "big")
    return {1: 3, 3: -257, -1: n, -2: e}


def _sign(private_key: PrivateKey, message: bytes) -> bytes:
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        return private_key.sign(message, ec.ECDSA(hashes.SHA256()))
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return private_key.sign(message)
    return private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())


def _client_data(
    kind: str, challenge: str, origin: str, extra: dict[str, Any] | None = None
) -> bytes:
    document = {"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}
    document.update(extra or {})
    return json.dumps(document, separators=(",", ":")).encode()


@dataclass
class ForgedKey:
    """One credential: its id, private key and sign counter.

    ``cose_key`` replaces the COSE key it registers (a hostile key: another algorithm,
    bad material); ``client_data`` adds or overrides client data members (``crossOrigin``).
    """

    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    private_key: PrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    counter: int = 0
    user_handle: bytes | None = None
    cose_key: dict[Any, Any] | None = None
    client_data: dict[str, Any] | None = None
    raw_id: bytes | None = None  # what rawId/id say, when not the credential id

    def register(self, public_key: dict[str, Any], origin: str) -> dict[str, Any]:
        """A RegistrationResponseJSON ("none" attestation) for creation options."""
        self.user_handle = websafe_decode(public_key["user"]["id"])
        credential_data = (
            b"\0" * 16
            + struct.pack(">H", len(self.credential_id))
            + self.credential_id
            + cbor.encode(self.cose_key or cose_public_key(self.private_key))
        )
        auth_data = (
            hashlib.sha256(public_key["rp"]["id"].encode()).digest()
            + bytes([UP | AT])
            + struct.pack(">I", self.counter)
            + credential_data
        )
        attestation = cbor.encode({"fmt": "none", "attStmt": {}, "authData": auth_data})
        encoded_id = websafe_encode(self.credential_id if self.raw_id is None else self.raw_id)
        return {
            "id": encoded_id,
            "rawId": encoded_id,
            "type": "public-key",
            "response": {
                "clientDataJSON": websafe_encode(
                    _client_data(
                        "webauthn.create", public_key["challenge"], origin, self.client_data
                    )
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
        client_data = _client_data(
            "webauthn.get", public_key["challenge"], origin, self.client_data
        )
        signature = _sign(self.private_key, auth_data + hashlib.sha256(client_data).digest())
        encoded_id = websafe_encode(self.credential_id if self.raw_id is None else self.raw_id)
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


def _ec_coordinates(curve: ec.EllipticCurve) -> tuple[bytes, bytes]:
    numbers = ec.generate_private_key(curve).public_key().public_numbers()
    size = (curve.key_size + 7) // 8
    return numbers.x.to_bytes(size, "big"), numbers.y.to_bytes(size, "big")


def _rsa(bits: int) -> tuple[bytes, bytes]:
    numbers = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    n = numbers.public_numbers().n
    return n.to_bytes((n.bit_length() + 7) // 8, "big"), b"\x01\x00\x01"


def hostile_keys() -> dict[str, Callable[[], ForgedKey]]:
    """Keys tapgate must refuse at registration, each one thing off a key it accepts.

    Built on demand (RSA generation costs milliseconds). What each is:
    another algorithm (RS1, ES256K, a symmetric COSE alg, an unknown one, ESP256 and
    Ed25519 by their fully-specified ids, which tapgate does not offer), an offered
    algorithm with the wrong key type (RS256 label on an EC key, ES256 label on an RSA
    key), or bad material (integer or short coordinates, a point off the curve, another
    curve, a short Ed25519 key, RSA under 2048 bits or with an even exponent).
    """
    x, y = _ec_coordinates(ec.SECP256R1())

    def es256(change: dict[int, Any]) -> dict[int, Any]:
        return {1: 2, 3: -7, -1: 1, -2: x, -3: y, **change}

    def rsa_key(alg: int, bits: int = 2048, e: bytes | None = None) -> dict[int, Any]:
        n, default_e = _rsa(bits)
        return {1: 3, 3: alg, -1: n, -2: e or default_e}

    k1x, k1y = _ec_coordinates(ec.SECP256K1())
    p384x, p384y = _ec_coordinates(ec.SECP384R1())
    makers: dict[str, Callable[[], dict[int, Any]]] = {
        "rs1": lambda: rsa_key(-65535),
        "es256k": lambda: {1: 2, 3: -47, -1: 8, -2: k1x, -3: k1y},
        "alg-1": lambda: {1: 4, 3: 1, -1: os.urandom(16)},
        "alg-999": lambda: es256({3: -999}),
        "esp256": lambda: es256({3: -9}),
        "ed25519-alg-19": lambda: {1: 1, 3: -19, -1: 6, -2: os.urandom(32)},
        "alg-as-text": lambda: es256({3: "-7"}),
        # CBOR integers where byte strings belong (fido2's encoder stops at 64 bits)
        "int-coordinates": lambda: es256(
            {-2: int.from_bytes(x[:7], "big"), -3: int.from_bytes(y[:7], "big")}
        ),
        "rs256-label-on-ec": lambda: es256({3: -257}),
        "es256-label-on-rsa": lambda: rsa_key(-7),
        "off-curve": lambda: es256({-2: b"\0" * 31 + b"\1", -3: b"\0" * 31 + b"\1"}),
        "short-x": lambda: es256({-2: x[1:]}),
        "p384-curve": lambda: es256({-1: 2, -2: p384x, -3: p384y}),
        "ed25519-short": lambda: {1: 1, 3: -8, -1: 6, -2: os.urandom(31)},
        "eddsa-on-x25519": lambda: {1: 1, 3: -8, -1: 4, -2: os.urandom(32)},
        "rsa-1024": lambda: rsa_key(-257, bits=1024),
        "rsa-even-e": lambda: rsa_key(-257, e=b"\x01\x00\x00"),
    }
    return {name: (lambda m=make: ForgedKey(cose_key=m())) for name, make in makers.items()}
