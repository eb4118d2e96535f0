"""The evaluator's AWS rules, one rule per test, each with the near-miss that flips it."""

from __future__ import annotations

from typing import Any

import pytest

from tapgate.audit.errors import PolicyFormatError
from tapgate.audit.evaluator import Request, evaluate
from tapgate.audit.policy import Policy, parse_policy


def allow_with(condition: dict) -> list:
    return [
        parse_policy(
            {
                "Statement": [
                    {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}
                ]
            }
        )
    ]


def decide(policies: list, context: dict | None = None, action: str = "iam:CreateUser") -> str:
    return evaluate(Request.make(action, context=context or {}), identity=policies).result


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        ({"Bool": {"aws:MultiFactorAuthPresent": "true"}}, {}, "ImplicitlyDenied"),
        ({"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}, {}, "Allowed"),
        ({"StringNotEquals": {"aws:PrincipalTag/tapgate-mfa": "webauthn"}}, {}, "Allowed"),
        ({"StringEquals": {"aws:PrincipalTag/tapgate-mfa": "webauthn"}}, {}, "ImplicitlyDenied"),
        ({"Null": {"aws:MultiFactorAuthPresent": "true"}}, {}, "Allowed"),
        ({"Null": {"aws:MultiFactorAuthPresent": "false"}}, {}, "ImplicitlyDenied"),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}}, {}, "Allowed"),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]}}, {}, "ImplicitlyDenied"),
    ],
)
def test_missing_key_rules(condition: dict, context: dict, expected: str) -> None:
    assert decide(allow_with(condition), context) == expected


def test_multi_valued_key_without_set_operator_never_matches() -> None:
    policies = allow_with({"StringEquals": {"aws:TagKeys": "a"}})
    assert decide(policies, {"aws:TagKeys": ["a", "b"]}) == "ImplicitlyDenied"
    assert (
        decide(
            allow_with({"ForAnyValue:StringEquals": {"aws:TagKeys": "a"}}),
            {"aws:TagKeys": ["a", "b"]},
        )
        == "Allowed"
    )


def test_explicit_deny_beats_allow() -> None:
    policies = [
        parse_policy({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
        parse_policy({"Statement": [{"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]}),
    ]
    assert decide(policies) == "ExplicitlyDenied"
    assert decide(policies, action="s3:GetObject") == "Allowed"


def test_condition_key_names_are_case_insensitive() -> None:
    policies = allow_with({"Bool": {"aws:multifactorauthpresent": "true"}})
    assert decide(policies, {"aws:MultiFactorAuthPresent": "true"}) == "Allowed"


def test_boundary_must_also_allow() -> None:
    identity = [parse_policy({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})]
    boundary = parse_policy({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    request = Request.make("iam:CreateUser")
    assert evaluate(request, identity=identity, boundaries=[boundary]).result == "ImplicitlyDenied"
    assert evaluate(request, identity=identity).result == "Allowed"


def test_template_placeholders_in_resources_are_opaque_text() -> None:
    policy = parse_policy(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "execute-api:Invoke",
                    "Resource": "arn:${Partition}:execute-api:*",
                }
            ]
        }
    )
    assert evaluate(
        Request.make("execute-api:Invoke", "arn:${Partition}:execute-api:x:1:a/b"),
        identity=[policy],
    ).allowed


@pytest.mark.parametrize(
    "document",
    [
        {"Statement": [{"Effect": "Permit", "Action": "*", "Resource": "*"}]},
        {"Statement": [{"Effect": "Allow", "Resource": "*"}]},
        {
            "Statement": [
                {"Effect": "Allow", "Action": "*", "Condition": {"StringSmells": {"k": "v"}}}
            ]
        },
        {
            "Statement": [
                {"Effect": "Allow", "Action": "*", "Condition": {"NullIfExists": {"k": "true"}}}
            ]
        },
        {"Version": "2012-10-17"},
        ["not", "an", "object"],
    ],
)
def test_malformed_documents_raise_policy_format_error(document: object) -> None:
    with pytest.raises(PolicyFormatError):
        parse_policy(document)


ACCOUNT = "111122223333"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/ops/alice"
OUTSIDER = "arn:aws:iam::444455556666:user/bob"
ALLOW_ALL = parse_policy({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
S3_ONLY = parse_policy({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})


def trust_naming(principal: object) -> Policy:
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    return parse_policy({"Statement": [statement]}, kind="trust")


def assume(caller: str, trust: Policy, **layers: Any) -> str:
    request = Request.make(
        "sts:AssumeRole",
        f"arn:aws:iam::{ACCOUNT}:role/gated",
        principal=caller,
        resource_account=ACCOUNT,
    )
    return evaluate(request, resource=trust, **layers).result


def test_a_trust_naming_the_caller_is_enough_alone() -> None:
    assert assume(USER, trust_naming({"AWS": USER})) == "Allowed"
    assert assume(USER, trust_naming({"AWS": USER}), boundaries=[S3_ONLY]) == "Allowed"


def test_a_trust_naming_the_account_delegates_to_the_identity_policy() -> None:
    root = trust_naming({"AWS": f"arn:aws:iam::{ACCOUNT}:root"})
    assert assume(USER, root) == "ImplicitlyDenied"
    assert assume(USER, root, identity=[ALLOW_ALL]) == "Allowed"
    assert assume(USER, root, identity=[ALLOW_ALL], boundaries=[S3_ONLY]) == "ImplicitlyDenied"


def test_a_trust_naming_the_role_of_a_session_is_limited_by_a_boundary() -> None:
    by_role = trust_naming({"AWS": f"arn:aws:iam::{ACCOUNT}:role/ops"})
    assert assume(SESSION, by_role) == "Allowed"
    assert assume(SESSION, by_role, boundaries=[S3_ONLY]) == "ImplicitlyDenied"
    assert assume(SESSION, trust_naming({"AWS": SESSION}), boundaries=[S3_ONLY]) == "Allowed"


def test_identity_policy_alone_never_assumes_a_role() -> None:
    other = trust_naming({"AWS": f"arn:aws:iam::{ACCOUNT}:user/mallory"})
    assert assume(USER, other, identity=[ALLOW_ALL]) == "ImplicitlyDenied"
    assert assume(USER, trust_naming({"AWS": USER}), identity=[ALLOW_ALL]) == "Allowed"


def test_across_accounts_both_sides_must_allow() -> None:
    named = trust_naming({"AWS": OUTSIDER})
    assert assume(OUTSIDER, named) == "ImplicitlyDenied"
    assert assume(OUTSIDER, named, identity=[ALLOW_ALL]) == "Allowed"


def test_a_not_principal_deny_denies_principals_with_a_boundary() -> None:
    allow = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}
    deny = {"Effect": "Deny", "NotPrincipal": {"AWS": USER}, "Action": "*", "Resource": "*"}
    bucket = parse_policy({"Statement": [allow, deny]}, kind="resource")
    request = Request.make("s3:GetObject", "arn:aws:s3:::b/k", principal=USER)
    assert evaluate(request, resource=bucket).result == "Allowed"
    assert evaluate(request, resource=bucket, boundaries=[ALLOW_ALL]).result == "ExplicitlyDenied"
