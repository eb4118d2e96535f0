"""The software authenticator's profiles: credential algorithms, full packed attestation
with a chosen AAGUID, backup eligibility, and old key files that predate them.

Each ceremony goes through python-fido2's Fido2Client and is verified by its Fido2Server
and attestation verifiers, as the broker verifies a real key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fido2.attestation import AttestationType, PackedAttestation, verify_x509_chain
from fido2.client import ClientError
from fido2.cose import ES256, RS256, EdDSA
from fido2.ctap import CtapError
from fido2.ctap2 import Ctap2
from fido2.server import Fido2Server
from fido2.webauthn import (
    Aaguid,
    AttestationObject,
    AuthenticatorData,
    PublicKeyCredentialParameters,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialType,
    PublicKeyCredentialUserEntity,
)

from tapgate.authenticators.soft import (
    AAGUID,
    AttestationIdentity,
    SoftAuthenticator,
    SoftKeyError,
    SoftKeyFileError,
    soft_client,
)
from tests.assurance.pki import Pki, attestation_identity, issue

ORIGIN = "http://localhost:8080"
ALICE = PublicKeyCredentialUserEntity(id=b"alice-handle", name="alice", display_name="Alice")
MODEL = Aaguid.parse("6d44ba9b-f6ec-4e36-9d01-0d0b0b7d5e6a")
BROKER_ORDER = (ES256.ALGORITHM, EdDSA.ALGORITHM, RS256.ALGORITHM)  # what the broker offers
BACKUP = AuthenticatorData.FLAG.BE | AuthenticatorData.FLAG.BS


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki.make()


def _server(algorithms: tuple[int, ...] = BROKER_ORDER) -> Fido2Server:
    server = Fido2Server(
        PublicKeyCredentialRpEntity(id="localhost", name="tapgate tests"), attestation="direct"
    )
    server.allowed_algorithms = [
        PublicKeyCredentialParameters(type=PublicKeyCredentialType.PUBLIC_KEY, alg=alg)
        for alg in algorithms
    ]
    return server


def _json(value: Any) -> Any:
    return json.loads(json.dumps(dict(value)))


def _register(server: Fido2Server, key: Path) -> tuple[AttestationObject, bytes]:
    """One registration; the attestation object and the client data hash it signed."""
    options, state = server.register_begin(ALICE, user_verification="discouraged")
    response = soft_client(key, ORIGIN).make_credential(_json(options)["publicKey"])
    server.register_complete(state, _json(response))
    return response.response.attestation_object, response.response.client_data.hash


def _authenticate(server: Fido2Server, key: Path, attestation: AttestationObject) -> Any:
    credential = attestation.auth_data.credential_data
    assert credential is not None
    options, state = server.authenticate_begin([credential], user_verification="discouraged")
    response = soft_client(key, ORIGIN).get_assertion(_json(options)["publicKey"]).get_response(0)
    server.authenticate_complete(state, [credential], _json(response))
    return response.response.authenticator_data


# -- algorithms ------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", [EdDSA.ALGORITHM, RS256.ALGORITHM])
def test_eddsa_and_rs256_credentials_register_self_attest_and_sign_in(tmp_path, algorithm):
    key = tmp_path / "key.json"
    SoftAuthenticator.create(key, algorithms=(algorithm,))
    server = _server()

    attestation, client_data_hash = _register(server, key)
    signed_in = _authenticate(server, key, attestation)

    assert attestation.auth_data.credential_data is not None
    assert algorithm == attestation.auth_data.credential_data.public_key.ALGORITHM
    result = PackedAttestation().verify(
        attestation.att_stmt, attestation.auth_data, client_data_hash
    )
    assert result.attestation_type == AttestationType.SELF
    assert attestation.att_stmt["alg"] == algorithm
    assert signed_in.counter == 1


def test_the_rps_order_of_preference_picks_among_the_keys_algorithms(tmp_path):
    key = tmp_path / "key.json"
    SoftAuthenticator.create(key, algorithms=(RS256.ALGORITHM, EdDSA.ALGORITHM))

    attestation, _ = _register(_server(BROKER_ORDER), key)

    assert attestation.auth_data.credential_data is not None
    assert attestation.auth_data.credential_data.public_key.ALGORITHM == EdDSA.ALGORITHM


def test_an_rp_offering_none_of_the_keys_algorithms_gets_unsupported_algorithm(tmp_path):
    key = tmp_path / "key.json"
    SoftAuthenticator.create(key, algorithms=(EdDSA.ALGORITHM,))
    options, _ = _server((ES256.ALGORITHM, RS256.ALGORITHM)).register_begin(ALICE)

    with pytest.raises(ClientError) as caught:
        soft_client(key, ORIGIN).make_credential(_json(options)["publicKey"])

    assert isinstance(caught.value.cause, CtapError)
    assert caught.value.cause.code == CtapError.ERR.UNSUPPORTED_ALGORITHM


def test_get_info_lists_the_keys_algorithms_in_its_order(tmp_path):
    key = tmp_path / "key.json"
    SoftAuthenticator.create(key, algorithms=(RS256.ALGORITHM, ES256.ALGORITHM))

    info = Ctap2(SoftAuthenticator.load(key)).info

    assert [a["alg"] for a in info.algorithms or []] == [RS256.ALGORITHM, ES256.ALGORITHM]


@pytest.mark.parametrize("algorithms", [(), (-7, -7), (-35,)])
def test_an_empty_repeated_or_unknown_algorithm_list_is_refused(tmp_path, algorithms):
    with pytest.raises(SoftKeyError, match="supports some of"):
        SoftAuthenticator.create(tmp_path / "key.json", algorithms=algorithms)
    assert not (tmp_path / "key.json").exists()


# -- attestation -----------------------------------------------------------------------------


def test_full_attestation_sends_the_chain_and_the_certified_aaguid(tmp_path, pki):
    intermediate = issue(pki.attestation_root, "tapgate test attestation CA", ca=True)
    identity = attestation_identity(intermediate, aaguid=MODEL, chain=[intermediate])
    key = tmp_path / "key.json"
    SoftAuthenticator.create(key, attestation=identity)

    attestation, client_data_hash = _register(_server(), key)

    assert attestation.auth_data.credential_data is not None
    assert attestation.auth_data.credential_data.aaguid == MODEL
    result = PackedAttestation().verify(
        attestation.att_stmt, attestation.auth_data, client_data_hash
    )
    assert result.attestation_type == AttestationType.BASIC
    assert result.trust_path == [*identity.certificates]
    verify_x509_chain([*result.trust_path, pki.attestation_root.der])  # raises if broken


def test_an_attesting_key_still_signs_in_with_its_credential_key(tmp_path, pki):
    key = tmp_path / "key.json"
    SoftAuthenticator.create(
        key, attestation=attestation_identity(pki.attestation_root, aaguid=MODEL)
    )
    server = _server()
    attestation, _ = _register(server, key)

    assert _authenticate(server, key, attestation).counter == 1


def test_get_info_reports_the_chosen_aaguid(tmp_path, pki):
    key = tmp_path / "key.json"
    SoftAuthenticator.create(key, aaguid=MODEL)  # self attestation claiming a model

    assert Ctap2(SoftAuthenticator.load(key)).info.aaguid == MODEL


def test_an_aaguid_other_than_the_certificates_is_refused(tmp_path, pki):
    identity = attestation_identity(pki.attestation_root, aaguid=MODEL)

    with pytest.raises(SoftKeyError, match="names AAGUID"):
        SoftAuthenticator.create(tmp_path / "key.json", aaguid=AAGUID, attestation=identity)


def test_an_attestation_key_that_is_not_the_certificates_is_refused(tmp_path, pki):
    identity = attestation_identity(pki.attestation_root, aaguid=MODEL)
    other = attestation_identity(pki.attestation_root, aaguid=MODEL)
    mixed = AttestationIdentity(private_key=other.private_key, certificates=identity.certificates)

    with pytest.raises(SoftKeyError, match="not for the attestation key"):
        SoftAuthenticator.create(tmp_path / "key.json", attestation=mixed)


def test_the_attestation_survives_the_key_file(tmp_path, pki):
    identity = attestation_identity(pki.attestation_root, aaguid=MODEL)
    key = tmp_path / "key.json"
    SoftAuthenticator.create(key, attestation=identity, backup_eligible=True)

    profile = SoftAuthenticator.load(key).profile

    assert profile.attestation == identity
    assert profile.aaguid == MODEL
    assert profile.backup_eligible is True


# -- backup eligibility ------------------------------------------------------------------------


def test_a_backup_eligible_key_sets_be_and_bs_in_every_ceremony(tmp_path):
    key = tmp_path / "key.json"
    SoftAuthenticator.create(key, backup_eligible=True)
    server = _server()

    attestation, _ = _register(server, key)
    signed_in = _authenticate(server, key, attestation)

    assert attestation.auth_data.flags & BACKUP == BACKUP
    assert signed_in.flags & BACKUP == BACKUP


# -- the default is unchanged, and old key files still work ---------------------------------


def test_by_default_a_key_is_es256_self_attested_device_bound_with_the_soft_aaguid(tmp_path):
    key = tmp_path / "key.json"
    SoftAuthenticator.create(key)
    server = _server()

    attestation, _ = _register(server, key)
    signed_in = _authenticate(server, key, attestation)

    credential = attestation.auth_data.credential_data
    assert credential is not None
    assert (credential.aaguid, credential.public_key.ALGORITHM) == (AAGUID, ES256.ALGORITHM)
    assert "x5c" not in attestation.att_stmt
    assert not attestation.auth_data.flags & BACKUP
    assert not signed_in.flags & BACKUP
    info = Ctap2(SoftAuthenticator.load(key)).info
    assert [a["alg"] for a in info.algorithms or []] == [ES256.ALGORITHM]


def test_a_key_file_from_before_profiles_loads_with_todays_defaults(tmp_path):
    key = tmp_path / "key.json"
    SoftAuthenticator.create(key)
    server = _server()
    attestation, _ = _register(server, key)
    document = json.loads(key.read_text())
    for name in ("algorithms", "backupEligible", "attestation"):
        del document[name]
    for credential in document["credentials"]:
        del credential["alg"]
    key.write_text(json.dumps(document))

    signed_in = _authenticate(server, key, attestation)

    assert signed_in.counter == 1
    assert SoftAuthenticator.load(key).profile.algorithms == (ES256.ALGORITHM,)


@pytest.mark.parametrize(
    ("field", "value"),
    [("backupEligible", "yes"), ("algorithms", [-7, "x"]), ("aaguid", "not-a-uuid")],
)
def test_a_key_file_with_a_bad_profile_field_is_refused(tmp_path, field, value):
    key = tmp_path / "key.json"
    SoftAuthenticator.create(key)
    document = json.loads(key.read_text())
    document[field] = value
    key.write_text(json.dumps(document))

    with pytest.raises(SoftKeyFileError, match="tapgate soft key file"):
        SoftAuthenticator.load(key)
