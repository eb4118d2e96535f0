"""The web ACL: per-source-IP limits, strict on the unsigned routes, on the v1 stage."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infrastructure.conftest import (
    EXPECTED_ROUTES,
    FULL_THROTTLING,
    PUBLIC_WRITE_ROUTES,
    cdk_json_context,
    only,
)


def _web_acl(raw: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    logical_id, acl = only(raw, "AWS::WAFv2::WebACL")
    return logical_id, acl["Properties"]


def _rules(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rule["Name"]: rule for rule in _web_acl(raw)[1]["Rules"]}


def _starts_with(statement: dict[str, Any], path: str) -> bool:
    """Evaluate the scope-down statement as WAF does for a path already in canonical form
    (the transformations are checked separately)."""
    if "OrStatement" in statement:
        return any(_starts_with(s, path) for s in statement["OrStatement"]["Statements"])
    match = statement["ByteMatchStatement"]
    assert match["FieldToMatch"] == {"UriPath": {}}
    assert match["PositionalConstraint"] == "STARTS_WITH"
    return path.startswith(match["SearchString"])


def test_one_regional_web_acl_that_allows_by_default(raw: dict[str, Any]) -> None:
    _, acl = _web_acl(raw)
    assert acl["Scope"] == "REGIONAL"
    assert acl["DefaultAction"] == {"Allow": {}}
    assert acl["VisibilityConfig"]["CloudWatchMetricsEnabled"] is True
    assert [r["Name"] for r in sorted(acl["Rules"], key=lambda r: r["Priority"])] == [
        "public-per-ip",
        "all-per-ip",
        "AWSManagedRulesKnownBadInputsRuleSet",
    ]


def test_aws_known_bad_inputs_rules_block_with_their_own_actions(raw: dict[str, Any]) -> None:
    """The managed group (Log4j JNDI lookups and other exploit patterns) blocks: its rules'
    actions are not overridden to count, and none of them is excluded."""
    rule = _rules(raw)["AWSManagedRulesKnownBadInputsRuleSet"]
    assert rule["Statement"] == {
        "ManagedRuleGroupStatement": {
            "VendorName": "AWS",
            "Name": "AWSManagedRulesKnownBadInputsRuleSet",
        }
    }
    assert rule["OverrideAction"] == {"None": {}}
    assert rule["VisibilityConfig"]["MetricName"] == "tapgate-known-bad-inputs"


def test_the_web_acl_is_associated_with_the_v1_stage(raw: dict[str, Any]) -> None:
    acl_id, _ = _web_acl(raw)
    api_id, _ = only(raw, "AWS::ApiGateway::RestApi")
    stage_id, _ = only(raw, "AWS::ApiGateway::Stage", StageName="v1")
    _, association = only(raw, "AWS::WAFv2::WebACLAssociation")
    props = association["Properties"]
    assert props["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert props["ResourceArn"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":apigateway:",
                {"Ref": "AWS::Region"},
                "::/restapis/",
                {"Ref": api_id},
                "/stages/",
                {"Ref": stage_id},
            ],
        ]
    }


def test_both_rules_count_per_ip_over_five_minutes_with_limits_from_context(
    raw: dict[str, Any],
) -> None:
    rules = _rules(raw)
    public = rules["public-per-ip"]["Statement"]["RateBasedStatement"]
    every = rules["all-per-ip"]["Statement"]["RateBasedStatement"]
    for statement in (public, every):
        assert statement["AggregateKeyType"] == "IP"
        assert statement["EvaluationWindowSec"] == 300
    assert public["Limit"] == FULL_THROTTLING["publicPerIpPer5Minutes"]
    assert every["Limit"] == FULL_THROTTLING["allPerIpPer5Minutes"]
    assert "ScopeDownStatement" not in every


def test_the_shipped_limits_are_cdk_json_s(shipped: dict[str, Any]) -> None:
    limits = cdk_json_context()["throttling"]
    rules = _rules(shipped["template"])
    public = rules["public-per-ip"]["Statement"]["RateBasedStatement"]
    every = rules["all-per-ip"]["Statement"]["RateBasedStatement"]
    assert public["Limit"] == limits["publicPerIpPer5Minutes"] == 100
    assert every["Limit"] == limits["allPerIpPer5Minutes"] == 2000


def test_the_strict_rule_covers_exactly_the_unsigned_writes(raw: dict[str, Any]) -> None:
    """Clients send /v1/... both to execute-api (stage first) and to the custom domain (base
    path v1): the URI path WAF sees is the same."""
    scope_down = _rules(raw)["public-per-ip"]["Statement"]["RateBasedStatement"][
        "ScopeDownStatement"
    ]
    _, mapping = only(raw, "AWS::ApiGateway::BasePathMapping")
    base_path = mapping["Properties"]["BasePath"]
    assert base_path == "v1"
    for method, path in EXPECTED_ROUTES:
        concrete = path.replace("{credentialId}", "AbC-123").replace("{proxy+}", "page.js")
        uri_path = f"/{base_path}{concrete}"
        assert _starts_with(scope_down, uri_path) is ((method, path) in PUBLIC_WRITE_ROUTES), (
            uri_path
        )


def test_the_strict_rule_compares_a_decoded_normalized_path(raw: dict[str, Any]) -> None:
    scope_down = _rules(raw)["public-per-ip"]["Statement"]["RateBasedStatement"][
        "ScopeDownStatement"
    ]
    matches = [s["ByteMatchStatement"] for s in scope_down["OrStatement"]["Statements"]]
    assert sorted(m["SearchString"] for m in matches) == ["/v1/enrollment/", "/v1/passkey/"]
    for match in matches:
        assert match["TextTransformations"] == [
            {"Priority": 0, "Type": "URL_DECODE"},
            {"Priority": 1, "Type": "NORMALIZE_PATH"},
            {"Priority": 2, "Type": "LOWERCASE"},
        ]


@pytest.mark.parametrize("rule", ["public-per-ip", "all-per-ip"])
def test_a_blocked_request_gets_429_retry_after_and_a_problem_document(
    raw: dict[str, Any], rule: str
) -> None:
    _, acl = _web_acl(raw)
    definition = _rules(raw)[rule]
    assert definition["VisibilityConfig"] == {
        "CloudWatchMetricsEnabled": True,
        "MetricName": f"tapgate-{rule}",
        "SampledRequestsEnabled": True,
    }
    response = definition["Action"]["Block"]["CustomResponse"]
    assert response["ResponseCode"] == 429
    assert response["ResponseHeaders"] == [{"Name": "Retry-After", "Value": "300"}]
    body = acl["CustomResponseBodies"][response["CustomResponseBodyKey"]]
    assert body["ContentType"] == "APPLICATION_JSON"
    problem = json.loads(body["Content"])
    assert problem["status"] == 429
    assert problem["type"] == "https://tapgate.dev/problems/throttled"
    assert set(problem) == {"type", "title", "status", "detail"}
