"""The three tables: keys, index, TTL, PITR, retention, billing."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match, Template

from tests.infrastructure.conftest import only, resources_of


def _keys(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"AttributeName": name, "KeyType": kind} for name, kind in pairs]


def test_three_on_demand_tables(raw: dict[str, Any]) -> None:
    tables = resources_of(raw, "AWS::DynamoDB::Table")
    assert len(tables) == 3
    assert {t["Properties"]["BillingMode"] for t in tables.values()} == {"PAY_PER_REQUEST"}


def test_credentials_table_is_durable(raw: dict[str, Any]) -> None:
    _, table = only(
        raw,
        "AWS::DynamoDB::Table",
        KeySchema=_keys(("userName", "HASH"), ("credentialId", "RANGE")),
    )
    props = table["Properties"]
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    assert props["GlobalSecondaryIndexes"] == [
        {
            "IndexName": "byCredentialId",
            "KeySchema": _keys(("credentialId", "HASH")),
            "Projection": {"ProjectionType": "ALL"},
        }
    ]
    assert sorted(props["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == [
        {"AttributeName": "credentialId", "AttributeType": "S"},
        {"AttributeName": "userName", "AttributeType": "S"},
    ]


def test_ceremonies_expire_by_ttl(template: Template) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": _keys(("ceremonyId", "HASH")),
            "AttributeDefinitions": [{"AttributeName": "ceremonyId", "AttributeType": "S"}],
            "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": True},
            "PointInTimeRecoverySpecification": Match.absent(),
        },
    )


def test_audit_trail_expires_by_ttl_and_is_kept(raw: dict[str, Any]) -> None:
    _, table = only(
        raw, "AWS::DynamoDB::Table", KeySchema=_keys(("userName", "HASH"), ("at", "RANGE"))
    )
    props = table["Properties"]
    # Everyone's events by time, for GET /v1/admin/events: no scan.
    assert props["GlobalSecondaryIndexes"] == [
        {
            "IndexName": "byDay",
            "KeySchema": _keys(("day", "HASH"), ("at", "RANGE")),
            "Projection": {"ProjectionType": "ALL"},
        }
    ]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["DeletionPolicy"] == "Retain"
