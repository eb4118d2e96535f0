"""The gating, trust and self-service policies: exact JSON, and behaviour under the
project's IAM policy evaluator (tapgate.audit.evaluator)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tapgate.audit.evaluator import Request, evaluate
from tapgate.audit.policy import Policy, parse_policy
from tapgate_contract.policies import gated_role_trust_policy
from tests.infrastructure.conftest import (
    GATING_POLICY_FILE,
    SELF_SERVICE_POLICY_FILE,
    only,
    resources_of,
)

ACCOUNT = "111122223333"
BROKER_ARN = f"arn:aws:iam::{ACCOUNT}:role/tapgate-broker"
BROKER_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/tapgate-broker/1234"
GOOD_TAGS = {
    "aws:RequestTag/tapgate-mfa": "webauthn",
    "aws:RequestTag/tapgate-uv": "true",
    "aws:RequestTag/tapgate-credential": "abcd1234",
    "aws:RequestTag/tapgate-assurance": "certified",
    "aws:TagKeys": ["tapgate-mfa", "tapgate-uv", "tapgate-credential", "tapgate-assurance"],
}


def _role(raw: dict[str, Any], name: str) -> dict[str, Any]:
    return only(raw, "AWS::IAM::Role", RoleName=name)[1]["Properties"]


def _broker_role_id(raw: dict[str, Any]) -> str:
    _, function = only(raw, "AWS::Lambda::Function", Handler="tapgate_broker.handler.handler")
    role_id: str = function["Properties"]["Role"]["Fn::GetAtt"][0]
    return role_id


def _with_broker_arn(raw: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(document).replace(
        json.dumps({"Fn::GetAtt": [_broker_role_id(raw), "Arn"]}), json.dumps(BROKER_ARN)
    )
    result: dict[str, Any] = json.loads(text)
    return result


def test_gating_policy_is_the_shipped_json(raw: dict[str, Any]) -> None:
    shipped = json.loads(GATING_POLICY_FILE.read_text(encoding="utf-8"))
    documents = [
        p["Properties"]["PolicyDocument"]
        for p in resources_of(raw, "AWS::IAM::ManagedPolicy").values()
    ]
    assert shipped in documents
    assert shipped == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TapgateDenyWithoutWebAuthn",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:PrincipalTag/tapgate-mfa": "webauthn"}},
            }
        ],
    }


def test_gated_roles_carry_the_gating_policy_and_their_own(raw: dict[str, Any]) -> None:
    (gating_ref,) = [
        {"Ref": k}
        for k, p in resources_of(raw, "AWS::IAM::ManagedPolicy").items()
        if p["Properties"]["PolicyDocument"]["Statement"][0]["Effect"] == "Deny"
    ]
    readonly = _role(raw, "tapgate-example-readonly")
    assert readonly["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/ReadOnlyAccess", gating_ref]
    assert readonly["MaxSessionDuration"] == 3600
    assert {"Key": "tapgate-gated", "Value": "true"} in readonly["Tags"]


def test_trust_policy_exact_json(raw: dict[str, Any]) -> None:
    trust = _with_broker_arn(
        raw, _role(raw, "tapgate-example-readonly")["AssumeRolePolicyDocument"]
    )
    broker = {"AWS": BROKER_ARN}
    identities = ["alice", "ops-*"]
    assert trust == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Action": "sts:AssumeRole",
                "Effect": "Allow",
                "Principal": broker,
                "Condition": {
                    "StringEquals": {"aws:RequestTag/tapgate-mfa": "webauthn"},
                    "StringLike": {"sts:SourceIdentity": identities},
                },
            },
            {
                "Action": "sts:TagSession",
                "Effect": "Allow",
                "Principal": broker,
                "Condition": {
                    "StringEquals": {
                        "aws:RequestTag/tapgate-mfa": "webauthn",
                        "aws:RequestTag/tapgate-uv": ["true", "false"],
                    },
                    "ForAllValues:StringEquals": {
                        "aws:TagKeys": [
                            "tapgate-mfa",
                            "tapgate-uv",
                            "tapgate-credential",
                            "tapgate-assurance",
                        ]
                    },
                    "Null": {"aws:RequestTag/tapgate-mfa": "false"},
                },
            },
            {
                "Action": "sts:SetSourceIdentity",
                "Effect": "Allow",
                "Principal": broker,
                "Condition": {"StringLike": {"sts:SourceIdentity": identities}},
            },
        ],
    }


def test_trust_policy_json_for_retrofits_matches_the_construct(raw: dict[str, Any]) -> None:
    synthesized = _with_broker_arn(
        raw, _role(raw, "tapgate-test-admin")["AssumeRolePolicyDocument"]
    )
    documented = gated_role_trust_policy(
        broker_role_arn=BROKER_ARN,
        allowed_source_identities=["alice"],
        require_user_verification=True,
        assurance="certified",
    )

    def canonical(doc: dict[str, Any]) -> str:
        return json.dumps(doc, sort_keys=True)

    assert canonical(synthesized) == canonical(documented)


@pytest.fixture(scope="module")
def trusts(raw: dict[str, Any]) -> dict[str, Policy]:
    return {
        name: parse_policy(
            _with_broker_arn(raw, _role(raw, name)["AssumeRolePolicyDocument"]), kind="trust"
        )
        for name in ("tapgate-example-readonly", "tapgate-test-admin")
    }


def _assume(
    trust: Policy,
    action: str = "sts:AssumeRole",
    *,
    principal: str = BROKER_SESSION,
    source_identity: str | None = "alice",
    **tag_changes: Any,
) -> bool:
    context: dict[str, Any] = {**GOOD_TAGS}
    for key, value in tag_changes.items():
        full = "aws:TagKeys" if key == "TagKeys" else f"aws:RequestTag/{key.replace('_', '-')}"
        if value is None:
            context.pop(full, None)
        else:
            context[full] = value
    if source_identity is not None:
        context["sts:SourceIdentity"] = source_identity
    request = Request.make(
        action, f"arn:aws:iam::{ACCOUNT}:role/x", principal=principal, context=context
    )
    return evaluate(request, resource=trust).allowed


@pytest.mark.parametrize("action", ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"])
def test_trust_allows_the_broker_with_tapgate_tags(trusts: dict[str, Policy], action: str) -> None:
    assert _assume(trusts["tapgate-example-readonly"], action)
    assert _assume(trusts["tapgate-example-readonly"], action, source_identity="ops-bob")


@pytest.mark.parametrize(
    ("action", "changes"),
    [
        ("sts:AssumeRole", {"principal": f"arn:aws:iam::{ACCOUNT}:user/alice"}),
        ("sts:AssumeRole", {"principal": f"arn:aws:iam::{ACCOUNT}:role/other"}),
        ("sts:AssumeRole", {"source_identity": "mallory"}),
        ("sts:AssumeRole", {"source_identity": None}),
        ("sts:AssumeRole", {"tapgate_mfa": None}),
        ("sts:AssumeRole", {"tapgate_mfa": "totp"}),
        ("sts:TagSession", {"tapgate_mfa": None}),
        ("sts:TagSession", {"tapgate_mfa": "WebAuthn"}),
        ("sts:TagSession", {"tapgate_uv": "maybe"}),
        ("sts:TagSession", {"TagKeys": ["tapgate-mfa", "tapgate-uv", "department"]}),
        ("sts:SetSourceIdentity", {"source_identity": "mallory"}),
    ],
)
def test_trust_denies_everything_else(
    trusts: dict[str, Policy], action: str, changes: dict[str, Any]
) -> None:
    assert not _assume(trusts["tapgate-example-readonly"], action, **changes)


@pytest.mark.parametrize("action", ["sts:AssumeRole", "sts:TagSession"])
@pytest.mark.parametrize(
    ("level", "allowed"),
    [
        ("certified", True),
        ("device-bound", False),
        ("synced", False),
        ("Certified", False),
        (None, False),  # no tag at all
    ],
)
def test_a_role_requiring_certified_keys_refuses_a_weaker_assurance_tag(
    trusts: dict[str, Policy], action: str, level: str | None, allowed: bool
) -> None:
    """IAM itself refuses a session for a weaker key, even if the broker were wrong."""
    assert _assume(trusts["tapgate-test-admin"], action, tapgate_assurance=level) is allowed


@pytest.mark.parametrize("level", ["certified", "device-bound", "synced"])
def test_a_role_taking_any_key_takes_every_level(trusts: dict[str, Policy], level: str) -> None:
    assert _assume(trusts["tapgate-example-readonly"], "sts:TagSession", tapgate_assurance=level)


def test_a_role_requiring_user_verification_refuses_uv_false(trusts: dict[str, Policy]) -> None:
    admin = trusts["tapgate-test-admin"]
    assert _assume(admin, "sts:TagSession", tapgate_uv="true")
    assert not _assume(admin, "sts:TagSession", tapgate_uv="false")


@pytest.mark.parametrize(
    ("tags", "allowed"),
    [
        ({"aws:PrincipalTag/tapgate-mfa": "webauthn"}, True),
        ({}, False),
        ({"aws:PrincipalTag/tapgate-mfa": "totp"}, False),
        ({"aws:PrincipalTag/tapgate-mfa": "WEBAUTHN"}, False),
        ({"aws:PrincipalTag/tapgate-uv": "true"}, False),
    ],
)
def test_gating_policy_denies_sessions_without_the_webauthn_tag(
    tags: dict[str, str], allowed: bool
) -> None:
    gating = parse_policy(json.loads(GATING_POLICY_FILE.read_text(encoding="utf-8")))
    grant = parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }
    )
    request = Request.make(
        "s3:GetObject",
        "arn:aws:s3:::bucket/key",
        principal=f"arn:aws:sts::{ACCOUNT}:assumed-role/tapgate-example-readonly/alice",
        context=tags,
    )
    assert evaluate(request, identity=[grant, gating]).allowed is allowed


def test_self_service_policy_is_the_shipped_json_for_this_api(raw: dict[str, Any]) -> None:
    api_id, _ = only(raw, "AWS::ApiGateway::RestApi")
    (policy,) = [
        p["Properties"]["PolicyDocument"]
        for p in resources_of(raw, "AWS::IAM::ManagedPolicy").values()
        if "execute-api" in json.dumps(p["Properties"])
    ]
    fill = {
        json.dumps({"Ref": "AWS::Partition"}): "aws",
        json.dumps({"Ref": "AWS::Region"}): "eu-west-1",
        json.dumps({"Ref": "AWS::AccountId"}): ACCOUNT,
        json.dumps({"Ref": api_id}): "a1b2c3",
    }

    def resolve(value: Any) -> Any:
        if isinstance(value, dict) and "Fn::Join" in value:
            return "".join(fill.get(json.dumps(p), p) for p in value["Fn::Join"][1])
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return value

    expected = json.loads(
        SELF_SERVICE_POLICY_FILE.read_text(encoding="utf-8")
        .replace("${Partition}", "aws")
        .replace("${Region}", "eu-west-1")
        .replace("${Account}", ACCOUNT)
        .replace("${ApiId}", "a1b2c3")
    )
    assert resolve(policy) == expected
