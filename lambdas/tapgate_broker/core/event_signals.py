"""Which audit records a SIEM hears about: EventBridge events derived from the audit trail.

An event is sent after its audit record is written (a key's registration or revocation:
after its transaction committed), never instead of it: the audit table stays the record of
truth, and a failed emission (the sink logs and counts it) never fails the request. The
broker's use cases do not know about the bus: ``wiring`` wraps the audit log in
``SignallingAuditLog``, which hears every record written (``record``) or committed by a
key's transaction (``committed``, from the one auditor).

* a key registered (ok) → ``Credential Registered``; a key revoked (ok) → ``Credential
  Revoked``;
* a ceremony refused → ``Ceremony Refused`` with its reason; a sign counter that did not
  advance also → ``Counter Regression`` (a possible cloned key);
* a record of an admin action (it has the ``adminAction`` detail) → also ``Admin Action``.
"""

from __future__ import annotations

from typing import Any

from tapgate_broker.core.models import AuditRecord
from tapgate_broker.core.ports import AuditLog, Signal, SignalSink
from tapgate_contract import audit_events, signals

# The kinds that are ceremonies (a key's assertion or attestation was checked).
CEREMONY_KINDS = frozenset(
    {
        audit_events.REGISTER,
        audit_events.AUTHENTICATE,
        audit_events.REVOKE,
        audit_events.LIST_KEYS,
    }
)
_OK = audit_events.STORED_OUTCOMES[audit_events.OK]
_REFUSED = audit_events.STORED_OUTCOMES[audit_events.REFUSED]


def signals_for(record: AuditRecord) -> list[Signal]:
    """The events one audit record raises (often none: a sign-in that succeeded raises none)."""
    detail = event_detail(record)
    found: list[Signal] = []
    if audit_events.ADMIN_ACTION in record.extra:
        found.append(Signal(signals.ADMIN_ACTION_EVENT, detail))
    if record.outcome == _OK and record.event == audit_events.REGISTER:
        found.append(Signal(signals.CREDENTIAL_REGISTERED_EVENT, detail))
    elif record.outcome == _OK and record.event == audit_events.REVOKE:
        found.append(Signal(signals.CREDENTIAL_REVOKED_EVENT, detail))
    elif record.outcome == _REFUSED and record.event in CEREMONY_KINDS:
        found.append(Signal(signals.CEREMONY_REFUSED_EVENT, detail))
        if record.reason == audit_events.COUNTER_REGRESSION:
            found.append(Signal(signals.COUNTER_REGRESSION_EVENT, detail))
    return found


def event_detail(record: AuditRecord) -> dict[str, Any]:
    """An event's detail: the audit event's fields (audit_events.FIELDS), nothing more."""
    stored_to_outcome = {v: k for k, v in audit_events.STORED_OUTCOMES.items()}
    detail: dict[str, Any] = {
        "at": record.at,
        "user": record.user_name,
        "kind": record.event,
        "outcome": stored_to_outcome.get(record.outcome, record.outcome),
        "reason": record.reason,
        "roleArn": record.role_arn,
        "sessionSeconds": record.session_seconds,
        "credentialId": record.credential_id,
        "nickname": record.nickname,
        "callerArn": record.caller_arn,
        "sourceIp": record.source_ip,
        "userAgent": record.user_agent,
        "details": dict(record.extra),
    }
    return detail


class SignalEmitter:
    """Sends the events of audit records that were written; never raises for the sink."""

    def __init__(self, sink: SignalSink) -> None:
        self._sink = sink

    def written(self, record: AuditRecord) -> None:
        """``record`` is in the audit table: tell the bus what it raises, if anything."""
        found = signals_for(record)
        if found:
            self._sink.emit(found)


class SignallingAuditLog:
    """An AuditLog that tells the bus about each record once it is written."""

    def __init__(self, inner: AuditLog, emitter: SignalEmitter) -> None:
        self._inner = inner
        self._emitter = emitter

    def record(self, record: AuditRecord) -> None:
        self._inner.record(record)
        self._emitter.written(record)

    def committed(self, record: AuditRecord) -> None:
        self._inner.committed(record)
        self._emitter.written(record)
