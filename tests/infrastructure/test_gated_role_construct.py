"""GatedRole used from another CDK app: no tapgate stack, the broker role by ARN."""

from __future__ import annotations

import json

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Template

from stacks.gated_roles import GatedRole
from tapgate_contract.policies import gated_role_trust_policy
from tests.infrastructure.conftest import GATING_POLICY_FILE

BROKER_ARN = "arn:aws:iam::111122223333:role/Tapgate-BrokerRole-ABC"


@pytest.fixture(scope="module")
def role_properties() -> dict:
    stack = Stack(App(), "OtherApp")
    GatedRole(
        stack,
        "Deployer",
        broker_role_arn=BROKER_ARN,
        allowed_source_identities=["alice", "deploy-*"],
        role_name="deployer",
        user_verification="required",
    )
    resources = Template.from_stack(stack).find_resources("AWS::IAM::Role")
    (role,) = resources.values()
    properties: dict = role["Properties"]
    return properties


def test_without_tapgates_managed_policy_the_gating_statement_is_inline(
    role_properties: dict,
) -> None:
    (inline,) = role_properties["Policies"]
    assert inline["PolicyDocument"] == json.loads(GATING_POLICY_FILE.read_text(encoding="utf-8"))
    assert "ManagedPolicyArns" not in role_properties


def test_trust_policy_is_the_documented_one(role_properties: dict) -> None:
    expected = gated_role_trust_policy(
        broker_role_arn=BROKER_ARN,
        allowed_source_identities=["alice", "deploy-*"],
        require_user_verification=True,
    )
    assert json.dumps(role_properties["AssumeRolePolicyDocument"], sort_keys=True) == json.dumps(
        expected, sort_keys=True
    )
    assert {"Key": "tapgate-gated", "Value": "true"} in role_properties["Tags"]


@pytest.mark.parametrize(
    "kwargs",
    [{"allowed_source_identities": []}, {"max_session_seconds": 7200}],
)
def test_refuses_settings_that_would_break_the_gate(kwargs: dict) -> None:
    arguments = {"broker_role_arn": BROKER_ARN, "allowed_source_identities": ["alice"], **kwargs}
    with pytest.raises(ValueError, match=r"SourceIdentity|900\.\.3600"):
        GatedRole(Stack(App(), "S"), "Role", **arguments)
