"""What findings say: each message matches the case it is about (one change per pair)."""

from __future__ import annotations

from typing import Any

from tapgate.audit.checks import run_checks
from tapgate.audit.inventory import Inventory
from tapgate.audit.policy import PolicyKind, parse_policy

ROLE = "arn:aws:iam::111122223333:role/ci"


def _findings(kind: PolicyKind, *statements: dict[str, Any]) -> list[tuple[str, str]]:
    policy = parse_policy({"Statement": list(statements)}, name="p", kind=kind, source="p")
    return [(f.check_id, f.message) for f in run_checks(Inventory(loose_policies=[policy]))]


GUARD = {
    "Sid": "Guard",
    "Effect": "Deny",
    "Action": "*",
    "Resource": "*",
    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}},
}


def test_deny_bool_false_speaks_of_long_term_keys() -> None:
    ((check, message),) = _findings("resource", {**GUARD, "Principal": "*"})
    assert check == "MFA002"
    assert "long-term access keys" in message


def test_deny_bool_false_with_an_age_never_applies() -> None:
    aged = {**GUARD, "Principal": "*", "Condition": {**GUARD["Condition"]}}
    aged["Condition"]["NumericGreaterThan"] = {"aws:MultiFactorAuthAge": "3600"}
    ((check, message),) = _findings("resource", aged)
    assert check == "MFA002"
    assert "never applies to anything" in message


def test_deny_bool_false_naming_only_roles_is_no_finding() -> None:
    """Role sessions always carry aws:MultiFactorAuthPresent: Bool false works for them."""
    allow = {"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "sts:AssumeRole"}
    deny = {**GUARD, "Principal": {"AWS": ROLE}, "Action": "sts:AssumeRole"}
    found = _findings("trust", allow, deny)
    assert "MFA002" not in {check for check, _ in found}


def test_trust_naming_a_role_speaks_of_its_sessions_not_long_term_keys() -> None:
    allow = {"Sid": "Ci", "Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "sts:AssumeRole"}
    ((check, message),) = _findings("trust", allow)
    assert check == "MFA010"
    assert "long-term" not in message
    assert "temporary-no-mfa" in message
