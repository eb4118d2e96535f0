"""python-fido2's verifiers on recorded attestations from real authenticators (their own
test vectors, tests/fixtures/README.md), up to the vendors' real roots, through the same
decision as a registration: certified when the metadata lists the vendor's root for the
model, device-bound when one byte of the statement changes or the root is another."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fido2.attestation import Attestation, verify_x509_chain
from fido2.webauthn import Aaguid, AttestationObject

from tapgate_broker.core.assurance import AssuranceLevel, assess_registration
from tests.assurance.conftest import Index
from tests.assurance.pki import Pki, metadata_entry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
WINDOWS_HELLO = Aaguid.parse("08987058-cadc-4b81-b6e1-30de50dcbe96")
YUBICO_PREVIEW = Aaguid.parse("f8a011f3-8c0a-4d15-8006-17111f9edc7d")


def _recorded(fmt: str) -> tuple[AttestationObject, bytes]:
    document = json.loads((FIXTURES / "attestations" / f"{fmt}.json").read_text())
    assert document["fmt"] == fmt and document["source"].startswith("Yubico/python-fido2")
    attestation = AttestationObject(base64.b64decode(document["attestationObject"]))
    return attestation, bytes.fromhex(document["clientDataHash"])


def _root(name: str) -> bytes:
    pem = (FIXTURES / "roots" / f"{name}.pem").read_bytes()
    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)


def _key_identifier(der: bytes) -> bytes:
    public_key = x509.load_der_x509_certificate(der).public_key()
    return x509.SubjectKeyIdentifier.from_public_key(public_key).digest


def _x5c(fmt: str) -> list[bytes]:
    return list(_recorded(fmt)[0].att_stmt["x5c"])


# fmt -> (root file, how the metadata finds the model: its AAGUID, or the x5c certificate
# whose key identifier it lists, for authenticators without AAGUID)
CASES: dict[str, tuple[str, Any]] = {
    "fido-u2f": ("yubico-u2f-root-ca-serial-457200631", 0),  # the attestation certificate
    "apple": ("apple-webauthn-root-ca", 1),  # "Apple WebAuthn CA 1"
    "tpm": ("microsoft-tpm-root-certificate-authority-2014", WINDOWS_HELLO),
}


def _entry(fmt: str, roots: list[bytes]) -> dict[str, Any]:
    _, lookup = CASES[fmt]
    if isinstance(lookup, Aaguid):
        return metadata_entry(aaguid=lookup, roots=roots, description=f"recorded {fmt}")
    identifier = _key_identifier(_x5c(fmt)[lookup])
    return metadata_entry(
        aaguid=None, roots=roots, description=f"recorded {fmt}", key_identifiers=[identifier]
    )


@pytest.mark.parametrize("fmt", sorted(CASES))
def test_the_recorded_chain_verifies_up_to_the_vendors_real_root(fmt):
    attestation, client_data_hash = _recorded(fmt)
    root, _ = CASES[fmt]

    result = Attestation.for_type(fmt)().verify(
        attestation.att_stmt, attestation.auth_data, client_data_hash
    )

    verify_x509_chain([*result.trust_path, _root(root)])  # raises if it does not


@pytest.mark.parametrize("fmt", sorted(CASES))
def test_a_recorded_attestation_of_a_listed_model_is_certified(fmt, index: Index):
    attestation, client_data_hash = _recorded(fmt)
    root, lookup = CASES[fmt]

    result = assess_registration(
        attestation_object=attestation,
        client_data_hash=client_data_hash,
        metadata=index([_entry(fmt, [_root(root)])]),
    )

    assert (result.level, result.authenticator) == (AssuranceLevel.CERTIFIED, f"recorded {fmt}")
    if isinstance(lookup, Aaguid):
        assert (result.aaguid, result.key_identifier) == (lookup, None)
    else:  # no AAGUID: the model is the one listed for this attestation certificate
        assert (result.aaguid, result.key_identifier) == (None, _key_identifier(_x5c(fmt)[lookup]))


@pytest.mark.parametrize("fmt", ["fido-u2f", "tpm"])  # apple signs nothing itself: a nonce
def test_one_changed_signature_byte_makes_a_recorded_attestation_device_bound(fmt, index: Index):
    attestation, client_data_hash = _recorded(fmt)
    root, _ = CASES[fmt]
    signature = bytearray(attestation.att_stmt["sig"])
    signature[len(signature) // 2] ^= 0x01
    tampered = AttestationObject.create(
        fmt, attestation.auth_data, {**attestation.att_stmt, "sig": bytes(signature)}
    )

    result = assess_registration(
        attestation_object=tampered,
        client_data_hash=client_data_hash,
        metadata=index([_entry(fmt, [_root(root)])]),
    )

    assert result.level is AssuranceLevel.DEVICE_BOUND
    assert result.reason.startswith("attestation statement does not verify")


@pytest.mark.parametrize("fmt", sorted(CASES))
def test_one_changed_byte_of_the_client_data_makes_a_recorded_attestation_device_bound(
    fmt, index: Index
):
    attestation, client_data_hash = _recorded(fmt)
    root, _ = CASES[fmt]
    changed = bytes([client_data_hash[0] ^ 0x01]) + client_data_hash[1:]

    result = assess_registration(
        attestation_object=attestation,
        client_data_hash=changed,
        metadata=index([_entry(fmt, [_root(root)])]),
    )

    assert result.level is AssuranceLevel.DEVICE_BOUND
    assert result.reason.startswith("attestation statement does not verify")


@pytest.mark.parametrize("fmt", sorted(CASES))
def test_a_recorded_attestation_under_another_root_is_device_bound(fmt, index: Index, pki: Pki):
    attestation, client_data_hash = _recorded(fmt)

    result = assess_registration(
        attestation_object=attestation,
        client_data_hash=client_data_hash,
        metadata=index([_entry(fmt, [pki.attestation_root.der])]),
    )

    assert result.level is AssuranceLevel.DEVICE_BOUND


def test_a_recorded_packed_attestation_from_an_unpublished_root_is_device_bound(index: Index):
    """The YubiKey preview's attestation CA is not Yubico's published root, which the real
    metadata lists for this AAGUID: its chain does not reach it."""
    attestation, client_data_hash = _recorded("packed")
    entry = metadata_entry(
        aaguid=YUBICO_PREVIEW,
        roots=[_root("yubico-u2f-root-ca-serial-457200631")],
        description="Security Key by Yubico",
    )

    result = assess_registration(
        attestation_object=attestation, client_data_hash=client_data_hash, metadata=index([entry])
    )

    assert result.level is AssuranceLevel.DEVICE_BOUND
    assert "no root" in result.reason
