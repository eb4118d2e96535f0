"""GET /v1/admin/events through the handler against moto: the audit table's key and day
index, pages, who may read what, and the records item 1 of issue 14 lists."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from aws_lambda_powertools.metrics import Metrics

from tapgate.authenticators.soft import SoftAuthenticator
from tapgate_broker.settings import Settings
from tapgate_contract import signals
from tests.support.broker_harness import Harness, Reply
from tests.support.deployment import FakeClock

ADMIN = "root-admin"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, admins=(ADMIN,))


def events(harness: Harness, who: str, **query: str | list[str]) -> Reply:
    return harness.call(
        "GET",
        "/admin/events",
        user_arn=harness.user_arn(who),
        query={k: v if isinstance(v, list) else [v] for k, v in query.items()},
    )


def subscribe(harness: Harness) -> tuple[Any, str]:
    """A queue that an EventBridge rule on tapgate's source feeds (as a SIEM would)."""
    sqs = harness.session.client("sqs")
    queue = sqs.create_queue(QueueName="siem")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    events = harness.session.client("events")
    events.put_rule(Name="tapgate", EventPattern=json.dumps({"source": [signals.EVENT_SOURCE]}))
    events.put_targets(Rule="tapgate", Targets=[{"Id": "siem", "Arn": arn["QueueArn"]}])
    return sqs, queue


def received(sqs: Any, queue: str) -> list[dict[str, Any]]:
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_the_audit_trail_by_user_by_time_and_page(
    harness: Harness, gated_role: str, clock: FakeClock
) -> None:
    sqs, queue = subscribe(harness)
    metrics = Metrics(namespace=signals.METRIC_NAMESPACE, service=signals.SERVICE)
    metrics.clear_metrics()
    alice_key, bob_key = harness.new_key("alice"), harness.new_key("bob")
    assert harness.register("alice", alice_key, nickname="yubi").status == 201
    clock.advance(60)
    assert harness.register("bob", bob_key).status == 201
    clock.advance(60)
    clone = harness.tmp / "clone.json"
    SoftAuthenticator.load(alice_key).clone_to(clone)
    assert harness.authenticate("alice", alice_key, gated_role, durationSeconds=900).status == 200
    clock.advance(60)
    assert harness.authenticate("alice", clone, gated_role).status == 401  # counter regression
    clock.advance(60)
    # The bus heard the two registrations, the refusal and the possible clone; the metric
    # that the stack alarms on was counted.
    heard = [(e["detail-type"], e["detail"]["user"]) for e in received(sqs, queue)]
    assert sorted(heard) == [
        ("Ceremony Refused", "alice"),
        ("Counter Regression", "alice"),
        ("Credential Registered", "alice"),
        ("Credential Registered", "bob"),
    ]
    assert signals.COUNTER_REGRESSION in metrics.metric_set
    metrics.clear_metrics()

    # Up to now: the queries below are audit events too, written at the same fake time.
    until = "2027-01-15T08:03:30Z"
    everyone = events(harness, ADMIN, until=until)
    assert everyone.status == 200, everyone.body
    kinds = [(e["user"], e["kind"], e["outcome"]) for e in everyone.body["events"]]
    assert kinds == [
        ("alice", "authenticate", "refused"),
        ("alice", "authenticate", "ok"),
        ("bob", "register", "ok"),
        ("alice", "register", "ok"),
    ]
    refused, signed_in = everyone.body["events"][:2]
    assert set(refused) == {
        "at",
        "user",
        "kind",
        "outcome",
        "reason",
        "roleArn",
        "sessionSeconds",
        "credentialId",
        "nickname",
        "callerArn",
        "sourceIp",
        "userAgent",
        "details",
    }
    assert refused["reason"] == "counter-regression"
    assert refused["details"] == {"storedCounter": "1", "receivedCounter": "1"}
    assert (signed_in["roleArn"], signed_in["sessionSeconds"]) == (gated_role, 900)
    registered = everyone.body["events"][3]
    assert signed_in["nickname"] == refused["nickname"] == registered["nickname"] == "yubi"
    assert signed_in["sourceIp"] == "192.0.2.10" and signed_in["userAgent"] == "tapgate-tests"
    assert signed_in["callerArn"] == harness.user_arn("alice")

    # Everyone's, one event a page, through the day index: the same events in the same order.
    paged: list[Any] = []
    query: dict[str, str] = {"limit": "1", "until": until}
    for _ in range(10):
        page = events(harness, ADMIN, **query)
        assert page.status == 200, page.body
        paged += page.body["events"]
        if "next" not in page.body:
            break
        query = {"limit": "1", "next": page.body["next"]}
    assert paged == everyone.body["events"]

    # One user's, through the table's key; a filter on the outcome.
    only_refused = events(harness, ADMIN, user="alice", outcome="refused")
    assert [e["reason"] for e in only_refused.body["events"]] == ["counter-regression"]

    # Bob reads his own (and his earlier query is itself an event), not Alice's.
    own = events(harness, "bob")
    assert {e["user"] for e in own.body["events"]} == {"bob"}
    assert events(harness, "bob", user="alice").problem["status"] == 403
    assert events(harness, "bob", user=["bob", "alice"]).problem["status"] == 400
    mine = events(harness, "bob", kind="events-query", outcome="refused")
    assert [e["details"]["query"].split()[0] for e in mine.body["events"]] == ["user=alice"]
