"""Condition keys the credential scenario does not fix (region, secure transport, source IP,
organization, other tags): a statement conditioned on them may apply, and a finding says which
values decide. Each case changes one thing against its neighbour."""

from __future__ import annotations

from typing import Any

from tapgate.audit.checks import run_checks
from tapgate.audit.inventory import Inventory, Subject
from tapgate.audit.policy import parse_policy


def _ids(*statements: dict[str, Any]) -> list[tuple[str, str]]:
    policy = parse_policy({"Statement": list(statements)}, name="p.json", source="p.json")
    inventory = Inventory(subjects=[Subject("p.json", "policy", "p.json", identity=(policy,))])
    return [(f.check_id, f.message) for f in run_checks(inventory)]


ADMIN_IN_REGION = {
    "Sid": "AdminInOneRegion",
    "Effect": "Allow",
    "Action": "*",
    "Resource": "*",
    "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}},
}
GUARD_IN_REGION = {
    "Sid": "NoMfaNoAccess",
    "Effect": "Deny",
    "Action": "*",
    "Resource": "*",
    "Condition": {
        "BoolIfExists": {"aws:MultiFactorAuthPresent": "false"},
        "StringEquals": {"aws:RequestedRegion": "eu-west-1"},
    },
}


def test_allow_on_a_region_is_admin_without_mfa_in_that_region() -> None:
    found = _ids(ADMIN_IN_REGION)
    assert {check for check, _ in found} == {"MFA001", "MFA015"}
    (admin,) = [m for c, m in found if c == "MFA015"]
    assert "iam:AttachUserPolicy" in admin or "iam:PutUserPolicy" in admin
    (message,) = [m for c, m in found if c == "MFA001"]
    assert "when aws:RequestedRegion=eu-west-1" in message


def test_guard_on_the_same_region_closes_it() -> None:
    assert _ids(ADMIN_IN_REGION, GUARD_IN_REGION) == []


def test_guard_on_another_region_does_not() -> None:
    other = {**GUARD_IN_REGION, "Condition": {**GUARD_IN_REGION["Condition"]}}
    other["Condition"]["StringEquals"] = {"aws:RequestedRegion": "us-east-1"}
    found = _ids(ADMIN_IN_REGION, other)
    assert "MFA001" in {check for check, _ in found}


def test_secure_transport_allow_is_reported_with_its_deciding_value() -> None:
    allow = {
        "Sid": "IamOverTls",
        "Effect": "Allow",
        "Action": "iam:*",
        "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "true"}},
    }
    found = _ids(allow)
    (message,) = [m for c, m in found if c == "MFA001"]
    assert "when aws:SecureTransport=true" in message


def test_guard_that_also_requires_tls_still_guards() -> None:
    """An MFA guard written with a second key every request carries is not 'never applies'."""
    allow = {"Sid": "Iam", "Effect": "Allow", "Action": "iam:*", "Resource": "*"}
    guard = {
        "Sid": "Guard",
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {
            "BoolIfExists": {"aws:MultiFactorAuthPresent": "false"},
            "Bool": {"aws:SecureTransport": ["true", "false"]},
        },
    }
    assert _ids(allow, guard) == []


def _trust_ids(*statements: dict[str, Any]) -> list[str]:
    trust = parse_policy({"Statement": list(statements)}, name="t", kind="trust", source="t")
    return [f.check_id for f in run_checks(Inventory(loose_policies=[trust]))]


ORG_TRUST = {
    "Sid": "AnyoneInTheOrganization",
    "Effect": "Allow",
    "Principal": {"AWS": "*"},
    "Action": "sts:AssumeRole",
    "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
}


def test_trust_limited_to_an_organization_is_still_without_mfa() -> None:
    trust = parse_policy({"Statement": [ORG_TRUST]}, name="t", kind="trust", source="t")
    (finding,) = run_checks(Inventory(loose_policies=[trust]))
    assert finding.check_id == "MFA010"
    assert "when aws:PrincipalOrgID=o-a1b2c3d4e5" in finding.message


def test_trust_limited_to_an_organization_with_mfa_is_clean() -> None:
    with_mfa = {**ORG_TRUST, "Condition": {**ORG_TRUST["Condition"]}}
    with_mfa["Condition"]["Bool"] = {"aws:MultiFactorAuthPresent": "true"}
    assert "MFA010" not in _trust_ids(with_mfa)


def test_trust_open_to_every_account_with_mfa_is_high() -> None:
    """Principal "*" with an MFA condition: any account's MFA session may come in."""
    anyone = {**ORG_TRUST, "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}
    trust = parse_policy({"Statement": [anyone]}, name="t", kind="trust", source="t")
    (finding,) = [
        f for f in run_checks(Inventory(loose_policies=[trust])) if f.check_id == "MFA010"
    ]
    assert finding.severity.name == "HIGH"
    assert "any AWS account" in finding.message
