"""The broker's environment: the stack sets the contract's variables, the handler reads them."""

from __future__ import annotations

import json
from typing import Any

from tapgate_broker import settings
from tapgate_contract import environment
from tests.infrastructure.conftest import ADMIN_ROLE_ARN, EXTERNAL_ROLE_ARN, only


def _variables(raw: dict[str, Any]) -> dict[str, Any]:
    _, function = only(raw, "AWS::Lambda::Function", Handler="tapgate_broker.handler.handler")
    variables: dict[str, Any] = function["Properties"]["Environment"]["Variables"]
    return variables


def test_the_stack_sets_every_variable_but_the_local_only_ones(raw: dict[str, Any]) -> None:
    tapgate_vars = {k for k in _variables(raw) if k.startswith("TAPGATE_")}
    assert tapgate_vars == set(environment.ALL) - environment.LOCAL_ONLY
    assert set(environment.REQUIRED) <= tapgate_vars


def _resolve(value: Any, arns: dict[str, str]) -> str:
    """A Fn::Join of literals and GetAtt Arn, with the ARNs filled in."""
    if isinstance(value, str):
        return value
    parts = value["Fn::Join"][1]
    return "".join(p if isinstance(p, str) else arns[p["Fn::GetAtt"][0]] for p in parts)


def test_the_handler_reads_what_the_stack_writes(raw: dict[str, Any]) -> None:
    """Settings.from_env accepts the synthesized environment (tokens filled in)."""
    gated = [k for k, v in raw["Resources"].items() if v["Type"] == "AWS::IAM::Role"]
    arns = {k: f"arn:aws:iam::111122223333:role/{k}" for k in gated}
    env = {
        name: (f"table-{name}" if isinstance(value, dict) and "Ref" in value else value)
        for name, value in _variables(raw).items()
    }
    env[environment.ROLES] = _resolve(_variables(raw)[environment.ROLES], arns)
    parsed = settings.Settings.from_env(env)
    assert parsed.rp_id == "tapgate.example.com"
    assert parsed.origins == ("https://tapgate.example.com",)
    assert parsed.admins == ("alice", ADMIN_ROLE_ARN)
    assert parsed.identity_roles == ("arn:*:iam::*:role/aws-reserved/sso.amazonaws.com/*",)
    assert parsed.max_keys_per_user == 20
    by_name = {role.name: role for role in parsed.roles}
    assert set(by_name) == {"tapgate-example-readonly", "tapgate-test-admin", "Legacy admin"}
    assert by_name["tapgate-test-admin"].max_session_seconds == 1800
    assert by_name["tapgate-test-admin"].user_verification == "required"
    assert by_name["tapgate-test-admin"].require_sign_counter
    assert not by_name["tapgate-example-readonly"].require_sign_counter
    assert by_name["Legacy admin"].arn == EXTERNAL_ROLE_ARN
    assert json.loads(env[environment.ORIGINS]) == ["https://tapgate.example.com"]
