"""Reading the audit trail: ``GET /v1/admin/events``'s use case.

An admin reads everyone's events (the audit table's day index, newest day first); any other
caller reads only their own (the table's key). Every parameter is checked before any read,
and so is the page token: it is strictly parsed, bound to the query it continues and
re-authorized like a parameter, so a client can never hand DynamoDB a start key of its own.
Reading is itself audited (kind ``events-query``), refused reads too.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from tapgate_broker.core import enrollment
from tapgate_broker.core.audit import Auditor
from tapgate_broker.core.errors import BadRequestError, ForbiddenError
from tapgate_broker.core.models import (
    AuditEvent,
    Caller,
    EventFilter,
    Position,
)
from tapgate_broker.core.ports import AuditLog, AuditReader, Clock
from tapgate_broker.core.principals import ROLE_ARN
from tapgate_broker.core.user_names import is_user_name
from tapgate_contract import audit_events
from tapgate_contract.limits import AUDIT_RETENTION_DAYS

# What a client may send as a time, and the precise form the audit table sorts by.
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z", re.ASCII)
_STORED_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z#[0-9a-f]{8}", re.ASCII)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_KIND = re.compile(audit_events.KIND_PATTERN, re.ASCII)
_LIMIT = re.compile(r"[1-9][0-9]{0,3}", re.ASCII)
_TOKEN_VERSION = 1
# Reads per page: each is one DynamoDB Query (a filter may leave a read short, and an admin's
# window may hold empty days); past this the page ends early with a token to go on from.
MAX_READS_PER_PAGE = 8


@dataclass(frozen=True)
class EventPage:
    events: tuple[AuditEvent, ...]
    next_token: str | None


@dataclass(frozen=True)
class EventQuery:
    filter: EventFilter
    limit: int
    start: Position | None


def parse_query(params: Mapping[str, str], *, now: float) -> EventQuery:
    """The query parameters, checked (400 on anything else), with the window resolved."""
    unknown = sorted(set(params) - set(audit_events.QUERY_PARAMETERS))
    if unknown:
        raise BadRequestError(f"unknown query parameter {unknown[0][:32]!r}")
    for name, value in params.items():
        if len(value) > audit_events.MAX_PARAMETER_LENGTH:
            raise BadRequestError(f"{name} is too long")
    limit = audit_events.DEFAULT_PAGE_SIZE
    if "limit" in params:
        if not _LIMIT.fullmatch(params["limit"]) or int(params["limit"]) > (
            audit_events.MAX_PAGE_SIZE
        ):
            raise BadRequestError(
                f"limit must be an integer from 1 to {audit_events.MAX_PAGE_SIZE}"
            )
        limit = int(params["limit"])
    given = _filter_fields(params)
    if "next" in params:
        token_filter, start = _decode_token(params["next"])
        for name, asked in given.items():
            if asked is not None and getattr(token_filter, name) != asked:
                raise BadRequestError(f"{name} differs from the query the page token continues")
        return EventQuery(filter=token_filter, limit=limit, start=start)
    until = given["until"] or _iso(now)
    since = given["since"] or _iso(_epoch(until) - audit_events.DEFAULT_WINDOW_SECONDS)
    if since > until:
        raise BadRequestError("since must not be after until")
    resolved = EventFilter(
        user=given["user"],
        role_arn=given["role_arn"],
        kind=given["kind"],
        outcome=given["outcome"],
        since=since,
        until=until,
    )
    return EventQuery(filter=resolved, limit=limit, start=None)


def _filter_fields(params: Mapping[str, str]) -> dict[str, str | None]:
    user = params.get("user")
    if user is not None and not is_user_name(user):
        raise BadRequestError("user must be a tapgate user name")
    role = params.get("role")
    if role is not None and (len(role) > 2048 or not ROLE_ARN.fullmatch(role)):
        raise BadRequestError("role must be an IAM role ARN")
    kind = params.get("kind")
    if kind is not None and not _KIND.fullmatch(kind):
        raise BadRequestError("kind must be a word of lowercase letters and dashes")
    outcome = params.get("outcome")
    if outcome is not None and outcome not in audit_events.OUTCOMES:
        raise BadRequestError(f"outcome must be one of {', '.join(audit_events.OUTCOMES)}")
    return {
        "user": user,
        "role_arn": role,
        "kind": kind,
        "outcome": outcome,
        "since": _time(params, "since"),
        "until": _time(params, "until"),
    }


def _time(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not _TIME.fullmatch(value):
        raise BadRequestError(f"{name} must be an ISO 8601 UTC time like 2026-01-31T08:00:00Z")
    try:
        moment = datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError as exc:
        raise BadRequestError(f"{name} is not a valid time") from exc
    fraction = value[20:-1] if "." in value else ""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + fraction.ljust(6, "0") + "Z"


class EventReader:
    """Answers event queries for a caller: authorizes, reads page by page, audits."""

    def __init__(
        self,
        *,
        reader: AuditReader,
        audit: AuditLog,
        admins: tuple[str, ...],
        clock: Clock,
        retention_days: int = AUDIT_RETENTION_DAYS,
    ) -> None:
        self._reader = reader
        self._auditor = Auditor(audit, clock=clock)
        self._admins = admins
        self._clock = clock
        self._retention_days = retention_days

    def events(self, caller: Caller, params: Mapping[str, str]) -> EventPage:
        """One page of the events ``params`` ask for, newest first."""
        if caller.user_name is None:
            raise ForbiddenError("This route needs a signed (SigV4) request.")
        with self._auditor.attempt(
            audit_events.EVENTS_QUERY, user=caller.user_name, caller=caller
        ) as attempt:
            query = parse_query(params, now=self._clock())
            attempt.extra["query"] = _describe(query.filter)
            return self._read(self._authorize(caller, query))

    def _authorize(self, caller: Caller, query: EventQuery) -> EventQuery:
        if enrollment.is_admin(caller.arn, self._admins, role_arn=caller.role_arn):
            return query
        wanted = query.filter.user
        if wanted is not None and wanted != caller.user_name:
            raise ForbiddenError("Only an admin may read another user's events.")
        if wanted is None:
            return replace(query, filter=replace(query.filter, user=caller.user_name))
        return query

    def _read(self, query: EventQuery) -> EventPage:
        wanted = query.filter
        now = self._clock()
        # Nothing older than the retention period or newer than tomorrow exists: the days
        # read are bounded whatever the window says.
        oldest = _iso(now - self._retention_days * 86400)
        newest = _iso(now + 86400)
        days = _days(max(wanted.since, oldest), min(wanted.until, newest))
        start = query.start
        if start is not None:
            self._check_position(wanted, start, days)
        events: list[AuditEvent] = []
        if wanted.user is not None:
            cursor = start if start is not None and start.at else None
            for _ in range(MAX_READS_PER_PAGE):
                found, cursor = self._reader.user_events(
                    wanted.user, filter=wanted, limit=query.limit - len(events), start=cursor
                )
                events.extend(found)
                if cursor is None or len(events) >= query.limit:
                    break
            return self._page(wanted, events[: query.limit], cursor)
        remaining = [d for d in days if start is None or d <= start.day]
        cursor = start
        reads = 0
        while remaining and reads < MAX_READS_PER_PAGE and len(events) < query.limit:
            day = remaining[0]
            reads += 1
            found, cursor = self._reader.day_events(
                day,
                filter=wanted,
                limit=query.limit - len(events),
                start=cursor if cursor is not None and cursor.day == day else None,
            )
            events.extend(found)
            if cursor is None:
                remaining.pop(0)
        if cursor is None and remaining:
            # The next page starts at the top of the next day: a position before its first item.
            cursor = Position(day=remaining[0], user="", at="")
        return self._page(wanted, events[: query.limit], cursor)

    def _check_position(self, wanted: EventFilter, start: Position, days: list[str]) -> None:
        """A token's position must lie inside the query it continues."""
        if start.day not in days:
            raise BadRequestError("the page token does not belong to this query")
        if wanted.user is not None and start.user not in ("", wanted.user):
            raise BadRequestError("the page token does not belong to this query")

    def _page(
        self, wanted: EventFilter, events: list[AuditEvent], cursor: Position | None
    ) -> EventPage:
        token = _encode_token(wanted, cursor) if cursor is not None else None
        return EventPage(events=tuple(events), next_token=token)


def _describe(wanted: EventFilter) -> str:
    """The query as asked, for its own audit record."""
    asked = {
        "user": wanted.user,
        "role": wanted.role_arn,
        "kind": wanted.kind,
        "outcome": wanted.outcome,
        "since": wanted.since,
        "until": wanted.until,
    }
    return " ".join(f"{k}={v}" for k, v in asked.items() if v)[:1024]


# -- the page token ------------------------------------------------------------------------


def _encode_token(wanted: EventFilter, position: Position) -> str:
    document = {
        "v": _TOKEN_VERSION,
        "q": {
            "user": wanted.user,
            "role": wanted.role_arn,
            "kind": wanted.kind,
            "outcome": wanted.outcome,
            "since": wanted.since,
            "until": wanted.until,
        },
        "p": [position.day, position.user, position.at],
    }
    raw = json.dumps(document, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> tuple[EventFilter, Position]:
    """Strictly: every field checked as a parameter would be, nothing else accepted."""
    bad = BadRequestError("next is not a page token this route gave out")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        document = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise bad from exc
    if not isinstance(document, dict) or set(document) != {"v", "q", "p"}:
        raise bad
    query, position = document["q"], document["p"]
    if (
        document["v"] != _TOKEN_VERSION
        or not isinstance(query, dict)
        or set(query) != {"user", "role", "kind", "outcome", "since", "until"}
        or not all(v is None or isinstance(v, str) for v in query.values())
        or not isinstance(position, list)
        or len(position) != 3
        or not all(isinstance(p, str) for p in position)
    ):
        raise bad
    params = {k: v for k, v in query.items() if v is not None}
    if "since" not in params or "until" not in params:
        raise bad
    try:
        fields = _filter_fields(params)
    except BadRequestError as exc:
        raise bad from exc
    wanted = EventFilter(
        user=fields["user"],
        role_arn=fields["role_arn"],
        kind=fields["kind"],
        outcome=fields["outcome"],
        since=str(fields["since"]),
        until=str(fields["until"]),
    )
    day, user, at = position
    top_of_day = user == "" and at == ""
    if (
        not _DAY.fullmatch(day)
        or not (top_of_day or (is_user_name(user) and _STORED_AT.fullmatch(at)))
        or (at and at[:10] != day)
        or wanted.since > wanted.until
    ):
        raise bad
    return wanted, Position(day=day, user=user, at=at)


# -- time helpers ---------------------------------------------------------------------------


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _epoch(iso: str) -> float:
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


def _day(iso: str) -> str:
    return iso[:10]


def _days(since: str, until: str) -> list[str]:
    """The UTC days from ``until``'s back to ``since``'s, newest first (empty if none)."""
    first = datetime.strptime(_day(since), "%Y-%m-%d")
    day = datetime.strptime(_day(until), "%Y-%m-%d")
    days = []
    while day >= first:
        days.append(day.strftime("%Y-%m-%d"))
        day -= timedelta(days=1)
    return days
