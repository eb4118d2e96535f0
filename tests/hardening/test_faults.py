"""Faults: DynamoDB and STS fail at every step of every ceremony.

A botocore ``provide-client-params`` hook on the broker's own clients raises
the failure a real client would raise (throttling, a 500, a read timeout) on
the Nth call of one operation on one table. For each step the client must get
503 + Retry-After + a problem document; nothing may be half-written; a
consumed ceremony that issued nothing must have left a failure audit record;
and a retry with a new ceremony must succeed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from fido2.utils import websafe_encode

from tests.hardening.conftest import GATED_ROLE, key_items, register_forged, table_items
from tests.support.broker_harness import ORIGIN, Harness, Reply
from tests.support.forge import ForgedKey


def throttled(operation: str, service: str) -> Exception:
    code = "ProvisionedThroughputExceededException" if service == "dynamodb" else "Throttling"
    return ClientError(
        {
            "Error": {"Code": code, "Message": "Rate exceeded"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        operation,
    )


def server_error(operation: str, service: str) -> Exception:
    code = "InternalServerError" if service == "dynamodb" else "InternalFailure"
    return ClientError(
        {"Error": {"Code": code, "Message": "boom"}, "ResponseMetadata": {"HTTPStatusCode": 500}},
        operation,
    )


def timeout(operation: str, service: str) -> Exception:
    return ReadTimeoutError(endpoint_url=f"https://{service}.us-east-1.amazonaws.com/")


ERRORS: dict[str, Callable[[str, str], Exception]] = {
    "throttled": throttled,
    "server-error": server_error,
    "timeout": timeout,
}


@dataclass
class Fault:
    """Fail the ``nth`` call of ``operation`` (on ``table``, for DynamoDB) once."""

    service: str
    operation: str
    table: str | None
    error: Callable[[str, str], Exception]
    nth: int = 1
    seen: int = 0
    fired: bool = False

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if self.fired or model.name != self.operation:
            return
        if self.table is not None and self.table not in json.dumps(params, default=str):
            return
        self.seen += 1
        if self.seen == self.nth:
            self.fired = True
            raise self.error(self.operation, self.service)


def broker_client(harness: Harness, service: str) -> Any:
    """The broker's own boto3 client (the faults must hit its requests, not the test's)."""
    broker: Any = harness.broker
    return broker._issuer._client if service == "sts" else broker._credentials._client


def arm(harness: Harness, fault: Fault) -> None:
    broker_client(harness, fault.service).meta.events.register(
        f"provide-client-params.{fault.service}", fault
    )


# -- the flows ---------------------------------------------------------------------------


@dataclass
class Run:
    reply: Reply
    ceremony_id: str | None


def sign_in(h: Harness, key: ForgedKey) -> Run:
    options = h.options("alice", roleArn=GATED_ROLE)
    if options.status != 200:
        return Run(options, None)
    body = {
        "ceremonyId": options.body["ceremonyId"],
        "credential": key.assertion(options.body["publicKey"], ORIGIN),
        "roleArn": GATED_ROLE,
    }
    reply = h.call("POST", "/authentication/verify", body=body, user_arn=h.user_arn("alice"))
    return Run(reply, options.body["ceremonyId"])


def register(h: Harness, new_key: ForgedKey, step_up_key: ForgedKey | None) -> Run:
    options = h.call("POST", "/registration/options", body={}, user_arn=h.user_arn("alice"))
    if options.status != 200:
        return Run(options, None)
    body = {
        "ceremonyId": options.body["ceremonyId"],
        "credential": new_key.register(options.body["publicKey"], ORIGIN),
    }
    if step_up_key is not None:
        body["stepUp"] = step_up_key.assertion(options.body["stepUp"], ORIGIN)
    reply = h.call("POST", "/registration/verify", body=body, user_arn=h.user_arn("alice"))
    return Run(reply, options.body["ceremonyId"])


def passkey_sign_in(h: Harness, key: ForgedKey) -> Run:
    options = h.call("POST", "/passkey/options", body={"roleArn": GATED_ROLE})
    if options.status != 200:
        return Run(options, None)
    body = {
        "ceremonyId": options.body["ceremonyId"],
        "credential": key.assertion(options.body["publicKey"], ORIGIN, user_verified=True),
        "roleArn": GATED_ROLE,
    }
    return Run(h.call("POST", "/passkey/verify", body=body), options.body["ceremonyId"])


def enroll(h: Harness, token: str, new_key: ForgedKey) -> Run:
    headers = {"Authorization": f"Bearer {token}"}
    options = h.call("POST", "/enrollment/options", body={}, headers=headers)
    if options.status != 200:
        return Run(options, None)
    body = {
        "ceremonyId": options.body["ceremonyId"],
        "credential": new_key.register(options.body["publicKey"], ORIGIN),
    }
    reply = h.call("POST", "/enrollment/verify", body=body, headers=headers)
    return Run(reply, options.body["ceremonyId"])


def revoke(h: Harness, key: ForgedKey) -> Run:
    options = h.options("alice", purpose="manage")
    if options.status != 200:
        return Run(options, None)
    body = {
        "ceremonyId": options.body["ceremonyId"],
        "credential": key.assertion(options.body["publicKey"], ORIGIN),
    }
    target = websafe_encode(key.credential_id)
    reply = h.call("DELETE", f"/credentials/{target}", body=body, user_arn=h.user_arn("alice"))
    return Run(reply, options.body["ceremonyId"])


CREDENTIALS, CEREMONIES = "tapgate-credentials", "tapgate-ceremonies"

# (flow, service, operation, table, nth): every AWS request each flow makes, in order.
STEPS = {
    "sign-in/options:list-keys": ("sign-in", "dynamodb", "Query", CREDENTIALS, 1),
    "sign-in/options:put-ceremony": ("sign-in", "dynamodb", "PutItem", CEREMONIES, 1),
    "sign-in/verify:consume": ("sign-in", "dynamodb", "UpdateItem", CEREMONIES, 1),
    "sign-in/verify:counter-and-audit": ("sign-in", "dynamodb", "TransactWriteItems", None, 1),
    "sign-in/verify:assume-role": ("sign-in", "sts", "AssumeRole", None, 1),
    "first-key/options:list-keys": ("first-key", "dynamodb", "Query", CREDENTIALS, 1),
    "first-key/options:put-ceremony": ("first-key", "dynamodb", "PutItem", CEREMONIES, 1),
    "first-key/verify:consume": ("first-key", "dynamodb", "UpdateItem", CEREMONIES, 1),
    "first-key/verify:find-by-id": ("first-key", "dynamodb", "Query", CREDENTIALS, 2),
    "first-key/verify:transaction": ("first-key", "dynamodb", "TransactWriteItems", None, 1),
    "second-key/verify:consume": ("second-key", "dynamodb", "UpdateItem", CEREMONIES, 1),
    "second-key/verify:find-by-id": ("second-key", "dynamodb", "Query", CREDENTIALS, 2),
    "second-key/verify:transaction": ("second-key", "dynamodb", "TransactWriteItems", None, 1),
    "passkey/options:put-ceremony": ("passkey", "dynamodb", "PutItem", CEREMONIES, 1),
    "passkey/verify:consume": ("passkey", "dynamodb", "UpdateItem", CEREMONIES, 1),
    "passkey/verify:discover": ("passkey", "dynamodb", "Query", CREDENTIALS, 1),
    "passkey/verify:counter-and-audit": ("passkey", "dynamodb", "TransactWriteItems", None, 1),
    "passkey/verify:assume-role": ("passkey", "sts", "AssumeRole", None, 1),
    "enroll/options:get-token": ("enroll", "dynamodb", "GetItem", CEREMONIES, 1),
    "enroll/options:list-keys": ("enroll", "dynamodb", "Query", CREDENTIALS, 1),
    "enroll/options:put-ceremony": ("enroll", "dynamodb", "PutItem", CEREMONIES, 1),
    "enroll/verify:get-token": ("enroll", "dynamodb", "GetItem", CEREMONIES, 2),
    "enroll/verify:consume": ("enroll", "dynamodb", "UpdateItem", CEREMONIES, 1),
    "enroll/verify:find-by-id": ("enroll", "dynamodb", "Query", CREDENTIALS, 3),
    "enroll/verify:transaction": ("enroll", "dynamodb", "TransactWriteItems", None, 1),
    "revoke/options:list-keys": ("revoke", "dynamodb", "Query", CREDENTIALS, 1),
    "revoke/options:put-ceremony": ("revoke", "dynamodb", "PutItem", CEREMONIES, 1),
    "revoke/verify:consume": ("revoke", "dynamodb", "UpdateItem", CEREMONIES, 1),
    "revoke/verify:transaction": ("revoke", "dynamodb", "TransactWriteItems", None, 1),
}
# A success audit record is written in the transaction of the change it attests (a key
# stored or removed, a counter moved), so there is no separate audit step to fail after it.


def counters(h: Harness) -> dict[str, int]:
    return {i["credentialId"]["S"]: int(i["signCount"]["N"]) for i in key_items(h)}


def ceremony_item(h: Harness, ceremony_id: str) -> dict[str, Any]:
    item: dict[str, Any] = h.dynamodb.get_item(
        TableName=h.settings.ceremonies_table, Key={"ceremonyId": {"S": ceremony_id}}
    ).get("Item", {})
    return item


@pytest.mark.parametrize("error", ERRORS)
@pytest.mark.parametrize("step", STEPS)
def test_a_failing_dependency_gives_503_leaves_nothing_half_written_and_a_retry_works(
    harness: Harness, step: str, error: str
) -> None:
    flow, service, operation, table, nth = STEPS[step]
    first = ForgedKey()
    register_forged(harness, "alice", first)
    new_key = ForgedKey()

    token = ""
    if flow == "enroll":
        link = harness.call("POST", "/enrollments", body={}, user_arn=harness.user_arn("bob"))
        token = link.body["token"]

    def run() -> Run:
        if flow == "sign-in":
            return sign_in(harness, first)
        if flow == "passkey":
            return passkey_sign_in(harness, first)
        if flow == "enroll":
            return enroll(harness, token, new_key)
        if flow == "revoke":
            return revoke(harness, first)
        return register(harness, new_key, first if flow == "second-key" else None)

    if flow == "first-key":
        # alice's first key: start from a user without one.
        harness.dynamodb.delete_item(
            TableName=harness.settings.credentials_table,
            Key={
                "userName": {"S": "alice"},
                "credentialId": {"S": websafe_encode(first.credential_id)},
            },
        )
    before_counters = counters(harness)
    fault = Fault(service, operation, table, ERRORS[error], nth=nth)
    arm(harness, fault)

    result = run()

    assert fault.fired, f"{step}: the step was never reached"
    reply = result.reply
    assert reply.status == 503, reply.body
    assert int(reply.headers["Retry-After"]) >= 1
    problem = reply.problem
    assert set(problem) == {"type", "title", "status", "detail"}
    for internal in ("tapgate-", "Exception", "Throttl", "Traceback", "timeout"):
        assert internal.lower() not in json.dumps(problem).lower()

    # Nothing half-written: every stored key is whole, no key appeared or vanished.
    items = key_items(harness)
    assert all({"signCount", "credentialData", "userHandle"} <= set(i) for i in items)
    assert set(counters(harness)) == set(before_counters)
    # A counter moves only if the assertion was verified and the counter write went through.
    for credential_id, count in counters(harness).items():
        assert count in (before_counters[credential_id], first.counter)

    # A consumed ceremony that issued nothing has left a failure audit record.
    if result.ceremony_id is not None and "consumedAt" in ceremony_item(
        harness, result.ceremony_id
    ):
        audit = table_items(harness, harness.settings.audit_table)
        failures = [i for i in audit if i["outcome"]["S"] == "failure"]
        assert failures, f"{step}: ceremony consumed, nothing issued, nothing audited"
        assert any("dynamodb" in f["reason"]["S"] or "sts" in f["reason"]["S"] for f in failures)
    elif result.ceremony_id is not None:
        assert "state" in ceremony_item(harness, result.ceremony_id)

    retry = run()
    assert retry.reply.status in (200, 201, 204), retry.reply.body
