"""The REST API: routes and their authorization, stage v1, throttling, logs, validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from tapgate_contract.routes import CEREMONY_ANSWER
from tapgate_contract.schemas import GATEWAY_MODELS
from tests.infrastructure.conftest import (
    EXPECTED_ROUTES,
    FULL_THROTTLING,
    PUBLIC_WRITE_ROUTES,
    cdk_json_context,
    only,
    resources_of,
)

# The routes whose body is {"ceremonyId", "credential", ...} (docs/design.md).
CEREMONY_ANSWER_ROUTES = {
    ("POST", "/registration/verify"),
    ("POST", "/registration/step-up/verify"),
    ("POST", "/authentication/verify"),
    ("DELETE", "/credentials/{credentialId}"),
    ("POST", "/enrollment/verify"),
    ("POST", "/passkey/verify"),
    ("POST", "/passkey/code"),
    ("POST", "/passkey/credentials/list"),
    ("DELETE", "/passkey/credentials/{credentialId}"),
    ("DELETE", "/admin/users/{userName}/credentials"),
    ("DELETE", "/admin/users/{userName}/credentials/{credentialId}"),
}


def _path_of(raw: dict[str, Any], resource_ref: Any) -> str:
    """Rebuild a method's path from the AWS::ApiGateway::Resource chain."""
    parts: list[str] = []
    while isinstance(resource_ref, dict) and "Ref" in resource_ref:
        resource = raw["Resources"][resource_ref["Ref"]]["Properties"]
        parts.insert(0, resource["PathPart"])
        resource_ref = resource["ParentId"]
    return "/" + "/".join(parts)


@pytest.fixture(scope="module")
def routes(raw: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (m["Properties"]["HttpMethod"], _path_of(raw, m["Properties"]["ResourceId"])): m[
            "Properties"
        ]
        for m in resources_of(raw, "AWS::ApiGateway::Method").values()
    }


def test_exactly_the_v1_routes_with_their_authorization(
    routes: dict[tuple[str, str], dict[str, Any]],
) -> None:
    assert {route: m["AuthorizationType"] for route, m in routes.items()} == EXPECTED_ROUTES


def test_no_route_carries_a_v1_prefix_in_its_path(
    routes: dict[tuple[str, str], dict[str, Any]],
) -> None:
    assert not [path for _, path in routes if path.startswith("/v1")]


def test_every_route_is_a_lambda_proxy_to_the_broker(
    raw: dict[str, Any], routes: dict[tuple[str, str], dict[str, Any]]
) -> None:
    function_id, _ = only(raw, "AWS::Lambda::Function", Handler="tapgate_broker.handler.handler")
    for route, method in routes.items():
        integration = method["Integration"]
        assert integration["Type"] == "AWS_PROXY", route
        assert integration["IntegrationHttpMethod"] == "POST", route
        assert function_id in json.dumps(integration["Uri"]), route


def test_ceremony_answers_are_validated_before_the_lambda(
    raw: dict[str, Any], routes: dict[tuple[str, str], dict[str, Any]]
) -> None:
    validator_id, validator = only(raw, "AWS::ApiGateway::RequestValidator")
    assert validator["Properties"]["ValidateRequestBody"] is True
    assert validator["Properties"]["ValidateRequestParameters"] is True
    with_model = {route for route, m in routes.items() if "RequestModels" in m}
    assert with_model == CEREMONY_ANSWER_ROUTES
    model_id, model = only(raw, "AWS::ApiGateway::Model", Name="CeremonyAnswer")
    for route in with_model:
        assert routes[route]["RequestValidatorId"] == {"Ref": validator_id}
        assert routes[route]["RequestModels"] == {"application/json": {"Ref": model_id}}
    for route in (
        ("DELETE", "/credentials/{credentialId}"),
        ("DELETE", "/passkey/credentials/{credentialId}"),
    ):
        assert routes[route]["RequestParameters"] == {"method.request.path.credentialId": True}
    schema = model["Properties"]["Schema"]
    assert schema["required"] == ["ceremonyId", "credential"]
    # the contract's model, as it is (tapgate_contract.schemas.GATEWAY_MODELS)
    assert schema == {
        "$schema": "http://json-schema.org/draft-04/schema#",
        **GATEWAY_MODELS[CEREMONY_ANSWER],
    }
    # Other fields (nickname, roleArn, console, ...) must pass: the broker checks them.
    assert "additionalProperties" not in schema


def test_stage_v1_is_traced_and_logged(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": "v1",
            "TracingEnabled": True,
            "AccessLogSetting": {
                "DestinationArn": Match.any_value(),
                "Format": Match.string_like_regexp(r"\$context\.requestId"),
            },
        },
    )


def _method_settings(raw: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """The stage's MethodSettings by (method, path). CloudFormation writes a path as "/"
    and the path with each "/" escaped as "~1"; "/*" is every resource."""
    _, stage = only(raw, "AWS::ApiGateway::Stage", StageName="v1")

    def path(resource_path: str) -> str:
        return resource_path if resource_path == "/*" else resource_path[1:].replace("~1", "/")

    return {
        (s["HttpMethod"], path(s["ResourcePath"])): s for s in stage["Properties"]["MethodSettings"]
    }


def test_the_stage_and_the_unsigned_writes_are_throttled_from_context(
    raw: dict[str, Any],
) -> None:
    settings = _method_settings(raw)
    assert set(settings) == {("*", "/*"), *PUBLIC_WRITE_ROUTES}
    logged = {"DataTraceEnabled": False, "LoggingLevel": "ERROR", "MetricsEnabled": True}
    assert settings[("*", "/*")] == {
        "HttpMethod": "*",
        "ResourcePath": "/*",
        **logged,
        "ThrottlingRateLimit": FULL_THROTTLING["rateLimit"],
        "ThrottlingBurstLimit": FULL_THROTTLING["burstLimit"],
    }
    for route in PUBLIC_WRITE_ROUTES:
        # A method setting replaces the stage's for that method: logging must be repeated.
        assert settings[route] == {
            "HttpMethod": route[0],
            "ResourcePath": "/" + route[1].replace("/", "~1"),
            **logged,
            "ThrottlingRateLimit": FULL_THROTTLING["publicRateLimit"],
            "ThrottlingBurstLimit": FULL_THROTTLING["publicBurstLimit"],
        }, route


def test_the_shipped_throttling_is_cdk_json_s(shipped: dict[str, Any]) -> None:
    limits = cdk_json_context()["throttling"]
    settings = _method_settings(shipped["template"])
    assert settings[("*", "/*")]["ThrottlingRateLimit"] == limits["rateLimit"] == 10
    assert settings[("*", "/*")]["ThrottlingBurstLimit"] == limits["burstLimit"] == 20
    for route in PUBLIC_WRITE_ROUTES:
        assert settings[route]["ThrottlingRateLimit"] == limits["publicRateLimit"] == 5
        assert settings[route]["ThrottlingBurstLimit"] == limits["publicBurstLimit"] == 10


def test_execution_logs_have_the_account_cloudwatch_role(template: Template) -> None:
    template.resource_count_is("AWS::ApiGateway::Account", 1)


@pytest.mark.parametrize(
    ("response_type", "status"),
    [
        ("THROTTLED", "429"),
        ("REQUEST_TOO_LARGE", "413"),
        ("MISSING_AUTHENTICATION_TOKEN", "403"),
        ("BAD_REQUEST_BODY", "400"),
    ],
)
def test_gateway_errors_are_problem_documents(
    raw: dict[str, Any], response_type: str, status: str
) -> None:
    _, response = only(raw, "AWS::ApiGateway::GatewayResponse", ResponseType=response_type)
    props = response["Properties"]
    assert props["StatusCode"] == status
    assert props["ResponseParameters"] == {
        "gatewayresponse.header.Content-Type": "'application/problem+json'"
    }
    body = props["ResponseTemplates"]["application/json"]
    sample = json.loads(body.replace("$context.error.messageString", '"Too Many Requests"'))
    assert sample["status"] == int(status)
    assert set(sample) == {"type", "title", "status", "detail"}


def _acknowledged(outdir: Path, finding: str) -> dict[str, str]:
    """Construct path -> reason, for every acknowledgment of ``finding``."""
    metadata = json.loads((outdir / "Tapgate.metadata.json").read_text(encoding="utf-8"))
    return {
        path: entry["data"][f"Annotation::{finding}"]
        for path, entries in metadata.items()
        for entry in entries
        if entry["type"] == "aws:cdk:acknowledged-rules"
        and f"Annotation::{finding}" in entry["data"]
    }


def _method_path(route: tuple[str, str]) -> str:
    method, path = route
    return f"/Tapgate/Api/RestApi/Default{'' if path == '/' else path}/{method}"


def test_each_public_route_is_acknowledged_with_its_own_true_reason(
    synthesized: dict[str, Any],
) -> None:
    reasons = _acknowledged(synthesized["outdir"], "AwsSolutions-APIG4")
    public = {route for route, auth in EXPECTED_ROUTES.items() if auth == "NONE"}
    assert set(reasons) == {_method_path(route) for route in public}
    why = {route: reasons[_method_path(route)] for route in public}
    enrollment = {("POST", "/enrollment/options"), ("POST", "/enrollment/verify")}
    for route in enrollment:
        assert "Authenticated by the broker Lambda, not by IAM" in why[route]
        assert "'Authorization: Bearer' one-time enrollment token" in why[route]
    assert "stores a single-use challenge" in why[("POST", "/passkey/options")]
    exchange = ("POST", "/passkey/token")
    assert "Authenticated by the broker Lambda, not by IAM" in why[exchange]
    assert "PKCE verifier" in why[exchange]
    for route in PUBLIC_WRITE_ROUTES - enrollment - {("POST", "/passkey/options"), exchange}:
        assert "Authenticated by the broker Lambda, not by IAM" in why[route]
        assert "WebAuthn assertion from a registered passkey" in why[route]
    for route in PUBLIC_WRITE_ROUTES:
        assert "Throttled per source IP by the web ACL" in why[route]
    for route in (("GET", "/"), ("GET", "/enroll"), ("GET", "/static/{proxy+}")):
        assert why[route].startswith("The web page and its static files")
    assert "the RP ID and the gated roles' ARNs" in why[("GET", "/config")]


def test_apig3_is_satisfied_by_the_web_acl_not_acknowledged(synthesized: dict[str, Any]) -> None:
    # The synth ran cdk-nag (it raises on an open finding), so APIG3 passed on its own.
    assert _acknowledged(synthesized["outdir"], "AwsSolutions-APIG3") == {}


@pytest.mark.parametrize("route", [("POST", "/enrollment/options"), ("POST", "/enrollment/verify")])
def test_the_bearer_token_reaches_the_lambda_on_the_enrollment_routes(
    routes: dict[tuple[str, str], dict[str, Any]], route: tuple[str, str]
) -> None:
    """On an AWS_IAM method API Gateway would refuse 'Authorization: Bearer ...' itself; on a
    NONE method with a Lambda proxy integration every request header, Authorization included,
    is passed in the event. Nothing here may map, require or replace headers."""
    method = routes[route]
    assert method["AuthorizationType"] == "NONE"
    assert "AuthorizerId" not in method
    assert "RequestParameters" not in method  # no header is required or renamed
    integration = method["Integration"]
    assert integration["Type"] == "AWS_PROXY"
    assert not {"RequestParameters", "RequestTemplates", "PassthroughBehavior"} & set(integration)
