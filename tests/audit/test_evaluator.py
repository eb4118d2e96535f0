"""The evaluator's AWS rules, one rule per test, each with the near-miss that flips it."""

from __future__ import annotations

import pytest

from tapgate.audit.errors import PolicyFormatError
from tapgate.audit.evaluator import Request, evaluate
from tapgate.audit.policy import parse_policy


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
