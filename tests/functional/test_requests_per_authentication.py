"""DynamoDB requests per authentication, counted on every request the broker makes.

A whole sign-in (options + verify) costs at most 4 DynamoDB requests and 1 STS call, and
the verify step at most 2 (the ceremony's consume, then the counter's move and the audit
record in one transaction); a passkey's verify needs one more (the key's owner is looked up
by the credential id the assertion names). The count comes from a botocore hook registered
on the session before the broker's clients exist, so it sees each request they send.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import boto3

from tests.support.broker_harness import REGION, Harness, get_assertion

PIN = "1234"


def counting_harness(harness: Harness) -> tuple[Harness, list[str]]:
    """A second deployment over the same moto tables whose broker's requests are counted."""
    session = boto3.session.Session(region_name=REGION)
    seen: list[str] = []

    def count(event_name: str, **_: Any) -> None:
        service, operation = event_name.split(".")[1:3]
        seen.append(f"{service}:{operation}")

    session.events.register("provide-client-params.*.*", count)
    counted = Harness(
        settings=harness.settings, session=session, tmp=harness.tmp, clock=harness.clock
    )
    return counted, seen


def dynamodb(seen: list[str]) -> Counter[str]:
    return Counter(name for name in seen if name.startswith("dynamodb:"))


def test_a_sign_in_takes_at_most_four_dynamodb_requests_two_in_verify(harness, gated_role):
    h, seen = counting_harness(harness)
    key = h.new_key(pin=PIN)
    assert h.register("alice", key, pin=PIN).status == 201

    seen.clear()
    options = h.options("alice", roleArn=gated_role)
    assert options.status == 200
    in_options = dynamodb(seen)
    seen.clear()
    reply = h.call(
        "POST",
        "/authentication/verify",
        body={
            "ceremonyId": options.body["ceremonyId"],
            "credential": get_assertion(h.client(key, pin=PIN), options.body["publicKey"]),
            "roleArn": gated_role,
        },
        user_arn=h.user_arn("alice"),
    )
    assert reply.status == 200, reply.body
    in_verify = dynamodb(seen)
    assert in_verify == {"dynamodb:UpdateItem": 1, "dynamodb:TransactWriteItems": 1}
    assert (in_options + in_verify).total() <= 4
    assert seen.count("sts:AssumeRole") == 1

    # The same budget for a discoverable passkey, whose verify also finds the key's owner.
    seen.clear()
    options = h.call("POST", "/passkey/options", body={"roleArn": gated_role})
    assert options.status == 200
    in_options = dynamodb(seen)
    seen.clear()
    reply = h.call(
        "POST",
        "/passkey/verify",
        body={
            "ceremonyId": options.body["ceremonyId"],
            "credential": get_assertion(h.client(key, pin=PIN), options.body["publicKey"]),
            "roleArn": gated_role,
        },
    )
    assert reply.status == 200, reply.body
    in_verify = dynamodb(seen)
    assert in_verify == {
        "dynamodb:UpdateItem": 1,
        "dynamodb:Query": 1,
        "dynamodb:TransactWriteItems": 1,
    }
    assert (in_options + in_verify).total() <= 4
    assert seen.count("sts:AssumeRole") == 1
