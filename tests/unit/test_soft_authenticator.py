"""The software CTAP2 authenticator, driven by python-fido2's Fido2Client and verified by
its Fido2Server, with the WebAuthn JSON forms the HTTP API carries."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from fido2.attestation import AttestationType, PackedAttestation
from fido2.client import ClientError, Fido2Client, PinRequiredError
from fido2.ctap import CtapError
from fido2.ctap2 import Ctap2
from fido2.ctap2.pin import ClientPin, PinProtocolV1
from fido2.hid import CTAPHID
from fido2.server import Fido2Server
from fido2.webauthn import (
    AttestationObject,
    AttestedCredentialData,
    AuthenticationResponse,
    AuthenticatorData,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialUserEntity,
    ResidentKeyRequirement,
)

from tapgate.authenticators.soft import (
    AAGUID,
    ALLOW_SOFT_KEY_ENV,
    SoftAuthenticator,
    SoftKeyError,
    SoftKeyFileError,
    SoftKeyNotAllowedError,
    SoftKeyPermissionError,
    assert_soft_key_allowed,
    soft_client,
)

ORIGIN = "http://localhost:8080"
PIN = "4321"
ALICE = PublicKeyCredentialUserEntity(id=b"alice-handle", name="alice", display_name="Alice")
BOB = PublicKeyCredentialUserEntity(id=b"bob-handle", name="bob", display_name="Bob")


def _verify_self_attestation(attestation: AttestationObject, client_data_hash: bytes) -> None:
    assert attestation.fmt == "packed"
    result = PackedAttestation().verify(
        attestation.att_stmt, attestation.auth_data, client_data_hash
    )
    assert result.attestation_type == AttestationType.SELF


@pytest.fixture
def server() -> Fido2Server:
    return Fido2Server(
        PublicKeyCredentialRpEntity(id="localhost", name="tapgate tests"),
        attestation="direct",
        verify_attestation=_verify_self_attestation,
    )


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "key.json"
    SoftAuthenticator.create(path)
    return path


@pytest.fixture
def pin_key(tmp_path: Path) -> Path:
    path = tmp_path / "pin-key.json"
    SoftAuthenticator.create(path, pin=PIN)
    return path


def _json(value: Any) -> Any:
    """What crosses the HTTP API: the WebAuthn JSON form, through a JSON round trip."""
    return json.loads(json.dumps(dict(value)))


def register(
    server: Fido2Server,
    client: Fido2Client,
    *,
    user: PublicKeyCredentialUserEntity = ALICE,
    resident: ResidentKeyRequirement = ResidentKeyRequirement.DISCOURAGED,
    uv: str = "discouraged",
    exclude: list[AttestedCredentialData] | None = None,
) -> AuthenticatorData:
    options, state = server.register_begin(
        user, exclude, resident_key_requirement=resident, user_verification=uv
    )
    response = client.make_credential(_json(options)["publicKey"])
    return server.register_complete(state, _json(response))


def authenticate(
    server: Fido2Server,
    client: Fido2Client,
    credentials: list[AttestedCredentialData],
    *,
    allow: bool = True,
    uv: str = "discouraged",
) -> AuthenticationResponse:
    options, state = server.authenticate_begin(credentials if allow else None, uv)
    response = client.get_assertion(_json(options)["publicKey"]).get_response(0)
    server.authenticate_complete(state, credentials, _json(response))
    return response


def _credential(auth_data: AuthenticatorData) -> AttestedCredentialData:
    assert auth_data.credential_data is not None
    return auth_data.credential_data


# -- ceremonies ----------------------------------------------------------------------------


def test_registers_and_authenticates_against_fido2_server(server, key):
    client = soft_client(key, ORIGIN)

    registered = register(server, client)
    credential = _credential(registered)
    assert credential.aaguid == AAGUID
    assert registered.is_user_present()
    assert not registered.is_user_verified()
    assert registered.counter == 0

    assertion = authenticate(server, client, [credential])
    assert assertion.raw_id == credential.credential_id
    assert assertion.response.authenticator_data.is_user_present()
    assert assertion.response.user_handle is None  # not a resident credential


def test_counter_increments_on_every_assertion_and_persists(server, key):
    credential = _credential(register(server, soft_client(key, ORIGIN)))

    counters = [
        authenticate(
            server, soft_client(key, ORIGIN), [credential]
        ).response.authenticator_data.counter
        for _ in range(3)
    ]

    assert counters == [1, 2, 3]
    assert SoftAuthenticator.load(key).sign_count(credential.credential_id) == 3


def test_a_resident_key_signs_in_without_allow_credentials(server, key):
    client = soft_client(key, ORIGIN)
    credential = _credential(register(server, client, resident=ResidentKeyRequirement.REQUIRED))

    assertion = authenticate(server, client, [credential], allow=False)

    assert assertion.raw_id == credential.credential_id
    assert assertion.response.user_handle == ALICE.id


def test_a_non_resident_credential_is_not_offered_without_allow_credentials(server, key):
    client = soft_client(key, ORIGIN)
    register(server, client, resident=ResidentKeyRequirement.DISCOURAGED)
    options, _ = server.authenticate_begin(None)

    with pytest.raises(ClientError) as caught:
        client.get_assertion(_json(options)["publicKey"])

    assert caught.value.code == ClientError.ERR.DEVICE_INELIGIBLE


def test_two_resident_credentials_for_one_rp_are_all_returned(server, key):
    client = soft_client(key, ORIGIN)
    alice = _credential(register(server, client, resident=ResidentKeyRequirement.REQUIRED))
    bob = _credential(register(server, client, user=BOB, resident=ResidentKeyRequirement.REQUIRED))
    options, state = server.authenticate_begin(None)

    selection = client.get_assertion(_json(options)["publicKey"])

    assertions = selection.get_assertions()
    assert [a.user["id"] for a in assertions if a.user] == [BOB.id, ALICE.id]
    for index in range(2):
        server.authenticate_complete(state, [alice, bob], _json(selection.get_response(index)))


def test_a_credential_in_exclude_credentials_is_not_registered_again(server, key):
    client = soft_client(key, ORIGIN)
    credential = _credential(register(server, client))

    with pytest.raises(ClientError) as caught:
        register(server, client, exclude=[credential])

    assert caught.value.code == ClientError.ERR.DEVICE_INELIGIBLE
    assert isinstance(caught.value.cause, CtapError)
    assert caught.value.cause.code == CtapError.ERR.CREDENTIAL_EXCLUDED


# -- PIN and user verification ---------------------------------------------------------------


def test_the_right_pin_gives_user_verification(server, pin_key):
    client = soft_client(pin_key, ORIGIN, pin=PIN)

    registered = register(server, client, uv="required")
    assertion = authenticate(server, client, [_credential(registered)], uv="required")

    assert registered.is_user_verified()
    assert assertion.response.authenticator_data.is_user_verified()


def test_a_pin_key_still_answers_without_uv_when_uv_is_discouraged(server, pin_key):
    client = soft_client(pin_key, ORIGIN, pin=PIN)
    credential = _credential(register(server, client))

    assertion = authenticate(server, soft_client(pin_key, ORIGIN), [credential])

    assert not assertion.response.authenticator_data.is_user_verified()


def test_a_wrong_pin_is_refused_with_pin_invalid(server, pin_key):
    options, _ = server.register_begin(ALICE, user_verification="required")

    with pytest.raises(ClientError) as caught:
        soft_client(pin_key, ORIGIN, pin="9999").make_credential(_json(options)["publicKey"])

    assert isinstance(caught.value.cause, CtapError)
    assert caught.value.cause.code == CtapError.ERR.PIN_INVALID
    pin = ClientPin(Ctap2(SoftAuthenticator.load(pin_key)))
    assert pin.get_pin_retries()[0] == 7


def test_the_right_pin_resets_the_retry_counter(server, pin_key):
    pin = ClientPin(Ctap2(SoftAuthenticator.load(pin_key)))
    with pytest.raises(CtapError):
        pin.get_pin_token("9999")

    pin.get_pin_token(PIN)

    assert pin.get_pin_retries()[0] == 8


def test_eight_wrong_pins_block_the_pin(pin_key):
    pin = ClientPin(Ctap2(SoftAuthenticator.load(pin_key)))
    codes = []
    for _ in range(8):
        with pytest.raises(CtapError) as caught:
            pin.get_pin_token("9999")
        codes.append(caught.value.code)

    assert codes == [CtapError.ERR.PIN_INVALID] * 7 + [CtapError.ERR.PIN_BLOCKED]
    with pytest.raises(CtapError) as caught:
        pin.get_pin_token(PIN)
    assert caught.value.code == CtapError.ERR.PIN_BLOCKED


def test_a_pin_key_asked_for_uv_without_a_pin_needs_one(server, pin_key):
    options, _ = server.register_begin(ALICE, user_verification="required")

    with pytest.raises(PinRequiredError):
        soft_client(pin_key, ORIGIN).make_credential(_json(options)["publicKey"])


def test_a_key_without_pin_offers_no_client_pin_and_cannot_verify(server, key):
    info = Ctap2(SoftAuthenticator.load(key)).info
    assert "clientPin" not in info.options
    assert info.pin_uv_protocols == []
    options, _ = server.register_begin(ALICE, user_verification="required")

    with pytest.raises(ClientError) as caught:
        soft_client(key, ORIGIN, pin=PIN).make_credential(_json(options)["publicKey"])

    assert caught.value.code == ClientError.ERR.CONFIGURATION_UNSUPPORTED


def test_a_pin_key_lists_its_pin_protocols(pin_key):
    info = Ctap2(SoftAuthenticator.load(pin_key)).info

    assert info.options["clientPin"] is True
    assert info.pin_uv_protocols == [2, 1]


def test_pin_protocol_one_works_too(pin_key):
    ctap = Ctap2(SoftAuthenticator.load(pin_key))
    token = ClientPin(ctap, PinProtocolV1()).get_pin_token(PIN)

    assert len(token) == 32


# -- the device surface ------------------------------------------------------------------------


def test_malformed_cbor_and_unknown_commands_get_ctap_errors(key):
    device = SoftAuthenticator.load(key)

    assert device.call(CTAPHID.CBOR, bytes([Ctap2.CMD.GET_ASSERTION, 0xA1, 0x01])) == bytes(
        [CtapError.ERR.INVALID_CBOR]
    )
    assert device.call(CTAPHID.CBOR, bytes([0x55])) == bytes([CtapError.ERR.INVALID_COMMAND])
    assert device.call(CTAPHID.CBOR, bytes([Ctap2.CMD.GET_ASSERTION, 0xA0])) == bytes(
        [CtapError.ERR.MISSING_PARAMETER]
    )
    with pytest.raises(CtapError):
        device.call(CTAPHID.MSG, b"\x00")


def test_list_devices_discovers_nothing():
    assert list(SoftAuthenticator.list_devices()) == []


# -- the key file ------------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_key_file_is_created_and_rewritten_with_mode_0600(server, key):
    assert _mode(key) == 0o600
    credential = _credential(register(server, soft_client(key, ORIGIN)))
    authenticate(server, soft_client(key, ORIGIN), [credential])

    assert _mode(key) == 0o600
    assert sorted(p.name for p in key.parent.iterdir()) == [key.name]  # no temp files left


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_a_key_file_others_may_access_is_refused(key, mode):
    key.chmod(mode)

    with pytest.raises(SoftKeyPermissionError, match="chmod 600"):
        SoftAuthenticator.load(key)
    with pytest.raises(SoftKeyPermissionError):
        soft_client(key, ORIGIN)


def test_create_never_overwrites_an_existing_file(key):
    before = key.read_bytes()

    with pytest.raises(SoftKeyFileError, match="already exists"):
        SoftAuthenticator.create(key, pin=PIN)

    assert key.read_bytes() == before


def test_a_missing_or_foreign_file_is_refused_clearly(tmp_path):
    with pytest.raises(SoftKeyFileError, match="does not exist"):
        SoftAuthenticator.load(tmp_path / "absent.json")
    other = tmp_path / "other.json"
    other.write_text('{"not": "a key"}')
    other.chmod(0o600)
    with pytest.raises(SoftKeyFileError, match="not a tapgate soft key file"):
        SoftAuthenticator.load(other)


def test_a_short_pin_is_refused(tmp_path):
    with pytest.raises(SoftKeyError, match="at least 4"):
        SoftAuthenticator.create(tmp_path / "key.json", pin="123")
    assert not (tmp_path / "key.json").exists()


def test_a_clone_repeats_the_counter_of_the_original(server, key, tmp_path):
    credential = _credential(register(server, soft_client(key, ORIGIN)))
    clone = tmp_path / "clone.json"

    SoftAuthenticator.load(key).clone_to(clone)
    original_counter = authenticate(server, soft_client(key, ORIGIN), [credential])
    clone_counter = authenticate(server, soft_client(clone, ORIGIN), [credential])

    assert _mode(clone) == 0o600
    assert original_counter.response.authenticator_data.counter == 1
    assert clone_counter.response.authenticator_data.counter == 1


# -- the guard -------------------------------------------------------------------------------


def test_the_guard_refuses_outside_local_mode():
    with pytest.raises(SoftKeyNotAllowedError, match=ALLOW_SOFT_KEY_ENV):
        assert_soft_key_allowed(local_mode=False, environ={})


def test_the_guard_allows_local_mode():
    assert_soft_key_allowed(local_mode=True, environ={})


def test_the_guard_allows_the_explicit_opt_in():
    assert_soft_key_allowed(local_mode=False, environ={ALLOW_SOFT_KEY_ENV: "1"})


@pytest.mark.parametrize("value", ["0", "true", "yes", ""])
def test_the_guard_wants_exactly_1(value):
    with pytest.raises(SoftKeyNotAllowedError):
        assert_soft_key_allowed(local_mode=False, environ={ALLOW_SOFT_KEY_ENV: value})


def test_the_guard_reads_the_process_environment(monkeypatch):
    monkeypatch.delenv(ALLOW_SOFT_KEY_ENV, raising=False)
    with pytest.raises(SoftKeyNotAllowedError):
        assert_soft_key_allowed(local_mode=False)
    monkeypatch.setenv(ALLOW_SOFT_KEY_ENV, "1")
    assert_soft_key_allowed(local_mode=False)
