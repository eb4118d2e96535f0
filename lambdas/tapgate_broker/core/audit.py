"""The audit trail's one writer: every use case's outcome, success or failure, once.

``with auditor.attempt("authenticate", user=..., caller=...) as attempt:`` records the
failure when the block raises a TapgateError, and the success when it ends, unless the
block handed the success record to a store (``attempt.success_record()``) to be written in
the same transaction as the change it attests. A success record whose write fails (a
TapgateError from the audit log) is followed by a failure record, so a used ceremony is
never without a trace. Bugs (any other exception) are not recorded: they surface as such.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

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
    extra: Mapping[str, str] | None = None  # on both records (how a sign-in came)
    written: bool = False  # the success record went into a store's transaction


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
            extra=extra,
        )
        try:
            yield attempt
            if not attempt.written:
                self._log.record(self._record(attempt, "success"))
        except TapgateError as exc:
            self._log.record(self._record(attempt, "failure", reason=exc.reason))
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
        attempt.written = True
        return self._record(attempt, "success", credential_id=credential_id, extra=extra)

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
            extra=dict(extra or {}),
        )
