"""A per-role setting refuses keys without a signature counter (the "Also" item).

Clone detection rests on the counter: an authenticator without one (always 0, synced
passkeys among them) cannot be told from a copy. A role with ``requireSignCounter`` refuses
such a key at sign-in (401, audited); other roles still accept it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tapgate_broker.core.models import RoleConfig
from tapgate_broker.settings import Settings
from tests.hardening.conftest import GATED_ROLE, register_forged, table_items
from tests.support.broker_harness import ORIGIN, Harness
from tests.support.deployment import UV_ROLE
from tests.support.forge import ForgedKey


@pytest.fixture
def settings(settings: Settings) -> Settings:
    roles = tuple(
        dataclasses.replace(r, require_sign_counter=True) if r.arn == GATED_ROLE else r
        for r in settings.roles
    )
    return dataclasses.replace(settings, roles=roles)


def sign_in(h: Harness, key: ForgedKey, role: str, **assertion: Any) -> Any:
    options = h.options("alice", roleArn=role)
    body = {
        "ceremonyId": options.body["ceremonyId"],
        "credential": key.assertion(options.body["publicKey"], ORIGIN, **assertion),
        "roleArn": role,
    }
    return h.call("POST", "/authentication/verify", body=body, user_arn=h.user_arn("alice"))


def test_a_counting_key_signs_in_to_a_role_that_requires_a_counter(harness: Harness):
    key = ForgedKey()
    register_forged(harness, "alice", key)
    assert sign_in(harness, key, GATED_ROLE).status == 200


def test_a_key_without_a_counter_is_refused_there_and_accepted_elsewhere(harness: Harness):
    key = ForgedKey()  # registered with counter 0, and it answers 0 every time
    register_forged(harness, "alice", key)
    refused = sign_in(harness, key, GATED_ROLE, counter=0)
    assert refused.status == 401
    (failure,) = [
        r
        for r in table_items(harness, harness.settings.audit_table)
        if r["outcome"]["S"] == "failure"
    ]
    assert "signature counter" in failure["reason"]["S"]
    assert harness.assume_role_calls == []
    assert sign_in(harness, key, UV_ROLE, counter=0, user_verified=True).status == 200


def test_the_setting_reaches_the_broker_from_its_environment():
    from tapgate_contract.environment import ROLES as ENV_ROLES  # noqa: PLC0415

    env = {
        "TAPGATE_CREDENTIALS_TABLE": "c",
        "TAPGATE_CEREMONIES_TABLE": "e",
        "TAPGATE_AUDIT_TABLE": "a",
        "TAPGATE_RP_ID": "example.org",
        "TAPGATE_ORIGINS": '["https://example.org"]',
        ENV_ROLES: f'[{{"arn": "{GATED_ROLE}", "requireSignCounter": true}}]',
    }
    (role,) = Settings.from_env(env).roles
    assert role == RoleConfig(arn=GATED_ROLE, name="tapgate-test-admin", require_sign_counter=True)
