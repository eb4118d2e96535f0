"""The stack's outputs: what an operator and the CLI need after `cdk deploy`."""

from __future__ import annotations

import json
from typing import Any

from tests.infrastructure.conftest import CERT_ARN, GATING_POLICY_FILE, only, resources_of


def _join(value: Any) -> list[Any]:
    parts: list[Any] = value["Fn::Join"][1]
    assert value["Fn::Join"][0] == ""
    return parts


def test_api_url_is_the_custom_domain_without_the_stage(raw: dict[str, Any]) -> None:
    """Clients append /v1/... themselves (docs/design.md: {apiUrl} has no stage)."""
    api_url = raw["Outputs"]["ApiUrl"]["Value"]
    assert api_url == "https://tapgate.example.com"
    assert api_url.rstrip("/") + "/v1/registration/options" == (
        "https://tapgate.example.com/v1/registration/options"
    )
    assert raw["Outputs"]["PageUrl"]["Value"] == "https://tapgate.example.com/v1/"


def test_api_url_without_a_custom_domain_is_the_execute_api_host(
    shipped: dict[str, Any],
) -> None:
    outputs = shipped["template"]["Outputs"]
    api_id, _ = only(shipped["template"], "AWS::ApiGateway::RestApi")
    host = [
        "https://",
        {"Ref": api_id},
        ".execute-api.",
        {"Ref": "AWS::Region"},
        ".",
        {"Ref": "AWS::URLSuffix"},
    ]
    assert _join(outputs["ApiUrl"]["Value"]) == host
    assert _join(outputs["PageUrl"]["Value"]) == [*host, "/v1/"]
    assert "CustomDomainTarget" not in outputs


def test_cdk_s_own_endpoint_output_still_names_the_stage(raw: dict[str, Any]) -> None:
    """The generated endpoint stays available too (CDK's own output, stage included)."""
    api_id, _ = only(raw, "AWS::ApiGateway::RestApi")
    stage_id, _ = only(raw, "AWS::ApiGateway::Stage", StageName="v1")
    endpoints = [o for n, o in raw["Outputs"].items() if n.startswith("ApiRestApiEndpoint")]
    (generated,) = [_join(o["Value"]) for o in endpoints]
    assert generated[0] == "https://"
    assert {"Ref": api_id} in generated
    assert {"Ref": stage_id} in generated


def test_custom_domain_maps_v1_to_the_stage(raw: dict[str, Any]) -> None:
    domain_id, domain = only(raw, "AWS::ApiGateway::DomainName")
    assert domain["Properties"]["DomainName"] == "tapgate.example.com"
    assert domain["Properties"]["RegionalCertificateArn"] == CERT_ARN
    assert domain["Properties"]["SecurityPolicy"] == "TLS_1_2"
    _, mapping = only(raw, "AWS::ApiGateway::BasePathMapping")
    assert mapping["Properties"]["BasePath"] == "v1"
    assert mapping["Properties"]["DomainName"] == {"Ref": domain_id}
    assert raw["Outputs"]["CustomDomainTarget"]["Value"] == {
        "Fn::GetAtt": [domain_id, "RegionalDomainName"]
    }


def test_rp_id(raw: dict[str, Any]) -> None:
    assert raw["Outputs"]["RpId"]["Value"] == "tapgate.example.com"


def test_policy_arns(raw: dict[str, Any]) -> None:
    gating = json.loads(GATING_POLICY_FILE.read_text(encoding="utf-8"))
    policies = resources_of(raw, "AWS::IAM::ManagedPolicy")
    (gating_id,) = [k for k, p in policies.items() if p["Properties"]["PolicyDocument"] == gating]
    (self_service_id,) = [
        k for k, p in policies.items() if "execute-api" in json.dumps(p["Properties"])
    ]
    assert raw["Outputs"]["GatingPolicyArn"]["Value"] == {"Ref": gating_id}
    assert raw["Outputs"]["SelfServicePolicyArn"]["Value"] == {"Ref": self_service_id}


def test_broker_role_arn(raw: dict[str, Any]) -> None:
    _, function = only(raw, "AWS::Lambda::Function", Handler="tapgate_broker.handler.handler")
    assert raw["Outputs"]["BrokerRoleArn"]["Value"] == function["Properties"]["Role"]
