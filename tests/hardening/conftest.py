"""Hardening fixtures: the shared moto deployment (tests/support) plus a ready-made user.

``world`` is one deployment where alice owns a forged key and has one open
ceremony of each kind with a valid answer prepared, so a hostile test can
change exactly one thing in an otherwise correct request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support import fixtures
from tests.support.broker_harness import ORIGIN, Harness
from tests.support.deployment import GATED_ROLE, make_harness, mocked_aws, register_forged
from tests.support.forge import ForgedKey

# The shared moto deployment's fixtures, named here so pytest finds them.
aws = fixtures.aws
clock = fixtures.clock
gated_role = fixtures.gated_role
harness = fixtures.harness
settings = fixtures.settings
uv_role = fixtures.uv_role

USER = "alice"


@dataclass
class World:
    harness: Harness
    key: ForgedKey
    new_key: ForgedKey
    credential_id: str
    auth_ceremony: str
    assertion: dict[str, Any]
    manage_ceremony: str
    manage_assertion: dict[str, Any]
    registration_ceremony: str
    registration_options: dict[str, Any]  # the ceremony's creation options (publicKey)
    registration: dict[str, Any]
    step_up: dict[str, Any]
    passkey_ceremony: str
    passkey_assertion: dict[str, Any]
    passkey_manage_ceremony: str
    passkey_manage_assertion: dict[str, Any]
    enrollment_token: str  # self-issued by bob, who has no key
    enrollment_ceremony: str
    enrollment_options: dict[str, Any]
    enrollment_registration: dict[str, Any]

    @property
    def user_arn(self) -> str:
        return self.harness.user_arn(USER)


@pytest.fixture
def world(harness: Harness) -> World:
    return make_world(harness)


@pytest.fixture(scope="module")
def shared_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One world for a module whose tests must not change it (checked by each test)."""
    with pytest.MonkeyPatch.context() as patch, mocked_aws(patch):
        yield make_world(make_harness(tmp_path_factory.mktemp("world")))


def make_world(harness: Harness) -> World:
    key = ForgedKey()
    summary = register_forged(harness, USER, key)
    arn = harness.user_arn(USER)
    auth = harness.call(
        "POST", "/authentication/options", body={"roleArn": GATED_ROLE}, user_arn=arn
    )
    manage = harness.call(
        "POST", "/authentication/options", body={"purpose": "manage"}, user_arn=arn
    )
    registration = harness.call("POST", "/registration/options", body={}, user_arn=arn)
    new_key = ForgedKey()
    passkey = harness.call("POST", "/passkey/options", body={"roleArn": GATED_ROLE})
    passkey_manage = harness.call("POST", "/passkey/options", body={"purpose": "manage"})
    link = harness.call("POST", "/enrollments", body={}, user_arn=harness.user_arn("bob"))
    token = link.body["token"]
    enrollment = harness.call(
        "POST", "/enrollment/options", body={}, headers={"Authorization": f"Bearer {token}"}
    )
    return World(
        harness=harness,
        key=key,
        new_key=new_key,
        credential_id=summary["credentialId"],
        auth_ceremony=auth.body["ceremonyId"],
        assertion=key.assertion(auth.body["publicKey"], ORIGIN),
        manage_ceremony=manage.body["ceremonyId"],
        manage_assertion=key.assertion(manage.body["publicKey"], ORIGIN),
        registration_ceremony=registration.body["ceremonyId"],
        registration_options=registration.body["publicKey"],
        registration=new_key.register(registration.body["publicKey"], ORIGIN),
        step_up=key.assertion(registration.body["stepUp"], ORIGIN),
        passkey_ceremony=passkey.body["ceremonyId"],
        passkey_assertion=key.assertion(passkey.body["publicKey"], ORIGIN, user_verified=True),
        passkey_manage_ceremony=passkey_manage.body["ceremonyId"],
        passkey_manage_assertion=key.assertion(
            passkey_manage.body["publicKey"], ORIGIN, user_verified=True
        ),
        enrollment_token=token,
        enrollment_ceremony=enrollment.body["ceremonyId"],
        enrollment_options=enrollment.body["publicKey"],
        enrollment_registration=ForgedKey().register(enrollment.body["publicKey"], ORIGIN),
    )


def snapshot(h: Harness) -> dict[str, list[str]]:
    """Every table's items, canonically serialized (binary attributes included)."""
    tables = (h.settings.credentials_table, h.settings.ceremonies_table, h.settings.audit_table)
    result: dict[str, list[str]] = {}
    for table in tables:
        items: list[str] = []
        for page in h.dynamodb.get_paginator("scan").paginate(TableName=table):
            items.extend(json.dumps(item, sort_keys=True, default=_hex) for item in page["Items"])
        result[table] = sorted(items)
    return result


def _hex(value: Any) -> str:
    return bytes(value).hex()


def key_items(h: Harness) -> list[dict[str, Any]]:
    """The credentials table's key items (not the credential-id guards or key-set items)."""
    return [
        item
        for item in table_items(h, h.settings.credentials_table)
        if not item["userName"]["S"].startswith("#")
        and not item["credentialId"]["S"].startswith("#")
    ]


def table_items(h: Harness, table: str) -> list[dict[str, Any]]:
    """A table's raw items (test-only scan)."""
    items: list[dict[str, Any]] = []
    for page in h.dynamodb.get_paginator("scan").paginate(TableName=table):
        items.extend(page["Items"])
    return items
