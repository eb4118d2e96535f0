"""Rules the core adds on top of fido2: counters, nicknames, ids, settings."""

import json

import pytest

from tapgate_broker.adapters.sts import session_name_for
from tapgate_broker.core.credential_ids import decode_credential_id, short_id
from tapgate_broker.core.errors import BadRequestError, CeremonyFailedError
from tapgate_broker.core.registration import normalize_nickname
from tapgate_broker.core.webauthn import check_counter
from tapgate_broker.settings import Settings, SettingsError
from tapgate_contract.environment import ROLES as ENV_ROLES


@pytest.mark.parametrize(("stored", "received"), [(0, 0), (0, 1), (5, 6), (5, 500)])
def test_counter_that_advances_or_is_absent_passes(stored, received):
    check_counter(stored=stored, received=received)


@pytest.mark.parametrize(("stored", "received"), [(5, 5), (5, 4), (1, 0), (7, 0)])
def test_counter_that_does_not_advance_fails(stored, received):
    with pytest.raises(CeremonyFailedError) as caught:
        check_counter(stored=stored, received=received)
    assert "clone" in caught.value.reason
    assert caught.value.detail == CeremonyFailedError.GENERIC


def test_nickname_is_nfc_normalized_and_trimmed():
    assert normalize_nickname("  Cafe\u0301 key ") == "Caf\u00e9 key"


@pytest.mark.parametrize(
    "nickname", ["evil\u202eyek", "zero\u200bwidth", "bell\x07", "x" * 65, 42, ["a"]]
)
def test_nickname_tricks_are_refused(nickname):
    with pytest.raises(BadRequestError):
        normalize_nickname(nickname)


@pytest.mark.parametrize("value", ["", "../../etc/passwd", "a b", "%2e%2e", "a" * 1401])
def test_credential_ids_must_be_base64url(value):
    with pytest.raises(BadRequestError):
        decode_credential_id(value)


def test_short_id_is_a_prefix_of_the_base64url_id():
    assert short_id(bytes(range(32))) == "AAECAwQFBgcICQoL"


@pytest.mark.parametrize(
    ("user", "session"),
    [("alice", "tapgate-alice"), ("a b", "tapgate-a-b"), ("x" * 80, "tapgate-" + "x" * 56)],
)
def test_role_session_names_fit_sts(user, session):
    assert session_name_for(user) == session


BASE_ENV = {
    "TAPGATE_CREDENTIALS_TABLE": "c",
    "TAPGATE_CEREMONIES_TABLE": "e",
    "TAPGATE_AUDIT_TABLE": "a",
    "TAPGATE_RP_ID": "example.com",
    "TAPGATE_ORIGINS": '["https://example.com"]',
    "TAPGATE_ROLES": json.dumps(
        [{"arn": "arn:aws:iam::123456789012:role/x", "maxSessionSeconds": 1800}]
    ),
}


def test_settings_read_from_environment():
    settings = Settings.from_env(BASE_ENV)
    assert settings.roles[0].name == "x"
    assert settings.roles[0].max_session_seconds == 1800
    assert settings.origins == ("https://example.com",)


def test_settings_name_what_is_missing():
    env = dict(BASE_ENV)
    del env["TAPGATE_RP_ID"]
    with pytest.raises(SettingsError, match="TAPGATE_RP_ID"):
        Settings.from_env(env)


def test_settings_refuse_sessions_longer_than_role_chaining_allows():
    env = {**BASE_ENV, ENV_ROLES: json.dumps([{"arn": "a", "maxSessionSeconds": 7200}])}
    with pytest.raises(SettingsError, match="maxSessionSeconds"):
        Settings.from_env(env)
