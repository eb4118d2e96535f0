"""EventBridge signals: which audit records raise which events, what the adapter puts on the
bus and counts, and that a failing bus never fails the request (fakes, no AWS)."""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from tapgate_broker.adapters.event_bus import EventBridgeSignals
from tapgate_broker.core.audit import Auditor
from tapgate_broker.core.errors import NotFoundError
from tapgate_broker.core.event_signals import SignalEmitter, SignallingAuditLog, signals_for
from tapgate_broker.core.models import AuditRecord, Caller
from tapgate_broker.core.ports import Signal
from tapgate_contract import signals
from tests.support.fakes import MemoryAudit


def record(event: str, outcome: str, reason: str = "") -> AuditRecord:
    return AuditRecord(
        user_name="alice",
        caller_arn="arn:aws:iam::123456789012:user/alice",
        at="2026-12-02T20:00:00.000000Z",
        event=event,
        outcome=outcome,
        reason=reason,
        credential_id="AAAA",
        extra={"storedCounter": "7"} if reason else {},
    )


@pytest.mark.parametrize(
    ("audited", "detail_types"),
    [
        (record("register", "success"), [signals.CREDENTIAL_REGISTERED_EVENT]),
        (record("revoke", "success"), [signals.CREDENTIAL_REVOKED_EVENT]),
        (record("authenticate", "failure", "assertion: bad signature"), ["Ceremony Refused"]),
        (
            record("authenticate", "failure", "counter-regression"),
            [signals.CEREMONY_REFUSED_EVENT, signals.COUNTER_REGRESSION_EVENT],
        ),
        (
            record("list-keys", "failure", "counter-regression"),
            ["Ceremony Refused", "Counter Regression"],
        ),
        (record("authenticate", "success"), []),  # the hot path sends nothing
        (record("events-query", "failure", "forbidden"), []),  # not a ceremony
        (record("enrollment-issued", "success"), []),
    ],
)
def test_which_records_raise_which_events(audited: AuditRecord, detail_types: list[str]) -> None:
    assert [s.detail_type for s in signals_for(audited)] == detail_types


def test_an_events_detail_is_the_audit_events_fields() -> None:
    (refused, _) = signals_for(record("authenticate", "failure", "counter-regression"))
    assert refused.detail["outcome"] == "refused"
    assert refused.detail["reason"] == "counter-regression"
    assert refused.detail["details"] == {"storedCounter": "7"}
    assert set(refused.detail) == {
        "at", "user", "kind", "outcome", "reason", "roleArn", "sessionSeconds",
        "credentialId", "nickname", "callerArn", "sourceIp", "userAgent", "details",
    }  # fmt: skip


class FakeEvents:
    def __init__(self, *, fail: Exception | None = None, failed_entries: int = 0) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self.fail = fail
        self.failed_entries = failed_entries

    def put_events(self, *, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(Entries)
        if self.fail is not None:
            raise self.fail
        return {
            "FailedEntryCount": self.failed_entries,
            "Entries": [{"ErrorCode": "InternalFailure"}] * self.failed_entries,
        }


def bus(client: FakeEvents) -> tuple[EventBridgeSignals, list[str], list[int]]:
    counted: list[str] = []
    made: list[int] = []

    def factory() -> FakeEvents:
        made.append(1)
        return client

    return EventBridgeSignals(factory, count=counted.append), counted, made


def test_a_counter_regression_is_put_on_the_bus_and_counted() -> None:
    client = FakeEvents()
    sink, counted, made = bus(client)
    sink.emit(signals_for(record("authenticate", "failure", "counter-regression")))
    (entries,) = client.calls
    assert [e["DetailType"] for e in entries] == ["Ceremony Refused", "Counter Regression"]
    assert {(e["Source"], e["EventBusName"]) for e in entries} == {("dev.tapgate", "default")}
    assert json.loads(entries[1]["Detail"])["reason"] == "counter-regression"
    assert counted == [signals.COUNTER_REGRESSION]
    sink.emit([])
    assert made == [1]  # made once, on the first event; nothing sent for nothing


@pytest.mark.parametrize(
    "client",
    [
        FakeEvents(fail=ClientError({"Error": {"Code": "AccessDeniedException"}}, "PutEvents")),
        FakeEvents(fail=EndpointConnectionError(endpoint_url="https://events")),
        FakeEvents(failed_entries=1),
    ],
)
def test_a_failing_bus_is_logged_and_counted_never_raised(
    client: FakeEvents, caplog: pytest.LogCaptureFixture
) -> None:
    sink, counted, _ = bus(client)
    with caplog.at_level(logging.ERROR):
        sink.emit(signals_for(record("authenticate", "failure", "counter-regression")))
    # The regression is counted before the put: its alarm does not depend on EventBridge.
    assert counted == [signals.COUNTER_REGRESSION, signals.EVENT_EMISSION_FAILED]
    assert any(r.levelno == logging.ERROR for r in caplog.records)


class RecordingSink:
    def __init__(self) -> None:
        self.sent: list[Signal] = []

    def emit(self, batch: Any) -> None:
        self.sent.extend(batch)


def test_records_are_signalled_once_written_or_committed() -> None:
    sink = RecordingSink()
    audit = MemoryAudit()
    log = SignallingAuditLog(audit, SignalEmitter(sink))
    log.record(record("authenticate", "failure", "counter-regression"))
    assert [s.detail_type for s in sink.sent] == ["Ceremony Refused", "Counter Regression"]
    assert len(audit.records) == 1
    log.committed(record("revoke", "success"))  # a key's transaction wrote it
    assert sink.sent[-1].detail_type == "Credential Revoked"


def test_a_key_transaction_that_fails_raises_no_event() -> None:
    """The auditor tells the log ``committed`` only once the use case's block ended."""
    sink = RecordingSink()
    auditor = Auditor(SignallingAuditLog(MemoryAudit(), SignalEmitter(sink)), clock=lambda: 0.0)
    caller = Caller(user_name="alice", arn="arn:aws:iam::123456789012:user/alice")
    with pytest.raises(NotFoundError), auditor.attempt("revoke", user="alice", caller=caller) as a:
        auditor.success_record(a)  # handed to a store whose transaction then fails
        raise NotFoundError("No such credential.")
    # Its failure record was written and raised a refusal; no revocation was heard of.
    assert [(s.detail_type, s.detail["outcome"]) for s in sink.sent] == [
        ("Ceremony Refused", "refused")
    ]
    with auditor.attempt("revoke", user="alice", caller=caller) as a:
        auditor.success_record(a)
    assert sink.sent[-1].detail_type == "Credential Revoked"


def test_an_admin_action_is_its_own_event_and_what_the_record_raises() -> None:
    revoked = dataclasses.replace(
        record("revoke", "success"), extra={"adminAction": "revoke-all", "adminReason": "left"}
    )
    assert [s.detail_type for s in signals_for(revoked)] == ["Admin Action", "Credential Revoked"]
    refused = dataclasses.replace(revoked, outcome="failure", reason="assertion: bad")
    assert [s.detail_type for s in signals_for(refused)] == ["Admin Action", "Ceremony Refused"]
