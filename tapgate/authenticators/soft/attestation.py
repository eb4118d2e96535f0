"""The soft key's "packed" attestation statement: self attestation or a full x5c chain.

Self attestation (no `AttestationIdentity`) signs with the credential's own key, as the
soft key always did: a relying party learns nothing about the model. Full (basic)
attestation signs with a batch attestation key whose certificate chain (leaf first) goes
in `x5c`, like a vendor's security key; the leaf's FIDO AAGUID extension
(1.3.6.1.4.1.45724.1.1.4), when present, must name the key's AAGUID.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.webauthn import Aaguid

from tapgate.authenticators.soft import algorithms
from tapgate.authenticators.soft.errors import SoftKeyError

FIDO_AAGUID_OID: Final = x509.ObjectIdentifier("1.3.6.1.4.1.45724.1.1.4")


@dataclass(frozen=True)
class AttestationIdentity:
    """A batch attestation key (P-256, PKCS#8 DER) and its certificates (DER, leaf first)."""

    private_key: bytes
    certificates: tuple[bytes, ...]

    @classmethod
    def of(
        cls,
        private_key: ec.EllipticCurvePrivateKey,
        certificates: Sequence[x509.Certificate],
    ) -> AttestationIdentity:
        """From `cryptography` objects, as a test PKI makes them."""
        return cls(
            private_key=private_key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            certificates=tuple(c.public_bytes(serialization.Encoding.DER) for c in certificates),
        )

    def certified_aaguid(self) -> Aaguid | None:
        """Check the identity is usable; the AAGUID its leaf certifies, if it names one."""
        if not self.certificates:
            raise SoftKeyError("an attestation identity needs at least its leaf certificate")
        try:
            key = serialization.load_der_private_key(self.private_key, password=None)
            leaf = x509.load_der_x509_certificate(self.certificates[0])
            for der in self.certificates[1:]:
                x509.load_der_x509_certificate(der)
        except ValueError as exc:
            raise SoftKeyError(f"an attestation key or certificate is unreadable: {exc}") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(
            key.curve, ec.SECP256R1
        ):
            raise SoftKeyError("the attestation key must be a P-256 (ES256) key")
        if leaf.public_key() != key.public_key():
            raise SoftKeyError("the attestation certificate is not for the attestation key")
        try:
            extension = leaf.extensions.get_extension_for_oid(FIDO_AAGUID_OID)
        except x509.ExtensionNotFound:
            return None
        value = extension.value
        assert isinstance(value, x509.UnrecognizedExtension)  # noqa: S101 (unknown OID)
        # DER OCTET STRING of 16 bytes: tag 0x04, length 0x10, the AAGUID.
        if len(value.value) != 18 or value.value[:2] != b"\x04\x10":
            raise SoftKeyError("the attestation certificate's AAGUID extension is malformed")
        return Aaguid(value.value[2:])


def packed_statement(
    *,
    signed: bytes,
    credential_algorithm: int,
    credential_key: bytes,
    identity: AttestationIdentity | None,
) -> dict[str, Any]:
    """attStmt of format "packed" over `signed` (authenticator data + client data hash)."""
    if identity is None:
        return {
            "alg": credential_algorithm,
            "sig": algorithms.sign(credential_algorithm, credential_key, signed),
        }
    return {
        "alg": ES256.ALGORITHM,
        "sig": algorithms.sign(ES256.ALGORITHM, identity.private_key, signed),
        "x5c": list(identity.certificates),
    }
