"""`tapgate admin report`: rendering and the trust section, without a network."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace
from typing import Any

import pytest

from tapgate.cli import admin_cmd
from tapgate.client import iam

ROLE = "arn:aws:iam::123456789012:role/prod"
OTHER = "arn:aws:iam::222233334444:role/prod"
REPORT: dict[str, Any] = {
    "generatedAt": "2026-12-02T00:00:00Z",
    "unusedDays": 30,
    "users": [{"userName": "alice", "keyCount": 1}],
    "unusedKeys": [],
    "keysByAaguid": [{"aaguid": "00000000-0000-0000-0000-000000000000", "keyCount": 1}],
    "keys": [
        {
            "userName": "alice",
            "credentialId": "-4ybjXYZ_abc",
            "nickname": '=HYPERLINK("x")',
            "aaguid": "00000000-0000-0000-0000-000000000000",
            "createdAt": "2026-01-01T00:00:00Z",
            "lastUsedAt": None,
        }
    ],
}


def test_trust_policies_name_exact_users_and_patterns() -> None:
    document = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Condition": {"StringLike": {"sts:SourceIdentity": ["alice", "bob", "deploy-*"]}},
            },
            {
                "Effect": "Allow",
                "Action": "sts:SetSourceIdentity",
                "Condition": {"StringLike": {"sts:SourceIdentity": ["carol"]}},
            },
            {
                "Effect": "Deny",
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:SourceIdentity": "dan"}},
            },
        ]
    }
    assert iam._source_identities(document) == ["alice", "bob", "deploy-*"]


def test_the_trust_section_lists_who_has_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {ROLE: (["alice", "bob", "deploy-*"], ""), OTHER: (None, "NoSuchEntity")}
    monkeypatch.setattr(
        iam, "trusted_source_identities", lambda *, role_arn, **_: answers[role_arn]
    )
    session = SimpleNamespace(
        local_state=None,
        base_credentials=None,
        api=SimpleNamespace(region="us-east-1", roles=lambda: [{"arn": ROLE}, {"arn": OTHER}]),
    )
    trust = admin_cmd.trust_section(session, REPORT)
    assert trust == {
        "allowedWithoutKey": [{"roleArn": ROLE, "userName": "bob"}],
        "patterns": [{"roleArn": ROLE, "pattern": "deploy-*"}],
        "unreadableRoles": [{"roleArn": OTHER, "why": "NoSuchEntity"}],
    }
    table = admin_cmd.render_report({**REPORT, "trust": trust}, "table")
    assert "without a key" in table and "bob" in table and "NoSuchEntity" in table


def test_csv_has_one_row_per_key_and_no_formula() -> None:
    rows = list(csv.reader(io.StringIO(admin_cmd.render_report(REPORT, "csv"))))
    assert rows[0] == [*admin_cmd.CSV_COLUMNS, "unused"]
    assert rows[1][:3] == ["alice", "-4ybjXYZ_abc", '\'=HYPERLINK("x")']
    assert rows[1][-1] == "false"


def test_a_report_without_its_lists_is_one_error() -> None:
    with pytest.raises(admin_cmd.CliError, match="the API's report has no"):
        admin_cmd.render_report({"unusedDays": 1}, "table")
