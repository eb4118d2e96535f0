"""Every audit record names the credential's owner when known, the caller's principal ARN
(``anonymous`` for an unsigned request) and the source IP (finding 7).

Before: failed passkey list/delete attempts were filed under ``-unknown-`` although the
key's owner had been found, and registration and authentication records had no caller ARN.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from fido2.utils import websafe_encode

from tapgate_broker.settings import Settings
from tests.hardening.conftest import GATED_ROLE, register_forged, table_items
from tests.support.broker_harness import ORIGIN, Harness
from tests.support.forge import ForgedKey

SOURCE_IP = "192.0.2.10"  # what the harness's events carry


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, admins=("root",))


def records(h: Harness, event: str) -> list[dict[str, Any]]:
    return [i for i in table_items(h, h.settings.audit_table) if i["event"]["S"] == event]


def only(h: Harness, event: str, outcome: str) -> dict[str, Any]:
    (record,) = [r for r in records(h, event) if r["outcome"]["S"] == outcome]
    return record


def facts(record: dict[str, Any]) -> tuple[str, str, str]:
    return (record["userName"]["S"], record["callerArn"]["S"], record["sourceIp"]["S"])


def passkey_manage(h: Harness, key: ForgedKey, **assertion: Any) -> dict[str, Any]:
    options = h.call("POST", "/passkey/options", body={"purpose": "manage"})
    return {
        "ceremonyId": options.body["ceremonyId"],
        "credential": key.assertion(options.body["publicKey"], ORIGIN, **assertion),
    }


def test_a_failed_passkey_listing_is_filed_under_the_keys_owner(harness: Harness):
    key = ForgedKey()
    register_forged(harness, "alice", key)
    body = passkey_manage(harness, key, user_verified=False)  # UV is required: fails
    assert harness.call("POST", "/passkey/credentials/list", body=body).status == 401
    assert facts(only(harness, "list-keys", "failure")) == ("alice", "anonymous", SOURCE_IP)


def test_a_failed_passkey_removal_is_filed_under_the_keys_owner(harness: Harness):
    key = ForgedKey()
    register_forged(harness, "alice", key)
    body = passkey_manage(harness, key, user_verified=False)  # UV is required: fails
    target = websafe_encode(key.credential_id)
    assert harness.call("DELETE", f"/passkey/credentials/{target}", body=body).status == 401
    assert facts(only(harness, "revoke", "failure")) == ("alice", "anonymous", SOURCE_IP)


def test_registration_records_carry_the_callers_arn(harness: Harness):
    register_forged(harness, "alice", ForgedKey())
    assert facts(only(harness, "register", "success")) == (
        "alice",
        harness.user_arn("alice"),
        SOURCE_IP,
    )
    options = harness.call(
        "POST", "/registration/options", body={}, user_arn=harness.user_arn("alice")
    )
    body = {
        "ceremonyId": options.body["ceremonyId"],
        "credential": ForgedKey().register(options.body["publicKey"], ORIGIN),
    }  # no step-up: fails
    reply = harness.call(
        "POST", "/registration/verify", body=body, user_arn=harness.user_arn("alice")
    )
    assert reply.status == 401
    assert facts(only(harness, "register", "failure")) == (
        "alice",
        harness.user_arn("alice"),
        SOURCE_IP,
    )


def test_authentication_records_carry_the_callers_arn(harness: Harness):
    key = ForgedKey()
    register_forged(harness, "alice", key)
    for counter in (None, 0):  # a good assertion, then one whose counter went back
        options = harness.options("alice", roleArn=GATED_ROLE)
        body = {
            "ceremonyId": options.body["ceremonyId"],
            "credential": key.assertion(options.body["publicKey"], ORIGIN, counter=counter),
            "roleArn": GATED_ROLE,
        }
        harness.call(
            "POST", "/authentication/verify", body=body, user_arn=harness.user_arn("alice")
        )
    for outcome in ("success", "failure"):
        assert facts(only(harness, "authenticate", outcome)) == (
            "alice",
            harness.user_arn("alice"),
            SOURCE_IP,
        )


def test_a_passkey_sign_in_is_filed_under_the_owner_as_anonymous(harness: Harness):
    key = ForgedKey()
    register_forged(harness, "alice", key)
    options = harness.call("POST", "/passkey/options", body={"roleArn": GATED_ROLE})
    body = {
        "ceremonyId": options.body["ceremonyId"],
        "credential": key.assertion(options.body["publicKey"], ORIGIN, user_verified=True),
        "roleArn": GATED_ROLE,
    }
    assert harness.call("POST", "/passkey/verify", body=body).status == 200
    assert facts(only(harness, "authenticate", "success")) == ("alice", "anonymous", SOURCE_IP)


def test_enrollment_records_carry_who_issued_and_who_used_the_link(harness: Harness):
    link = harness.call(
        "POST", "/enrollments", body={"userName": "bob"}, user_arn=harness.user_arn("root")
    )
    issued = only(harness, "enrollment-issued", "success")
    assert facts(issued) == ("bob", harness.user_arn("root"), SOURCE_IP)
    headers = {"Authorization": f"Bearer {link.body['token']}"}
    options = harness.call("POST", "/enrollment/options", body={}, headers=headers)
    body = {
        "ceremonyId": options.body["ceremonyId"],
        "credential": ForgedKey().register(options.body["publicKey"], ORIGIN),
    }
    assert harness.call("POST", "/enrollment/verify", body=body, headers=headers).status == 201
    enrolled = only(harness, "register", "success")
    assert facts(enrolled) == ("bob", "anonymous", SOURCE_IP)
    assert enrolled["issuedBy"]["S"] == harness.user_arn("root")


def admin_approval(h: Harness, key: ForgedKey) -> dict[str, Any]:
    options = h.call("POST", "/admin/options", body={}, user_arn=h.user_arn("root"))
    assert options.status == 200, options.body
    return {
        "ceremonyId": options.body["ceremonyId"],
        "credential": key.assertion(options.body["publicKey"], ORIGIN),
    }


def test_an_admin_revocation_is_filed_under_the_user_with_the_admins_reason(harness: Harness):
    """Over the DynamoDB adapter: a key revoked by an admin while a sign-in with it was open;
    the late answer is refused as a removed key, not reported as a possible clone."""
    root_key, key = ForgedKey(), ForgedKey()
    register_forged(harness, "root", root_key)
    register_forged(harness, "alice", key)
    alice = harness.user_arn("alice")
    options = harness.call(
        "POST", "/authentication/options", body={"roleArn": GATED_ROLE}, user_arn=alice
    )
    early = key.assertion(options.body["publicKey"], ORIGIN)
    revoked = harness.call(
        "DELETE",
        "/admin/users/alice/credentials",
        body={**admin_approval(harness, root_key), "reason": "left the company"},
        user_arn=harness.user_arn("root"),
    )
    assert revoked.status == 200, revoked.body
    assert revoked.body == {"userName": "alice", "revoked": [websafe_encode(key.credential_id)]}
    record = only(harness, "revoke", "success")
    assert facts(record) == ("alice", harness.user_arn("root"), SOURCE_IP)
    assert record["adminAction"]["S"] == "revoke-all"
    assert record["adminReason"]["S"] == "left the company"
    assert record["credentialId"]["S"] == websafe_encode(key.credential_id)
    late = harness.call(
        "POST",
        "/authentication/verify",
        body={"ceremonyId": options.body["ceremonyId"], "credential": early, "roleArn": GATED_ROLE},
        user_arn=alice,
    )
    assert late.status == 401
    refused = only(harness, "authenticate", "failure")
    assert "removed" in refused["reason"]["S"] and "clone" not in refused["reason"]["S"]
    assert harness.assume_role_calls == []
