"""`tapgate events`: the audit trail, filtered, as a table, JSON or CSV.

Admins see everyone's events; anyone else sees their own (``--user`` naming someone else is
refused by the API with 403). Arguments are checked here first: a bad one is one line on
stderr and exit 2, before anything is signed or sent.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from tapgate.cli.errors import UsageError
from tapgate_contract import audit_events
from tapgate_contract.identity import USER_NAME_PATTERN

FORMATS = ("table", "json", "csv")
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
_RELATIVE = re.compile(r"(?P<amount>[1-9][0-9]{0,4})(?P<unit>[mhd])", re.ASCII)
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
_USER = re.compile(USER_NAME_PATTERN, re.ASCII)
_ROLE = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}", re.ASCII)
_KIND = re.compile(audit_events.KIND_PATTERN, re.ASCII)
# Cells a spreadsheet would run as a formula (CSV injection): the user agent is the caller's.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
TABLE_COLUMNS = (
    ("at", "TIME"),
    ("user", "USER"),
    ("kind", "KIND"),
    ("outcome", "OUTCOME"),
    ("reason", "REASON"),
    ("roleArn", "ROLE"),
    ("key", "KEY"),
    ("sourceIp", "SOURCE IP"),
)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", metavar="NAME", help="only this user's events")
    parser.add_argument("--role", metavar="ARN", help="only events for this gated role")
    parser.add_argument(
        "--since", metavar="2h|ISO", help="from this time: 30m, 2h, 7d ago or ISO 8601 (24h)"
    )
    parser.add_argument("--until", metavar="2h|ISO", help="up to this time (default: now)")
    parser.add_argument(
        "--kind", metavar="KIND", help=f"one kind: {', '.join(audit_events.KINDS)}, ..."
    )
    parser.add_argument("--outcome", choices=audit_events.OUTCOMES, help="ok or refused")
    parser.add_argument("--format", choices=FORMATS, default="table", help="default: table")
    parser.add_argument(
        "--limit",
        type=_limit,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"at most N events, newest first (default {DEFAULT_LIMIT})",
    )


def run(args: argparse.Namespace) -> int:
    query = build_query(args, now=datetime.now(tz=UTC))
    from tapgate.cli import ceremony  # noqa: PLC0415

    api = ceremony.open_session(args).api
    events = fetch(api.events, query, limit=args.limit)
    print(render(events, args.format), end="")
    return 0


def build_query(args: argparse.Namespace, *, now: datetime) -> dict[str, str]:
    """The API's query parameters, each checked (UsageError names the bad one)."""
    query: dict[str, str] = {}
    if args.user is not None:
        if not _USER.fullmatch(args.user):
            raise UsageError(f"--user must be a user name, not {args.user[:80]!r}")
        query["user"] = args.user
    if args.role is not None:
        if not _ROLE.fullmatch(args.role):
            raise UsageError(f"--role must be an IAM role ARN, not {args.role[:80]!r}")
        query["role"] = args.role
    if args.kind is not None:
        if not _KIND.fullmatch(args.kind):
            raise UsageError(f"--kind must be a word like authenticate, not {args.kind[:80]!r}")
        query["kind"] = args.kind
    if args.outcome is not None:
        query["outcome"] = args.outcome
    for name in ("since", "until"):
        value = getattr(args, name)
        if value is not None:
            query[name] = parse_time(value, now=now, option=f"--{name}")
    if "since" in query and "until" in query and query["since"] > query["until"]:
        raise UsageError("--since must not be after --until")
    return query


def parse_time(value: str, *, now: datetime, option: str) -> str:
    """``30m``/``2h``/``7d`` ago, or an ISO 8601 time (UTC unless it has an offset)."""
    relative = _RELATIVE.fullmatch(value)
    if relative:
        moment = now - timedelta(**{_UNITS[relative["unit"]]: int(relative["amount"])})
    else:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise UsageError(
                f"{option} must be like 2h, 30m, 7d or 2026-01-31T08:00:00Z, not {value[:80]!r}"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    try:
        utc = moment.astimezone(UTC)
        fraction = f".{utc.microsecond:06d}" if utc.microsecond else ""
        return utc.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"
    except (OverflowError, ValueError):
        raise UsageError(f"{option} is out of range: {value[:80]!r}") from None


def fetch(
    page: Callable[[Mapping[str, str]], dict[str, Any]], query: Mapping[str, str], *, limit: int
) -> list[dict[str, Any]]:
    """Up to ``limit`` events, following the API's page tokens."""
    events: list[dict[str, Any]] = []
    asked = dict(query)
    while len(events) < limit:
        asked["limit"] = str(min(limit - len(events), audit_events.MAX_PAGE_SIZE))
        answer = page(asked)
        events += [e for e in answer.get("events", []) if isinstance(e, dict)]
        token = answer.get("next")
        if not isinstance(token, str) or not token:
            break
        asked = {"next": token}
    return events[:limit]


def render(events: Sequence[Mapping[str, Any]], output: str) -> str:
    if output == "json":
        return json.dumps({"events": list(events)}, indent=2) + "\n"
    if output == "csv":
        return render_csv(events)
    return render_table(events)


def render_csv(events: Sequence[Mapping[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(audit_events.FIELDS)
    for event in events:
        writer.writerow([_csv_cell(event.get(name)) for name in audit_events.FIELDS])
    return buffer.getvalue()


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    text = json.dumps(value, sort_keys=True) if isinstance(value, dict) else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def render_table(events: Sequence[Mapping[str, Any]]) -> str:
    if not events:
        return "No events match.\n"
    rows = [[title for _, title in TABLE_COLUMNS]]
    for event in events:
        cells = {**event, "key": event.get("nickname") or _short(event.get("credentialId"))}
        rows.append([_printable(cells.get(key)) for key, _ in TABLE_COLUMNS])
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_COLUMNS))]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        + "\n"
        for row in rows
    )


def _short(credential_id: object) -> str:
    return str(credential_id)[:12] if credential_id else ""


def _printable(value: object) -> str:
    """A cell for a terminal: no control characters (escape sequences) from the API."""
    text = "" if value is None else str(value)
    return "".join(c if c.isprintable() else "?" for c in text)


def _limit(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_LIMIT}")
    return int(value)
