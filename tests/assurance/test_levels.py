"""The level of a registered key, decided from its attestation and the metadata: each case
a software key made to look like one kind of authenticator, registered through python-fido2,
and one thing changed from the certified case."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from fido2.webauthn import Aaguid, AttestationObject

from tapgate.authenticators.soft import SoftAuthenticator
from tapgate_broker.core.assurance import (
    Assurance,
    AssuranceLevel,
    assess_registration,
    reassess,
)
from tests.assurance.conftest import Register
from tests.assurance.pki import Pki, attestation_identity, metadata_entry

MODEL = Aaguid.parse("6d44ba9b-f6ec-4e36-9d01-0d0b0b7d5e6a")
UNLISTED = Aaguid.parse("0b5e7a31-8c52-4a18-9d5e-3f0c1a2b3c4d")
NAME = "tapgate test key"
COMPROMISES = (
    "REVOKED",
    "ATTESTATION_KEY_COMPROMISE",
    "USER_VERIFICATION_BYPASS",
    "USER_KEY_REMOTE_COMPROMISE",
    "USER_KEY_PHYSICAL_COMPROMISE",
)
CERTIFIED, DEVICE_BOUND, SYNCED = (
    AssuranceLevel.CERTIFIED,
    AssuranceLevel.DEVICE_BOUND,
    AssuranceLevel.SYNCED,
)


def _entry(pki: Pki, *statuses: str) -> dict:
    return metadata_entry(
        aaguid=MODEL,
        roots=[pki.attestation_root],
        description=NAME,
        statuses=statuses or ("FIDO_CERTIFIED_L1",),
    )


def _key(tmp_path: Path, pki: Pki, **options) -> Path:
    """A key that attests as MODEL under the listed root, unless `options` say otherwise."""
    path = tmp_path / "key.json"
    options.setdefault("attestation", attestation_identity(pki.attestation_root, aaguid=MODEL))
    SoftAuthenticator.create(path, **options)
    return path


def _assess(register: Register, key: Path, index, entries) -> Assurance:
    attestation, client_data_hash = register(key)
    return assess_registration(
        attestation_object=attestation,
        client_data_hash=client_data_hash,
        metadata=index(entries) if entries is not None else None,
    )


def test_an_attested_key_of_a_listed_model_is_certified(tmp_path, pki, index, register):
    result = _assess(register, _key(tmp_path, pki), index, [_entry(pki)])

    assert result == Assurance(
        level=CERTIFIED,
        reason="attested",
        aaguid=MODEL,
        authenticator=NAME,
        status="FIDO_CERTIFIED_L1",
    )
    assert result.attested


def test_self_attestation_claiming_a_listed_aaguid_is_device_bound(tmp_path, pki, index, register):
    key = _key(tmp_path, pki, attestation=None, aaguid=MODEL)

    result = _assess(register, key, index, [_entry(pki)])

    assert result == Assurance(level=DEVICE_BOUND, reason="self attestation")


def test_an_aaguid_the_metadata_does_not_list_is_device_bound(tmp_path, pki, index, register):
    identity = attestation_identity(pki.attestation_root, aaguid=UNLISTED)

    result = _assess(register, _key(tmp_path, pki, attestation=identity), index, [_entry(pki)])

    assert (result.level, result.aaguid, result.authenticator) == (DEVICE_BOUND, None, None)
    assert "no root" in result.reason


def test_a_chain_to_another_root_is_device_bound(tmp_path, pki, index, register):
    identity = attestation_identity(pki.other_root, aaguid=MODEL)

    result = _assess(register, _key(tmp_path, pki, attestation=identity), index, [_entry(pki)])

    assert (result.level, result.aaguid, result.authenticator) == (DEVICE_BOUND, None, None)


@pytest.mark.parametrize("status", COMPROMISES)
def test_a_compromised_model_is_device_bound_and_named(tmp_path, pki, index, register, status):
    entries = [_entry(pki, "FIDO_CERTIFIED_L1", status)]

    result = _assess(register, _key(tmp_path, pki), index, entries)

    assert (result.level, result.aaguid, result.authenticator) == (DEVICE_BOUND, MODEL, NAME)
    assert result.reason == f"model status {status} since 2024-01-02"


def test_a_later_status_does_not_clear_a_compromise(tmp_path, pki, index, register):
    entries = [_entry(pki, "FIDO_CERTIFIED_L1", "USER_VERIFICATION_BYPASS", "UPDATE_AVAILABLE")]

    result = _assess(register, _key(tmp_path, pki), index, entries)

    assert (result.level, result.status) == (DEVICE_BOUND, "UPDATE_AVAILABLE")


def test_statuses_that_are_no_compromise_keep_certified(tmp_path, pki, index, register):
    entries = [_entry(pki, "NOT_FIDO_CERTIFIED", "UPDATE_AVAILABLE")]

    result = _assess(register, _key(tmp_path, pki), index, entries)

    assert (result.level, result.status) == (CERTIFIED, "UPDATE_AVAILABLE")


def test_a_backup_eligible_attested_key_is_synced_and_named(tmp_path, pki, index, register):
    result = _assess(register, _key(tmp_path, pki, backup_eligible=True), index, [_entry(pki)])

    assert (result.level, result.aaguid, result.authenticator) == (SYNCED, MODEL, NAME)


def test_a_backup_eligible_self_attested_key_is_synced(tmp_path, pki, index, register):
    key = _key(tmp_path, pki, attestation=None, backup_eligible=True)

    result = _assess(register, key, index, [_entry(pki)])

    assert result == Assurance(level=SYNCED, reason="backup eligible")


def test_without_metadata_an_attested_key_is_device_bound(tmp_path, pki, index, register):
    result = _assess(register, _key(tmp_path, pki), index, None)

    assert result == Assurance(level=DEVICE_BOUND, reason="no verified metadata")


def _with_statement(attestation: AttestationObject, fmt: str, statement: dict) -> AttestationObject:
    return AttestationObject.create(fmt, attestation.auth_data, statement)


def test_an_attestation_signature_that_does_not_verify_is_device_bound(
    tmp_path, pki, index, register
):
    attestation, client_data_hash = register(_key(tmp_path, pki))
    signature = bytearray(attestation.att_stmt["sig"])
    signature[-1] ^= 1
    tampered = _with_statement(
        attestation, "packed", {**attestation.att_stmt, "sig": bytes(signature)}
    )

    result = assess_registration(
        attestation_object=tampered,
        client_data_hash=client_data_hash,
        metadata=index([_entry(pki)]),
    )

    assert result.level is DEVICE_BOUND
    assert result.reason.startswith("attestation statement does not verify")


def test_an_attestation_over_other_client_data_is_device_bound(tmp_path, pki, index, register):
    attestation, _ = register(_key(tmp_path, pki))

    result = assess_registration(
        attestation_object=attestation,
        client_data_hash=bytes(32),
        metadata=index([_entry(pki)]),
    )

    assert result.level is DEVICE_BOUND


@pytest.mark.parametrize(
    "case",
    [
        ("none", {}, "no attestation"),
        ("android-key", {"alg": -7, "sig": b"", "x5c": []}, "'android-key' is not verified"),
        ("packed", {"alg": -7, "sig": b"", "x5c": "not a list"}, "does not verify"),
        ("tpm", {"ver": "2.0"}, "attestation without x5c"),
    ],
)
def test_other_statements_are_device_bound(tmp_path, pki, index, register, case):
    fmt, statement, reason = case
    attestation, client_data_hash = register(_key(tmp_path, pki))

    result = assess_registration(
        attestation_object=_with_statement(attestation, fmt, statement),
        client_data_hash=client_data_hash,
        metadata=index([_entry(pki)]),
    )

    assert result.level is DEVICE_BOUND
    assert reason in result.reason


# -- re-evaluation against newer metadata -----------------------------------------------------


@pytest.fixture
def certified(tmp_path, pki, index, register) -> Assurance:
    result = _assess(register, _key(tmp_path, pki), index, [_entry(pki)])
    assert result.level is CERTIFIED
    return result


@pytest.mark.parametrize("status", COMPROMISES)
def test_a_model_compromised_later_loses_certified(certified, pki, index, status):
    newer = index([_entry(pki, "FIDO_CERTIFIED_L1", status)], no=8)

    result = reassess(certified, metadata=newer)

    assert (result.level, result.aaguid, result.authenticator) == (DEVICE_BOUND, MODEL, NAME)
    assert status in result.reason
    assert result.status == status


def test_a_model_newer_metadata_no_longer_lists_loses_certified(certified, pki, index):
    other = metadata_entry(aaguid=UNLISTED, roots=[pki.attestation_root], description="other")

    result = reassess(certified, metadata=index([other], no=8))

    assert result.level is DEVICE_BOUND
    assert result.reason == "the model is not in metadata no 8"


def test_a_model_still_in_good_standing_stays_certified_with_its_new_status(certified, pki, index):
    result = reassess(certified, metadata=index([_entry(pki, "FIDO_CERTIFIED_L2")], no=8))

    assert result == replace(certified, status="FIDO_CERTIFIED_L2")


def test_without_newer_metadata_the_stored_level_stands(certified):
    assert reassess(certified, metadata=None) == certified


def test_a_key_that_was_not_certified_never_becomes_certified(pki, index):
    stored = Assurance(level=DEVICE_BOUND, reason="self attestation")

    assert reassess(stored, metadata=index([_entry(pki)], no=8)) == stored


def test_levels_are_ordered():
    assert CERTIFIED.satisfies(DEVICE_BOUND) and CERTIFIED.satisfies(SYNCED)
    assert DEVICE_BOUND.satisfies(SYNCED) and not DEVICE_BOUND.satisfies(CERTIFIED)
    assert not SYNCED.satisfies(DEVICE_BOUND)
    assert all(level.satisfies(level) for level in AssuranceLevel)
