"""The API's resource policy, evaluated as IAM would (the "Also" item of issue 10).

The threat model says stolen long-term access keys alone cannot register a first key. Only
the caller's own IAM policy used to say so; anyone with broad execute-api:Invoke
(AdministratorAccess, PowerUserAccess) could register without MFA. The API's resource
policy now denies the first-key routes to principals without MFA (Identity Center sessions
exempt by their role's path). Each request below is decided by tapgate's audit evaluator
and by the IAM oracle (@cloud-copilot/iam-simulate, Strict mode), and both must give the
expected decision.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tapgate.audit.evaluator import Request, evaluate
from tapgate.audit.policy import parse_policy
from tapgate_contract.policies import api_resource_policy, route_arn
from tapgate_contract.routes import ROUTES, Auth, Route
from tests.audit.conftest import oracle_ready  # noqa: F401  (the fixture, used by name)
from tests.audit.test_differential import run_oracle
from tests.infrastructure.conftest import resources_of

ACCOUNT = "111122223333"  # the oracle's resource account
OTHER = "444455556666"
REGION = "eu-west-1"
API = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:a1b2c3d4e5/"  # what API Gateway puts in
POLICY = api_resource_policy(partition="aws", account=ACCOUNT, api=API)
ADMINISTRATOR = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
SSO_ROLE = (
    f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/{REGION}/AWSReservedSSO_Admin_0a1b"
)
FAKE_SSO_ROLE = f"arn:aws:iam::{ACCOUNT}:role/attacker/AWSReservedSSO_Admin_9z8y"
DEV_ROLE = f"arn:aws:iam::{ACCOUNT}:role/developer"


def session_of(role_arn: str, name: str = "alice") -> str:
    account = role_arn.split(":")[4]
    return f"arn:aws:sts::{account}:assumed-role/{role_arn.rsplit('/', 1)[1]}/{name}"


# who asks: (principal, request context); every one of them has AdministratorAccess
CALLERS: dict[str, tuple[str, dict[str, str]]] = {
    # long-term access keys: no MFA key in the request at all
    "iam-user-access-keys": (f"arn:aws:iam::{ACCOUNT}:user/alice", {}),
    # GetSessionToken with and without an MFA code
    "iam-user-mfa-session": (
        f"arn:aws:iam::{ACCOUNT}:user/alice",
        {"aws:MultiFactorAuthPresent": "true"},
    ),
    "iam-user-session-no-mfa": (
        f"arn:aws:iam::{ACCOUNT}:user/alice",
        {"aws:MultiFactorAuthPresent": "false"},
    ),
    "role-session-no-mfa": (session_of(DEV_ROLE), {"aws:MultiFactorAuthPresent": "false"}),
    "role-session-mfa": (session_of(DEV_ROLE), {"aws:MultiFactorAuthPresent": "true"}),
    # IAM Identity Center: no MFA key; the role's ARN carries the reserved path
    "sso-session": (session_of(SSO_ROLE), {}),
    "fake-sso-session": (session_of(FAKE_SSO_ROLE), {"aws:MultiFactorAuthPresent": "false"}),
    "other-account-admin-mfa": (
        f"arn:aws:iam::{OTHER}:user/alice",
        {"aws:MultiFactorAuthPresent": "true"},
    ),
}
WITH_MFA_OR_SSO = {"iam-user-mfa-session", "role-session-mfa", "sso-session"}
SAME_ACCOUNT = set(CALLERS) - {"other-account-admin-mfa"}


def request_arn(target: Route) -> str:
    """The ARN of one concrete request to ``target`` (path parameters filled in)."""
    path = route_arn(target, api="").split("/")
    return API + "/".join("x1" if part == "*" else part for part in path)


def route(method: str, path: str) -> Route:
    (found,) = [r for r in ROUTES if (r.method, r.path) == (method, path)]
    return found


FIRST_KEY_ROUTES = [
    route("POST", "/registration/options"),
    route("POST", "/registration/verify"),
    route("POST", "/enrollments"),
]
OTHER_SIGNED = [r for r in ROUTES if r.auth is Auth.SIGV4 and r not in FIRST_KEY_ROUTES]
PUBLIC = [r for r in ROUTES if r.auth is Auth.PUBLIC]


def expected(caller: str, target: Route) -> str:
    if caller not in SAME_ACCOUNT:
        return "ImplicitlyDenied"  # across accounts both sides must allow; the policy does not
    if target in FIRST_KEY_ROUTES and caller not in WITH_MFA_OR_SSO:
        return "ExplicitlyDenied"
    return "Allowed"


def cases() -> list[tuple[str, Route, dict[str, Any]]]:
    found = []
    roles = {session_of(r): r for r in (SSO_ROLE, FAKE_SSO_ROLE, DEV_ROLE)}
    assert len(roles) == 3
    for caller, (principal, context) in CALLERS.items():
        # aws:PrincipalArn: an IAM user's ARN, or a role session's role (path included)
        principal_arn = principal if ":user/" in principal else roles[principal]
        for target in FIRST_KEY_ROUTES + OTHER_SIGNED:
            found.append(
                (
                    caller,
                    target,
                    {
                        "principal": principal,
                        "action": "execute-api:Invoke",
                        "resource": request_arn(target),
                        "context": {"aws:PrincipalArn": principal_arn, **context},
                        "identity": [ADMINISTRATOR],
                        "resourcePolicy": POLICY,
                    },
                )
            )
    return found


def ours(case: dict[str, Any]) -> str:
    request = Request.make(
        case["action"],
        case["resource"],
        principal=case["principal"],
        context=case["context"],
        resource_account=ACCOUNT,
    )
    return evaluate(
        request,
        identity=[parse_policy(p) for p in case["identity"]],
        resource=parse_policy(case["resourcePolicy"], kind="resource"),
    ).result


CASES = cases()


@pytest.mark.parametrize(
    ("caller", "target", "case"), CASES, ids=[f"{c}-{t.method}{t.path}" for c, t, _ in CASES]
)
def test_the_evaluator_decides_each_request_as_designed(caller, target, case):
    assert ours(case) == expected(caller, target)


def test_the_oracle_agrees(oracle_ready: Path):  # noqa: F811
    answers = run_oracle(oracle_ready, [case for _, _, case in CASES])
    assert len(answers) == len(CASES)
    rejected = [(c, a) for (_, _, c), a in zip(CASES, answers, strict=True) if "error" in a]
    assert not rejected, rejected[:1]
    wrong = [
        (caller, f"{t.method} {t.path}", a["decision"], expected(caller, t))
        for (caller, t, _), a in zip(CASES, answers, strict=True)
        if a["decision"] != expected(caller, t)
    ]
    assert not wrong, json.dumps(wrong[:5])


def test_anyone_may_invoke_the_unsigned_routes_and_only_those():
    anonymous = f"arn:aws:iam::{ACCOUNT}:user/anonymous"  # stands for "no identity policy"
    for target in ROUTES:
        request = Request.make(
            "execute-api:Invoke",
            request_arn(target),
            principal=anonymous,
            context={"aws:PrincipalArn": anonymous},
            resource_account=ACCOUNT,
        )
        decision = evaluate(request, resource=parse_policy(POLICY, kind="resource")).result
        assert (decision == "Allowed") == (target in PUBLIC), (target, decision)


def test_the_first_key_routes_are_exactly_the_ones_marked_in_the_route_table():
    assert [r for r in ROUTES if r.needs_mfa] == FIRST_KEY_ROUTES
    step_up = [r.path for r in ROUTES if r.path.startswith("/registration/step-up/")]
    assert step_up == ["/registration/step-up/options", "/registration/step-up/verify"]


def _flatten(value: Any) -> Any:
    """A template value with Fn::Join/Ref turned into strings (${AWS::Partition} etc.)."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return "${" + value["Ref"] + "}"
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(_flatten(p) for p in parts)
    if isinstance(value, dict):
        return {k: _flatten(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_flatten(v) for v in value]
    return value


def test_the_deployed_api_carries_the_policy(raw: dict[str, Any]) -> None:
    (api,) = resources_of(raw, "AWS::ApiGateway::RestApi").values()
    deployed = _flatten(api["Properties"]["Policy"])
    assert deployed == api_resource_policy(
        partition="${AWS::Partition}", account="${AWS::AccountId}"
    )
