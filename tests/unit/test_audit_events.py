"""Reading the audit trail (core/events) on the in-memory audit log: who sees what, the
filters, the page token, and every bad parameter refused before any read."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tapgate_broker.core.errors import BadRequestError, ForbiddenError
from tapgate_broker.core.events import EventReader
from tapgate_broker.core.models import AuditRecord, Caller
from tests.support.fakes import MemoryAudit

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z
ADMIN = "carol"
ROLE = "arn:aws:iam::123456789012:role/prod-admin"
OTHER_ROLE = "arn:aws:iam::123456789012:role/dev"


def caller(name: str) -> Caller:
    return Caller(user_name=name, arn=f"arn:aws:iam::123456789012:user/{name}")


def record(user: str, at: str, event: str = "authenticate", outcome: str = "success", **kw: Any):
    return AuditRecord(
        user_name=user, caller_arn=caller(user).arn or "", at=at, event=event, outcome=outcome, **kw
    )


@pytest.fixture
def audit() -> MemoryAudit:
    log = MemoryAudit()
    for r in (
        record("alice", "2027-01-13T10:00:00.000000Z", "register"),
        record("bob", "2027-01-14T09:00:00.000000Z", role_arn=ROLE, session_seconds=3600),
        record("alice", "2027-01-15T07:00:00.000000Z", role_arn=ROLE),
        record(
            "alice",
            "2027-01-15T07:30:00.000000Z",
            outcome="failure",
            role_arn=OTHER_ROLE,
            reason="counter-regression",
        ),
    ):
        log.record(r)
    return log


@pytest.fixture
def written() -> MemoryAudit:
    """Where the reader audits its own queries (apart, so that pages stay comparable)."""
    return MemoryAudit()


@pytest.fixture
def reader(audit: MemoryAudit, written: MemoryAudit) -> EventReader:
    return EventReader(reader=audit, audit=written, admins=(ADMIN,), clock=lambda: NOW)


def seen(page: Any) -> list[tuple[str, str]]:
    return [(e.user, e.at) for e in page.events]


def test_an_admin_reads_everyones_events_newest_first_across_days(reader: EventReader) -> None:
    page = reader.events(caller(ADMIN), {"since": "2027-01-13T00:00:00Z"})
    assert seen(page) == [
        ("alice", "2027-01-15T07:30:00.000000Z"),
        ("alice", "2027-01-15T07:00:00.000000Z"),
        ("bob", "2027-01-14T09:00:00.000000Z"),
        ("alice", "2027-01-13T10:00:00.000000Z"),
    ]
    assert page.next_token is None
    assert page.events[0].outcome == "refused" and page.events[0].reason == "counter-regression"
    assert page.events[2].session_seconds == 3600


def test_pages_follow_each_other_without_gaps_or_repeats(reader: EventReader) -> None:
    everything = seen(reader.events(caller(ADMIN), {"since": "2027-01-13T00:00:00Z"}))
    pages: list[tuple[str, str]] = []
    params = {"since": "2027-01-13T00:00:00Z", "limit": "1"}
    for _ in range(10):
        page = reader.events(caller(ADMIN), params)
        pages += seen(page)
        if page.next_token is None:
            break
        params = {"next": page.next_token, "limit": "1"}
    assert pages == everything


def test_anyone_else_reads_only_their_own(reader: EventReader, written: MemoryAudit) -> None:
    page = reader.events(caller("bob"), {"since": "2027-01-13T00:00:00Z"})
    assert seen(page) == [("bob", "2027-01-14T09:00:00.000000Z")]
    with pytest.raises(ForbiddenError):
        reader.events(caller("bob"), {"user": "alice"})
    refused = written.records[-1]
    assert (refused.user_name, refused.event, refused.outcome) == ("bob", "events-query", "failure")
    assert "user=alice" in refused.extra["query"]


def test_a_page_token_is_authorized_like_a_parameter(reader: EventReader) -> None:
    """An admin's token for alice's events, replayed by bob, is refused (403)."""
    page = reader.events(
        caller(ADMIN), {"user": "alice", "since": "2027-01-13T00:00:00Z", "limit": "1"}
    )
    assert page.next_token is not None
    with pytest.raises(ForbiddenError):
        reader.events(caller("bob"), {"next": page.next_token})


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "register"}, [("alice", "2027-01-13T10:00:00.000000Z")]),
        ({"outcome": "refused"}, [("alice", "2027-01-15T07:30:00.000000Z")]),
        (
            {"role": ROLE},
            [("alice", "2027-01-15T07:00:00.000000Z"), ("bob", "2027-01-14T09:00:00.000000Z")],
        ),
        ({"user": "bob"}, [("bob", "2027-01-14T09:00:00.000000Z")]),
        (
            {"until": "2027-01-14T09:00:00Z"},
            [("bob", "2027-01-14T09:00:00.000000Z"), ("alice", "2027-01-13T10:00:00.000000Z")],
        ),
    ],
)
def test_filters(reader: EventReader, params: dict[str, str], expected: list) -> None:
    page = reader.events(caller(ADMIN), {"since": "2027-01-13T00:00:00Z", **params})
    assert seen(page) == expected


def test_the_default_window_is_the_last_day(reader: EventReader) -> None:
    assert seen(reader.events(caller(ADMIN), {})) == [
        ("alice", "2027-01-15T07:30:00.000000Z"),
        ("alice", "2027-01-15T07:00:00.000000Z"),
        ("bob", "2027-01-14T09:00:00.000000Z"),  # 23 hours before NOW
    ]


def test_the_query_is_audited(reader: EventReader, written: MemoryAudit) -> None:
    reader.events(caller(ADMIN), {"kind": "register", "since": "2027-01-13T00:00:00Z"})
    (query,) = written.records
    assert (query.user_name, query.outcome) == (ADMIN, "success")
    assert query.extra["query"].startswith("kind=register since=2027-01-13T00:00:00")


def _token(document: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


GOOD_QUERY = {
    "user": None,
    "role": None,
    "kind": None,
    "outcome": None,
    "since": "2027-01-13T00:00:00.000000Z",
    "until": "2027-01-15T08:00:00.000000Z",
}


@pytest.mark.parametrize(
    "params",
    [
        {"color": "red"},
        {"limit": "0"},
        {"limit": "201"},
        {"limit": "ten"},
        {"limit": "-1"},
        {"since": "yesterday"},
        {"since": "2027-01-15"},
        {"since": "2027-02-30T00:00:00Z"},
        {"since": "2027-01-15T00:00:00+01:00"},
        {"since": "2027-01-15T00:00:00Z", "until": "2027-01-14T00:00:00Z"},
        {"kind": "Authenticate"},
        {"kind": "a" * 40},
        {"outcome": "success"},
        {"user": "x"},
        {"user": "alice\n"},
        {"role": "arn:aws:iam::123456789012:user/alice"},
        {"role": "r" * 3000},
        {"next": "not-a-token!"},
        {"next": "x" * 3000},
        {"next": _token({"v": 1, "q": GOOD_QUERY, "p": ["2027-01-14", "", ""], "x": 1})},
        {"next": _token({"v": 2, "q": GOOD_QUERY, "p": ["2027-01-14", "", ""]})},
        {
            "next": _token(
                {"v": 1, "q": {**GOOD_QUERY, "kind": "DROP"}, "p": ["2027-01-14", "", ""]}
            )
        },
        {"next": _token({"v": 1, "q": GOOD_QUERY, "p": ["2027-01-14", "bob", "2027-01-14"]})},
        {"next": _token({"v": 1, "q": GOOD_QUERY, "p": ["2026-01-01", "", ""]})},
        {
            "next": _token(
                {
                    "v": 1,
                    "q": GOOD_QUERY,
                    "p": ["2027-01-14", "bob", "2027-01-13T00:00:00.000000Z#00000000"],
                }
            )
        },
        {"next": _token({"v": 1, "q": GOOD_QUERY, "p": ["2027-01-14", "", ""]}), "kind": "revoke"},
    ],
)
def test_bad_parameters_are_refused_before_any_read(params: dict[str, str]) -> None:
    reads: list[str] = []

    class CountingAudit(MemoryAudit):
        def user_events(self, *args: Any, **kwargs: Any) -> Any:
            reads.append("user")
            return super().user_events(*args, **kwargs)

        def day_events(self, *args: Any, **kwargs: Any) -> Any:
            reads.append("day")
            return super().day_events(*args, **kwargs)

    counting = CountingAudit()
    reader = EventReader(reader=counting, audit=counting, admins=(ADMIN,), clock=lambda: NOW)
    with pytest.raises(BadRequestError):
        reader.events(caller(ADMIN), params)
    assert reads == []


def test_a_well_formed_token_of_ones_own_continues(reader: EventReader) -> None:
    """The negative cases above change one thing each from this token."""
    token = _token({"v": 1, "q": GOOD_QUERY, "p": ["2027-01-14", "", ""]})
    page = reader.events(caller(ADMIN), {"next": token})
    assert seen(page) == [
        ("bob", "2027-01-14T09:00:00.000000Z"),
        ("alice", "2027-01-13T10:00:00.000000Z"),
    ]


def test_a_window_of_centuries_reads_a_bounded_number_of_days(audit: MemoryAudit) -> None:
    days: list[str] = []

    class DayCounting(MemoryAudit):
        def day_events(self, day: str, **kwargs: Any) -> Any:
            days.append(day)
            return audit.day_events(day, **kwargs)

    reader = EventReader(
        reader=DayCounting(), audit=MemoryAudit(), admins=(ADMIN,), clock=lambda: NOW
    )
    page = reader.events(
        caller(ADMIN), {"since": "0001-01-01T00:00:00Z", "until": "9999-12-31T23:59:59Z"}
    )
    # From tomorrow (nothing is newer) back, one read per day, at most 8 reads a page.
    assert days == [f"2027-01-{d:02d}" for d in range(16, 8, -1)]
    assert len(page.events) == 4
    assert page.next_token is not None
