"""The REST API: routes and their authorization, stage v1, throttling, logs, validation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from tests.infrastructure.conftest import only, resources_of

EXPECTED_ROUTES = {
    ("POST", "/registration/options"): "AWS_IAM",
    ("POST", "/registration/verify"): "AWS_IAM",
    ("POST", "/authentication/options"): "AWS_IAM",
    ("POST", "/authentication/verify"): "AWS_IAM",
    ("GET", "/credentials"): "AWS_IAM",
    ("DELETE", "/credentials/{credentialId}"): "AWS_IAM",
    ("GET", "/roles"): "AWS_IAM",
    ("POST", "/enrollments"): "AWS_IAM",
    ("GET", "/config"): "NONE",
    ("GET", "/"): "NONE",
    ("GET", "/enroll"): "NONE",
    ("GET", "/static/{proxy+}"): "NONE",
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
    assert with_model == {
        ("POST", "/registration/verify"),
        ("POST", "/authentication/verify"),
        ("DELETE", "/credentials/{credentialId}"),
    }
    for route in with_model:
        assert routes[route]["RequestValidatorId"] == {"Ref": validator_id}
    assert routes[("DELETE", "/credentials/{credentialId}")]["RequestParameters"] == {
        "method.request.path.credentialId": True
    }
    _, model = only(raw, "AWS::ApiGateway::Model", Name="CeremonyAnswer")
    assert model["Properties"]["Schema"]["required"] == ["ceremonyId", "credential"]


def test_stage_v1_is_throttled_traced_and_logged(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": "v1",
            "TracingEnabled": True,
            "AccessLogSetting": {
                "DestinationArn": Match.any_value(),
                "Format": Match.string_like_regexp(r"\$context\.requestId"),
            },
            "MethodSettings": [
                {
                    "HttpMethod": "*",
                    "ResourcePath": "/*",
                    "DataTraceEnabled": False,
                    "LoggingLevel": "ERROR",
                    "MetricsEnabled": True,
                    "ThrottlingRateLimit": 10,
                    "ThrottlingBurstLimit": 20,
                }
            ],
        },
    )


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
