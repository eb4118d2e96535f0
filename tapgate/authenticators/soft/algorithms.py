"""Credential key algorithms of the soft key: ES256 (-7), EdDSA (-8) and RS256 (-257).

The three COSE algorithms the broker offers. Private keys are kept as PKCS#8 DER in the key
file; signatures are made the way each algorithm's WebAuthn verifier in python-fido2
(`fido2.cose`) checks them.
"""

from __future__ import annotations

from typing import Final

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from fido2.cose import ES256, RS256, CoseKey, EdDSA

from tapgate.authenticators.soft.errors import SoftKeyError, SoftKeyFileError

SUPPORTED_ALGORITHMS: Final = (ES256.ALGORITHM, EdDSA.ALGORITHM, RS256.ALGORITHM)
_NAMES: Final = {ES256.ALGORITHM: "ES256", EdDSA.ALGORITHM: "EdDSA", RS256.ALGORITHM: "RS256"}
_RSA_BITS: Final = 2048

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey


def check_algorithms(algorithms: tuple[int, ...]) -> tuple[int, ...]:
    """The key's algorithms in its order of preference; refuses an empty or unknown list."""
    unknown = [a for a in algorithms if a not in SUPPORTED_ALGORITHMS]
    if not algorithms or unknown or len(set(algorithms)) != len(algorithms):
        raise SoftKeyError(
            f"a soft key supports some of {list(SUPPORTED_ALGORITHMS)} (ES256, EdDSA, RS256), "
            f"each once; got {list(algorithms)}"
        )
    return algorithms


def generate(algorithm: int) -> tuple[bytes, CoseKey]:
    """A new credential key: (PKCS#8 DER private key, COSE public key)."""
    key: PrivateKey
    if algorithm == ES256.ALGORITHM:
        key = ec.generate_private_key(ec.SECP256R1())
        public: CoseKey = ES256.from_cryptography_key(key.public_key())
    elif algorithm == EdDSA.ALGORITHM:
        key = ed25519.Ed25519PrivateKey.generate()
        public = EdDSA.from_cryptography_key(key.public_key())
    elif algorithm == RS256.ALGORITHM:
        key = rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS)
        public = RS256.from_cryptography_key(key.public_key())
    else:
        raise SoftKeyError(f"unsupported algorithm {algorithm}")
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return der, public


def sign(algorithm: int, private_key: bytes, message: bytes) -> bytes:
    """Sign with a PKCS#8 DER key that must be of the algorithm's kind."""
    key = serialization.load_der_private_key(private_key, password=None)
    if algorithm == ES256.ALGORITHM and isinstance(key, ec.EllipticCurvePrivateKey):
        if isinstance(key.curve, ec.SECP256R1):
            return key.sign(message, ec.ECDSA(hashes.SHA256()))
    elif algorithm == EdDSA.ALGORITHM and isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(message)
    elif algorithm == RS256.ALGORITHM and isinstance(key, rsa.RSAPrivateKey):
        return key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    raise SoftKeyFileError(
        f"a private key in the key file is not a {_NAMES.get(algorithm, algorithm)} key"
    )
