"""Encryption at rest: cdk.json's ``kmsKey`` for the tables and every log group.

Three forms: a key the stack creates (cdk.json as shipped), an existing key by ARN (the full
context), none (the bare context: AWS owned keys, with the scanners' checks acknowledged).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import aws_logs as logs

from stacks.application import STACK_NAME, build_app
from stacks.encryption import DYNAMODB_KEY_ACTIONS
from tests.infrastructure.conftest import (
    KMS_KEY_ARN,
    cdk_json_context,
    no_bundling,
    only,
    resources_of,
)


def _broker_key_statements(raw: dict[str, Any]) -> list[dict[str, Any]]:
    _, function = only(raw, "AWS::Lambda::Function", Handler="tapgate_broker.handler.handler")
    role = {"Ref": function["Properties"]["Role"]["Fn::GetAtt"][0]}
    policies = resources_of(raw, "AWS::IAM::Policy").values()
    (policy,) = [p for p in policies if role in p["Properties"]["Roles"]]
    return [
        st
        for st in policy["Properties"]["PolicyDocument"]["Statement"]
        if any(str(a).startswith("kms:") for a in st["Action"])
    ]


def _checkov_skips(resource: dict[str, Any]) -> dict[str, str]:
    skips = resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    return {s["id"]: s["comment"] for s in skips}


def _encrypted_with(raw: dict[str, Any], key: Any) -> None:
    """Every table and every log group uses ``key``; no customer-managed-key check is
    acknowledged, since none fails."""
    tables = resources_of(raw, "AWS::DynamoDB::Table")
    log_groups = resources_of(raw, "AWS::Logs::LogGroup")
    assert len(tables) == 3
    # The API's access log and the broker's; the metadata refresh's where it is deployed.
    assert len(log_groups) >= 2
    for table in tables.values():
        assert table["Properties"]["SSESpecification"] == {
            "KMSMasterKeyId": key,
            "SSEEnabled": True,
            "SSEType": "KMS",
        }
        assert "CKV_AWS_119" not in _checkov_skips(table)
    for group in log_groups.values():
        assert group["Properties"]["KmsKeyId"] == key
        assert "CKV_AWS_158" not in _checkov_skips(group)


def test_an_existing_key_encrypts_tables_and_log_groups(raw: dict[str, Any]) -> None:
    _encrypted_with(raw, KMS_KEY_ARN)
    assert resources_of(raw, "AWS::KMS::Key") == {}
    assert raw["Outputs"]["KmsKeyArn"]["Value"] == KMS_KEY_ARN


def test_the_broker_may_use_the_key_only_through_dynamodb(raw: dict[str, Any]) -> None:
    (statement,) = _broker_key_statements(raw)
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == KMS_KEY_ARN
    assert sorted(statement["Action"]) == sorted(DYNAMODB_KEY_ACTIONS)
    assert not any(a.endswith("*") or a == "kms:CreateGrant" for a in statement["Action"])
    assert statement["Condition"] == {
        "StringEquals": {
            "kms:ViaService": {
                "Fn::Join": ["", ["dynamodb.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]
            }
        }
    }


def test_cdk_json_as_shipped_creates_a_rotated_retained_key(shipped: dict[str, Any]) -> None:
    assert cdk_json_context()["kmsKey"] == "create"
    raw = shipped["template"]
    key_id, key = only(raw, "AWS::KMS::Key")
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == key["UpdateReplacePolicy"] == "Retain"
    _encrypted_with(raw, {"Fn::GetAtt": [key_id, "Arn"]})
    assert raw["Outputs"]["KmsKeyArn"]["Value"] == {"Fn::GetAtt": [key_id, "Arn"]}
    (statement,) = _broker_key_statements(raw)
    assert statement["Resource"] == {"Fn::GetAtt": [key_id, "Arn"]}


def test_the_created_key_lets_cloudwatch_logs_use_it_for_this_accounts_log_groups(
    shipped: dict[str, Any],
) -> None:
    _, key = only(shipped["template"], "AWS::KMS::Key")
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    (logs_statement,) = [s for s in statements if "Service" in s["Principal"]]
    assert logs_statement["Principal"]["Service"] == {
        "Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]
    }
    assert logs_statement["Condition"] == {
        "ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":logs:",
                        {"Ref": "AWS::Region"},
                        ":",
                        {"Ref": "AWS::AccountId"},
                        ":log-group:*",
                    ],
                ]
            }
        }
    }
    # Besides CloudWatch Logs, only the account (through IAM) is trusted: CDK's default.
    others = [s for s in statements if s is not logs_statement]
    account = ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, ":root"]
    assert [s["Principal"] for s in others] == [{"AWS": {"Fn::Join": ["", account]}}]


def test_without_a_key_the_aws_owned_keys_encrypt_and_the_checks_say_why(
    bare: dict[str, Any],
) -> None:
    raw = bare["template"]
    assert resources_of(raw, "AWS::KMS::Key") == {}
    assert _broker_key_statements(raw) == []
    assert "KmsKeyArn" not in raw["Outputs"]
    for table in resources_of(raw, "AWS::DynamoDB::Table").values():
        assert "SSESpecification" not in table["Properties"]
        assert "kmsKey" in _checkov_skips(table)["CKV_AWS_119"]
    for group in resources_of(raw, "AWS::Logs::LogGroup").values():
        assert "KmsKeyId" not in group["Properties"]
        assert "kmsKey" in _checkov_skips(group)["CKV_AWS_158"]


def test_a_log_group_added_later_is_encrypted_too(tmp_path: Path) -> None:
    """The key applies to every log group of the stack (an aspect), not a list kept by hand."""
    app, stack = build_app(context=no_bundling(cdk_json_context()), outdir=str(tmp_path))
    logs.LogGroup(stack, "LaterLogs", retention=logs.RetentionDays.ONE_MONTH)
    raw = app.synth().get_stack_by_name(STACK_NAME).template
    key_id, _ = only(raw, "AWS::KMS::Key")
    later = [k for k in resources_of(raw, "AWS::Logs::LogGroup") if k.startswith("LaterLogs")]
    assert len(later) == 1
    assert raw["Resources"][later[0]]["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
