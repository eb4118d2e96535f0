"""The audit trail's one writer: every use case's outcome, success or failure, once.

``with auditor.attempt("authenticate", user=..., caller=...) as attempt:`` records the
failure when the block raises a TapgateError, and the success when it ends, unless the
block handed the success record to a store (``attempt.success_record()``) to be written in
the same transaction as the change it attests (the log hears ``committed`` once the block
ended, so the transaction wrote it). A success record whose write fails (a
TapgateError from the audit log) is followed by a failure record, so a used ceremony is
never without a trace. Bugs (any other exception) are not recorded: they surface as such.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from fido2.utils import websafe_encode

from tapgate_broker.core.clock import iso_now
from tapgate_broker.core.errors import TapgateError
from tapgate_broker.core.models import ANONYMOUS, AuditRecord, Caller
from tapgate_broker.core.ports import AuditLog, Clock

UNKNOWN_USER = "-unknown-"
MAX_TEXT = 512  # user agent and reason, as stored


@dataclass
class Attempt:
    """One audited attempt; its facts may be learned while it runs (a passkey's owner)."""

    event: str
    caller: Caller
    user: str | None
    credential_id: bytes = b""
    role_arn: str = ""
    nickname: str = ""  # the key's, once known
    session_seconds: int | None = None  # an issued session's duration, once issued
    extra: dict[str, str] = field(default_factory=dict)  # on every record of the attempt
    success_facts: dict[str, str] = field(default_factory=dict)  # the success record's extra
    # Success records handed to a store's transactions (revoke-all hands one per key).
    handed: list[AuditRecord] = field(default_factory=list)


class Auditor:
    """Builds audit records from the clock and writes them through the audit log port."""

    def __init__(self, log: AuditLog, *, clock: Clock) -> None:
        self._log = log
        self._clock = clock

    @contextmanager
    def attempt(
        self,
        event: str,
        *,
        user: str | None,
        caller: Caller,
        credential_id: bytes = b"",
        role_arn: str = "",
        extra: Mapping[str, str] | None = None,
    ) -> Iterator[Attempt]:
        attempt = Attempt(
            event=event,
            caller=caller,
            user=user,
            credential_id=credential_id,
            role_arn=role_arn,
            extra=dict(extra or {}),
        )
        try:
            yield attempt
            for record in attempt.handed:
                self._log.committed(record)  # the store's transaction wrote it
            if not attempt.handed:
                self._log.record(self._record(attempt, "success", extra=attempt.success_facts))
        except TapgateError as exc:
            self._log.record(
                self._record(attempt, "failure", reason=exc.reason, extra=exc.audit_facts)
            )
            raise

    def success_record(
        self,
        attempt: Attempt,
        *,
        credential_id: bytes | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> AuditRecord:
        """The success record for a store to write with its change (then not written again).

        ``credential_id`` and ``extra`` belong to the success only (the key a registration
        stored), not to a failure record of the same attempt.
        """
        facts = {**attempt.success_facts, **(extra or {})}
        record = self._record(attempt, "success", credential_id=credential_id, extra=facts)
        attempt.handed.append(record)
        return record

    def record(
        self, event: str, *, user: str, caller: Caller, extra: Mapping[str, str] | None = None
    ) -> None:
        """Write a record of an event that has no failure to tell (an issued link)."""
        attempt = Attempt(event=event, caller=caller, user=user)
        self._log.record(self._record(attempt, "success", extra=extra))

    def _record(
        self,
        attempt: Attempt,
        outcome: str,
        *,
        reason: str = "",
        credential_id: bytes | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> AuditRecord:
        caller = attempt.caller
        credential_id = attempt.credential_id if credential_id is None else credential_id
        extra = attempt.extra if extra is None else extra
        return AuditRecord(
            user_name=attempt.user or UNKNOWN_USER,
            caller_arn=caller.arn or ANONYMOUS,
            at=iso_now(self._clock, precise=True),
            event=attempt.event,
            outcome=outcome,
            credential_id=websafe_encode(credential_id) if credential_id else "",
            role_arn=attempt.role_arn,
            source_ip=caller.source_ip,
            user_agent=caller.user_agent[:MAX_TEXT],
            reason=reason[:MAX_TEXT],
            session_seconds=attempt.session_seconds,
            nickname=attempt.nickname,
            extra={**attempt.extra, **(extra or {})},
        )
