"""A credential's public key: only an algorithm tapgate offered, with well-formed material.

fido2 stores whatever COSE key an authenticator (or an attacker) sends: any ``alg``
(RS1, ES256K, 1, -999), integer coordinates, an RS256 label on an EC key, a point that is
not on the curve. Such a key either fails at every later sign-in in ways fido2 does not
translate (a 500) or weakens the ceremony. So a key must use one of the algorithms the
registration options offered (``pubKeyCredParams``), with the key type that algorithm
implies, and material that ``cryptography`` accepts as that type:

- ES256 (-7): EC2 (kty 2) on P-256 (crv 1), x and y 32-byte strings, a point on the curve;
- EdDSA (-8): OKP (kty 1) Ed25519 (crv 6), x a 32-byte string;
- RS256 (-257): RSA (kty 3), n and e byte strings, n of 2048 to 8192 bits, e odd and >= 3.

The 8192-bit ceiling keeps a ceremony's snapshot of a user's keys small (docs/design.md).
The same check runs on a stored key before it verifies an assertion, so a key stored before
this check existed fails that ceremony with a 401 instead of an exception.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

ES256, EDDSA, RS256 = -7, -8, -257
KTY, ALG, CRV, X, Y = 1, 3, -1, -2, -3
RSA_N, RSA_E = -1, -2
KTY_OKP, KTY_EC2, KTY_RSA = 1, 2, 3
CRV_P256, CRV_ED25519 = 1, 6
RSA_MIN_BITS, RSA_MAX_BITS = 2048, 8192


class KeyMaterialError(ValueError):
    """The COSE key is not one tapgate accepts; the message says which rule it broke."""


def check_public_key(cose: Mapping[Any, Any], *, offered: Collection[int]) -> None:
    """Raise KeyMaterialError unless ``cose`` is a well-formed key of an offered algorithm."""
    alg = cose.get(ALG)
    if not _is_int(alg) or alg not in offered or alg not in _CHECKS:
        raise KeyMaterialError(f"COSE algorithm {alg!r} was not offered")
    _CHECKS[alg](cose)


def _check_ec_p256(cose: Mapping[Any, Any]) -> None:
    _expect(cose, KTY, KTY_EC2, "an ES256 key must be EC2 (kty 2)")
    _expect(cose, CRV, CRV_P256, "an ES256 key must be on P-256 (crv 1)")
    x, y = _bytes(cose, X, 32), _bytes(cose, Y, 32)
    try:
        ec.EllipticCurvePublicNumbers(
            int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
        ).public_key()
    except ValueError as exc:
        raise KeyMaterialError("the ES256 point is not on P-256") from exc


def _check_ed25519(cose: Mapping[Any, Any]) -> None:
    _expect(cose, KTY, KTY_OKP, "an EdDSA key must be OKP (kty 1)")
    _expect(cose, CRV, CRV_ED25519, "an EdDSA key must be Ed25519 (crv 6)")
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(_bytes(cose, X, 32))
    except ValueError as exc:
        raise KeyMaterialError("the Ed25519 key is not valid") from exc


def _check_rsa(cose: Mapping[Any, Any]) -> None:
    _expect(cose, KTY, KTY_RSA, "an RS256 key must be RSA (kty 3)")
    n = int.from_bytes(_bytes(cose, RSA_N), "big")
    e = int.from_bytes(_bytes(cose, RSA_E), "big")
    if not RSA_MIN_BITS <= n.bit_length() <= RSA_MAX_BITS:
        raise KeyMaterialError(
            f"an RS256 modulus must have {RSA_MIN_BITS}-{RSA_MAX_BITS} bits, not {n.bit_length()}"
        )
    try:
        rsa.RSAPublicNumbers(e, n).public_key()
    except ValueError as exc:
        raise KeyMaterialError(f"the RSA key is not valid: {exc}") from exc


_CHECKS = {ES256: _check_ec_p256, EDDSA: _check_ed25519, RS256: _check_rsa}


def _expect(cose: Mapping[Any, Any], label: int, value: int, message: str) -> None:
    found = cose.get(label)
    if not _is_int(found) or found != value:
        raise KeyMaterialError(message)


def _bytes(cose: Mapping[Any, Any], label: int, length: int | None = None) -> bytes:
    value = cose.get(label)
    if not isinstance(value, bytes) or not value:
        raise KeyMaterialError(f"COSE key label {label} must be a byte string")
    if length is not None and len(value) != length:
        raise KeyMaterialError(f"COSE key label {label} must be {length} bytes, not {len(value)}")
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
