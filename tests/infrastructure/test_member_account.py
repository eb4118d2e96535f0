"""Gated roles in other accounts: the member-account stack (a StackSets template) and the
broker's permission to assume roles across accounts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_sqs as sqs

from stacks.application import MEMBER_STACK_NAME, build_app
from stacks.member_account import BROKER_ROLE_ARN_PATTERN, MemberAccountStack
from tapgate_contract.policies import gated_role_trust_policy as trust_policy_json
from tapgate_contract.policies import gating_policy as gating_policy_document
from tests.infrastructure.conftest import (
    CROSS_ACCOUNT_ROLE_ARN,
    MEMBER_ACCOUNTS,
    MEMBER_ROLES,
    ORGANIZATION_ID,
    no_bundling,
    only,
    organization_context,
    resources_of,
)

BROKER = {"Ref": "BrokerRoleArn"}


def _member_role(member: dict[str, Any], name: str) -> dict[str, Any]:
    _, role = only(member, "AWS::IAM::Role", RoleName=name)
    return role["Properties"]


def _resolve(value: Any) -> str:
    """A Fn::Join of literals, the partition and GetAtt ARNs, as CloudFormation renders it
    (partition aws; a GetAtt stands as <LogicalId>)."""
    if isinstance(value, str):
        return value
    parts = value["Fn::Join"][1]
    rendered = []
    for part in parts:
        if isinstance(part, str):
            rendered.append(part)
        elif part == {"Ref": "AWS::Partition"}:
            rendered.append("aws")
        else:
            rendered.append(f"<{part['Fn::GetAtt'][0]}>")
    return "".join(rendered)


def _broker(raw: dict[str, Any]) -> dict[str, Any]:
    _, function = only(raw, "AWS::Lambda::Function", Handler="tapgate_broker.handler.handler")
    return function


def _sts_statements(raw: dict[str, Any]) -> list[dict[str, Any]]:
    role = {"Ref": _broker(raw)["Properties"]["Role"]["Fn::GetAtt"][0]}
    policies = resources_of(raw, "AWS::IAM::Policy").values()
    (policy,) = [p for p in policies if role in p["Properties"]["Roles"]]
    return [
        st
        for st in policy["Properties"]["PolicyDocument"]["Statement"]
        if "sts:AssumeRole" in st["Action"]
    ]


def test_the_member_template_is_for_stacksets(organization: dict[str, Any]) -> None:
    """One parameter, the broker role's ARN; nothing that needs CDK's bootstrap, a lookup or
    an asset; no account id baked in."""
    member = organization["member"]
    assert member["Parameters"] == {
        "BrokerRoleArn": {
            "Type": "String",
            "AllowedPattern": BROKER_ROLE_ARN_PATTERN,
            "ConstraintDescription": "an IAM role ARN, arn:aws:iam::ACCOUNT:role/NAME",
            "Description": "The tapgate stack's BrokerRoleArn output (the tapgate account's "
            "broker role), the only principal the gated roles trust",
        }
    }
    assert "Rules" not in member
    assert "Conditions" not in member
    assert {r["Type"] for r in member["Resources"].values()} == {
        "AWS::IAM::Role",
        "AWS::IAM::ManagedPolicy",
    }
    assert not re.search(r"\d{12}", json.dumps(member))


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::111122223333:role/Tapgate-BrokerRole4C55516F-ABC",
        "arn:aws-us-gov:iam::111122223333:role/path/broker",
    ],
)
def test_the_parameter_takes_a_role_arn(arn: str) -> None:
    assert re.match(BROKER_ROLE_ARN_PATTERN, arn)


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::111122223333:user/alice",
        "arn:aws:sts::111122223333:assumed-role/broker/session",
        "arn:aws:iam::11112222333:role/broker",
        "*",
    ],
)
def test_the_parameter_refuses_anything_else(arn: str) -> None:
    assert not re.match(BROKER_ROLE_ARN_PATTERN, arn)


@pytest.mark.parametrize("spec", MEMBER_ROLES, ids=lambda spec: spec["name"])
def test_each_member_role_has_the_gated_roles_trust_policy(
    organization: dict[str, Any], spec: dict[str, Any]
) -> None:
    role = _member_role(organization["member"], spec["name"])
    assert role["AssumeRolePolicyDocument"] == trust_policy_json(
        broker_role_arn=BROKER,  # type: ignore[arg-type]  # the parameter Ref, as rendered
        allowed_source_identities=spec["allowedSourceIdentities"],
        require_user_verification=spec.get("userVerification") == "required",
        assurance=spec.get("assurance", "any"),
    )
    assert {"Key": "tapgate-gated", "Value": "true"} in role["Tags"]
    assert role["MaxSessionDuration"] == 3600


def test_the_member_roles_are_gated_by_the_accounts_own_gating_policy(
    organization: dict[str, Any],
) -> None:
    member = organization["member"]
    policy_id, policy = only(member, "AWS::IAM::ManagedPolicy")
    assert policy["Properties"]["PolicyDocument"] == gating_policy_document()
    admin = _member_role(member, "tapgate-prod-admin")
    deployer = _member_role(member, "tapgate-prod-deployer")
    assert admin["ManagedPolicyArns"] == [
        "arn:aws:iam::aws:policy/AdministratorAccess",
        {"Ref": policy_id},
    ]
    # A customer-managed policy by name: each account's own policy of that name.
    assert deployer["ManagedPolicyArns"] == [
        {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":iam::",
                    {"Ref": "AWS::AccountId"},
                    ":policy/team/deployer",
                ],
            ]
        },
        {"Ref": policy_id},
    ]
    assert member["Outputs"]["GatingPolicyArn"]["Value"] == {"Ref": policy_id}
    assert set(member["Outputs"]) == {
        "GatingPolicyArn",
        "GatedRoleArntapgateprodadmin",
        "GatedRoleArntapgateproddeployer",
    }


def test_the_broker_offers_each_member_role_in_each_listed_account(
    organization: dict[str, Any],
) -> None:
    roles = json.loads(
        _resolve(
            _broker(organization["template"])["Properties"]["Environment"]["Variables"][
                "TAPGATE_ROLES"
            ]
        )
    )
    expected = [
        {
            "arn": CROSS_ACCOUNT_ROLE_ARN,
            "name": "Legacy prod admin",
            "maxSessionSeconds": 3600,
            "userVerification": "preferred",
            "requireSignCounter": False,
            "assurance": "any",
            "aaguids": [],
        }
    ] + [
        {
            "arn": f"arn:aws:iam::{account}:role/{spec['name']}",
            "name": f"{spec['name']} ({account})",
            "maxSessionSeconds": spec.get("maxSessionSeconds", 3600),
            "userVerification": spec.get("userVerification", "preferred"),
            "assurance": spec.get("assurance", "any"),
            "aaguids": [],
        }
        for account in MEMBER_ACCOUNTS
        for spec in MEMBER_ROLES
    ]
    assert roles == expected


def test_the_broker_may_assume_the_listed_roles_and_tagged_roles_of_the_organization(
    organization: dict[str, Any],
) -> None:
    listed, organization_wide = _sts_statements(organization["template"])
    assert sorted(_resolve(arn) for arn in listed["Resource"]) == sorted(
        [CROSS_ACCOUNT_ROLE_ARN]
        + [
            f"arn:aws:iam::{account}:role/{spec['name']}"
            for account in MEMBER_ACCOUNTS
            for spec in MEMBER_ROLES
        ]
    )
    assert listed["Condition"] == {"StringEquals": {"aws:ResourceTag/tapgate-gated": "true"}}
    assert sorted(organization_wide["Action"]) == sorted(listed["Action"])
    assert organization_wide["Resource"] == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::*:role/*"]]
    }
    assert organization_wide["Condition"] == {
        "StringEquals": {
            "aws:ResourceOrgID": ORGANIZATION_ID,
            "aws:ResourceTag/tapgate-gated": "true",
        }
    }


def test_cdk_nag_checks_the_member_stack_too(tmp_path: Path) -> None:
    app, _stack = build_app(context=no_bundling(organization_context()), outdir=str(tmp_path))
    member = app.node.find_child(MEMBER_STACK_NAME)
    assert isinstance(member, MemberAccountStack)
    sqs.Queue(member, "UnencryptedQueue", enforce_ssl=False)
    with pytest.raises(RuntimeError, match="ValidationFailed") as caught:
        app.synth()
    assert f"{MEMBER_STACK_NAME}/UnencryptedQueue" in str(caught.value)
