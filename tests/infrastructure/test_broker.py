"""The broker Lambda and exactly the permissions its role holds."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Template

from tests.infrastructure.conftest import (
    ADMIN_ROLE_ARN,
    EXTERNAL_ROLE_ARN,
    FULL_RESERVED_CONCURRENCY,
    cdk_json_context,
    only,
    resources_of,
)


def _broker_function(raw: dict[str, Any]) -> dict[str, Any]:
    _, function = only(raw, "AWS::Lambda::Function", Handler="tapgate_broker.handler.handler")
    return function


def _broker_policy(raw: dict[str, Any]) -> list[dict[str, Any]]:
    role_id = _broker_function(raw)["Properties"]["Role"]["Fn::GetAtt"][0]
    policies = [
        p
        for p in resources_of(raw, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    assert len(policies) == 1
    statements: list[dict[str, Any]] = policies[0]["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _logical_id(raw: dict[str, Any], cfn_type: str, **props: Any) -> str:
    return only(raw, cfn_type, **props)[0]


def test_python_312_on_arm64_with_tracing(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "tapgate_broker.handler.handler",
            "Runtime": "python3.12",
            "Architectures": ["arm64"],
            "TracingConfig": {"Mode": "Active"},
        },
    )


def test_powertools_is_configured_by_environment(raw: dict[str, Any]) -> None:
    env = _broker_function(raw)["Properties"]["Environment"]["Variables"]
    assert env["POWERTOOLS_SERVICE_NAME"] == "tapgate"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "tapgate"
    assert env["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"


def test_the_broker_role_has_no_managed_policies(raw: dict[str, Any]) -> None:
    role_id = _broker_function(raw)["Properties"]["Role"]["Fn::GetAtt"][0]
    assert "ManagedPolicyArns" not in raw["Resources"][role_id]["Properties"]


def test_table_permissions_are_exactly_what_the_adapters_call(raw: dict[str, Any]) -> None:
    credentials = _logical_id(
        raw,
        "AWS::DynamoDB::Table",
        KeySchema=[
            {"AttributeName": "userName", "KeyType": "HASH"},
            {"AttributeName": "credentialId", "KeyType": "RANGE"},
        ],
    )
    ceremonies = _logical_id(
        raw, "AWS::DynamoDB::Table", KeySchema=[{"AttributeName": "ceremonyId", "KeyType": "HASH"}]
    )
    audit = _logical_id(
        raw,
        "AWS::DynamoDB::Table",
        KeySchema=[
            {"AttributeName": "userName", "KeyType": "HASH"},
            {"AttributeName": "at", "KeyType": "RANGE"},
        ],
    )
    granted = {}
    for st in _broker_policy(raw):
        if all(a.startswith("dynamodb:") for a in _as_list(st["Action"])):
            assert st["Effect"] == "Allow"
            granted[str(st["Resource"])] = sorted(_as_list(st["Action"]))

    def arn(table: str) -> dict[str, Any]:
        return {"Fn::GetAtt": [table, "Arn"]}

    index = {"Fn::Join": ["", [arn(credentials), "/index/byCredentialId"]]}
    assert granted == {
        str(arn(credentials)): sorted(
            [
                "dynamodb:GetItem",
                "dynamodb:Query",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:ConditionCheckItem",
            ]
        ),
        str(index): ["dynamodb:Query"],
        str(arn(ceremonies)): sorted(
            ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem"]
        ),
        str(arn(audit)): ["dynamodb:PutItem", "dynamodb:Query"],
        # GET /v1/admin/events: everyone's events by day (adapters/audit_reader.py)
        str({"Fn::Join": ["", [arn(audit), "/index/byDay"]]}): ["dynamodb:Query"],
    }


def test_sts_only_on_gated_roles_never_a_wildcard(raw: dict[str, Any]) -> None:
    sts = [
        st
        for st in _broker_policy(raw)
        if any(a.startswith("sts:") for a in _as_list(st["Action"]))
    ]
    assert len(sts) == 1
    statement = sts[0]
    assert sorted(statement["Action"]) == [
        "sts:AssumeRole",
        "sts:SetSourceIdentity",
        "sts:TagSession",
    ]
    gated = {
        logical_id
        for logical_id, role in resources_of(raw, "AWS::IAM::Role").items()
        if {"Key": "tapgate-gated", "Value": "true"} in role["Properties"].get("Tags", [])
    }
    assert len(gated) == 2
    assert sorted(map(str, statement["Resource"])) == sorted(
        [*(str({"Fn::GetAtt": [g, "Arn"]}) for g in gated), EXTERNAL_ROLE_ARN]
    )
    assert statement["Condition"] == {"StringEquals": {"aws:ResourceTag/tapgate-gated": "true"}}
    for resource in _as_list(statement["Resource"]):
        assert "*" not in str(resource)


def test_the_only_wildcard_resources_are_xray_and_the_identity_center_path(
    raw: dict[str, Any],
) -> None:
    wildcard = [st for st in _broker_policy(raw) if "*" in str(st["Resource"])]
    assert [sorted(_as_list(st["Action"])) for st in wildcard] == [
        ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
        ["iam:GetRole"],
    ]


def test_reserved_concurrency_comes_from_the_context(raw: dict[str, Any]) -> None:
    function = _broker_function(raw)
    assert function["Properties"]["ReservedConcurrentExecutions"] == FULL_RESERVED_CONCURRENCY
    skipped = {s["id"] for s in function["Metadata"]["checkov"]["skip"]}
    assert "CKV_AWS_115" not in skipped


def test_cdk_json_reserves_no_concurrency(shipped: dict[str, Any]) -> None:
    # An account must keep 100 executions unreserved; new accounts may start with a quota of 10,
    # where any reservation fails the deploy.
    assert "reservedConcurrency" not in cdk_json_context()
    function = _broker_function(shipped["template"])
    assert "ReservedConcurrentExecutions" not in function["Properties"]


def test_without_reserved_concurrency_the_check_is_acknowledged(bare: dict[str, Any]) -> None:
    function = _broker_function(bare["template"])
    assert "ReservedConcurrentExecutions" not in function["Properties"]
    skips = {s["id"]: s["comment"] for s in function["Metadata"]["checkov"]["skip"]}
    assert "reservedConcurrency" in skips["CKV_AWS_115"]


def test_get_role_only_on_identity_and_admin_roles_in_this_account(raw: dict[str, Any]) -> None:
    """The broker confirms a role session's role (RoleId, path) with iam:GetRole: on the
    identity roles (IAM Identity Center's path by default) and the admin roles, no other."""
    (statement,) = [st for st in _broker_policy(raw) if "iam:GetRole" in _as_list(st["Action"])]
    assert _as_list(statement["Action"]) == ["iam:GetRole"]
    identity_center = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":iam::",
                {"Ref": "AWS::AccountId"},
                ":role/aws-reserved/sso.amazonaws.com/*",
            ],
        ]
    }
    assert _as_list(statement["Resource"]) == [identity_center, ADMIN_ROLE_ARN]
