"""`tapgate events`: arguments checked before anything is sent, pages followed, and output
that neither a terminal nor a spreadsheet runs."""

from __future__ import annotations

import argparse
import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tapgate.cli.events_cmd import build_query, fetch, render
from tapgate.cli.main import main
from tapgate_contract import audit_events

pytestmark = pytest.mark.usefixtures("isolated_cli")
NOW = datetime(2026, 12, 2, 20, 0, 0, tzinfo=UTC)
ROLE = "arn:aws:iam::123456789012:role/prod-admin"


def args(**given: Any) -> argparse.Namespace:
    base = {"user": None, "role": None, "since": None, "until": None, "kind": None}
    return argparse.Namespace(**{**base, "outcome": None, **given})


def test_the_query_names_each_filter_and_resolves_times() -> None:
    query = build_query(
        args(
            user="alice",
            role=ROLE,
            kind="authenticate",
            outcome="refused",
            since="2h",
            until="2026-12-02T19:30:00+01:00",
        ),
        now=NOW,
    )
    assert query == {
        "user": "alice",
        "role": ROLE,
        "kind": "authenticate",
        "outcome": "refused",
        "since": "2026-12-02T18:00:00Z",
        "until": "2026-12-02T18:30:00Z",
    }
    assert build_query(args(since="7d"), now=NOW) == {"since": "2026-11-25T20:00:00Z"}
    assert build_query(args(since="2026-12-01"), now=NOW) == {"since": "2026-12-01T00:00:00Z"}
    # A fraction of a second is kept (the API takes microseconds).
    fine = build_query(args(until="2026-12-01T10:00:00.25+00:00"), now=NOW)
    assert fine == {"until": "2026-12-01T10:00:00.250000Z"}


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--user", "x"], "--user must be a user name"),
        (["--role", "arn:aws:iam::123456789012:user/alice"], "--role must be an IAM role ARN"),
        (["--kind", "DROP TABLE"], "--kind must be a word"),
        (["--since", "yesterday"], "--since must be like 2h"),
        (["--since", "0h"], "--since must be like 2h"),
        (["--until", "2026-13-01"], "--until must be like 2h"),
        (["--since", "1h", "--until", "2h"], "--since must not be after --until"),
    ],
)
def test_bad_values_are_one_line_and_exit_2_before_any_request(
    argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # An API URL nothing answers at: a request would fail otherwise, not with exit 2.
    assert main(["events", "--api-url", "http://127.0.0.1:9", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("tapgate: ") and fragment in line


@pytest.mark.parametrize(
    "argv",
    [["--outcome", "success"], ["--format", "xml"], ["--limit", "0"], ["--limit", "many"]],
)
def test_bad_choices_are_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["events", *argv])
    assert exit_info.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_pages_are_followed_up_to_the_limit() -> None:
    asked: list[dict[str, str]] = []

    def page(query: dict[str, str]) -> dict[str, Any]:
        asked.append(dict(query))
        n = len(asked)
        return {"events": [{"at": f"t{n}a"}, {"at": f"t{n}b"}], "next": f"token{n}"}

    events = fetch(page, {"kind": "revoke"}, limit=5)
    assert [e["at"] for e in events] == ["t1a", "t1b", "t2a", "t2b", "t3a"]
    assert asked == [
        {"kind": "revoke", "limit": "5"},
        {"next": "token1", "limit": "3"},
        {"next": "token2", "limit": "1"},
    ]


EVENT = {
    "at": "2026-12-02T19:00:00.000000Z",
    "user": "mallory",
    "kind": "authenticate",
    "outcome": "refused",
    "reason": "counter-regression",
    "roleArn": ROLE,
    "sessionSeconds": None,
    "credentialId": "AAAAAAAAAAAAAAAAAAAA",
    "nickname": "yubi\x1b[2J",
    "callerArn": "arn:aws:iam::123456789012:user/mallory",
    "sourceIp": "192.0.2.1",
    "userAgent": '=HYPERLINK("http://evil")\x1b[2J',
    "details": {"storedCounter": "7", "receivedCounter": "7"},
}


def test_csv_has_every_field_and_no_formula() -> None:
    rows = list(csv.reader(io.StringIO(render([EVENT], "csv"))))
    assert rows[0] == list(audit_events.FIELDS)
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["userAgent"].startswith("'=HYPERLINK")
    assert json.loads(row["details"]) == EVENT["details"]


def test_the_table_has_no_control_characters_and_json_is_whole() -> None:
    table = render([EVENT], "table")
    assert "\x1b" not in table
    assert "yubi?[2J" in table and "counter-regression" in table
    assert "AAAAAAAAAAAA" in render([{**EVENT, "nickname": ""}], "table")
    assert json.loads(render([EVENT], "json")) == {"events": [EVENT]}
    assert render([], "table") == "No events match.\n"
