"""What every check shares: the MFA condition keys, the options of a run, the sensitive-action
test and the one way to build a finding."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from tapgate.audit.catalog import CHECKS
from tapgate.audit.evaluator import action_matches
from tapgate.audit.findings import Finding, Severity
from tapgate.audit.policy import Condition, Policy, Statement

PRESENT = "aws:multifactorauthpresent"
AGE = "aws:multifactorauthage"
TAPGATE_TAG_KEYS = ("aws:principaltag/tapgate-mfa", "aws:principaltag/tapgate-uv")
SINGLE_VALUED = (PRESENT, AGE, *TAPGATE_TAG_KEYS)

DEFAULT_SENSITIVE = (
    "*",
    "iam:*",
    "sts:*",
    "kms:*",
    "organizations:*",
    "account:*",
    "*:Delete*",
    "*:Terminate*",
    "*:Put*Policy",
    "*:Disable*",
    "*:Deactivate*",
)

# What a user must be able to do before they have MFA: set up a device and get an MFA session.
MFA_BOOTSTRAP = (
    "iam:CreateVirtualMFADevice",
    "iam:EnableMFADevice",
    "iam:ResyncMFADevice",
    "iam:ListMFADevices",
    "iam:ListVirtualMFADevices",
    "iam:GetMFADevice",
    "iam:ListMFADeviceTags",
    "iam:GetUser",
    "iam:ListUsers",
    "iam:ChangePassword",
    "iam:GetAccountPasswordPolicy",
    "iam:GetAccountSummary",
    "iam:ListAccountAliases",
    "sts:GetSessionToken",
    "sts:GetCallerIdentity",
)

# Removing one's own MFA device, which AWS's documented self-service policies allow with
# `Bool aws:MultiFactorAuthPresent true` and no age limit, on `user/${aws:username}` only.
MFA_SELF_MANAGEMENT = ("iam:DeactivateMFADevice", "iam:DeleteVirtualMFADevice")
SELF = "${aws:username}"

CATALOG_PROBES = (
    "iam:CreateUser",
    "iam:CreateAccessKey",
    "iam:AttachUserPolicy",
    "iam:PutRolePolicy",
    "iam:CreatePolicyVersion",
    "iam:UpdateAssumeRolePolicy",
    "iam:PassRole",
    "iam:DeactivateMFADevice",
    "iam:DeleteVirtualMFADevice",
    "sts:AssumeRole",
    "kms:Decrypt",
    "kms:ScheduleKeyDeletion",
    "organizations:LeaveOrganization",
    "s3:DeleteBucket",
    "s3:PutBucketPolicy",
    "ec2:TerminateInstances",
    "dynamodb:DeleteTable",
    "rds:DeleteDBInstance",
    "lambda:DeleteFunction",
)

# Any one of these on any resource lets a principal grant itself everything.
ADMIN_PROBES = (
    "iam:AttachUserPolicy",
    "iam:AttachRolePolicy",
    "iam:PutUserPolicy",
    "iam:PutRolePolicy",
    "iam:CreatePolicyVersion",
    "iam:UpdateAssumeRolePolicy",
)

ACCOUNT = "111122223333"


@dataclass(frozen=True)
class AuditOptions:
    sensitive_actions: tuple[str, ...] = DEFAULT_SENSITIVE
    max_mfa_age: int = 3600
    mfa_age: int = 300
    scps: tuple[tuple[Policy, ...], ...] = ()
    session_policy: Policy | None = None
    extra_probes: tuple[str, ...] = field(default=())


def make_finding(
    check_id: str,
    message: str,
    *,
    policy: Policy | None = None,
    statement: Statement | None = None,
    subject: str = "",
    source: str = "",
    severity: Severity | None = None,
) -> Finding:
    info = CHECKS[check_id]
    return Finding(
        check_id=check_id,
        severity=info.severity if severity is None else severity,
        message=message,
        fix=info.fix,
        source=source or (policy.source if policy else ""),
        subject=subject or (policy.name if policy else ""),
        statement=statement.label if statement else "",
        line=statement.line if statement else None,
    )


def values_lower(condition: Condition) -> set[str]:
    return {v.lower() for v in condition.values}


def _mfa_conditions(statement: Statement) -> Iterable[Condition]:
    return (c for c in statement.conditions if c.key_lower in SINGLE_VALUED)


def is_mfa_guard(statement: Statement) -> bool:
    return statement.effect == "Deny" and any(True for _ in _mfa_conditions(statement))


# Stands for "every action": only a statement granting Action "*" (or "*:*") matches it.
ANY_ACTION = "anyservice:AnyAction"


def is_sensitive(action: str, options: AuditOptions) -> bool:
    """Is this concrete action in the sensitive list? The entry "*" means "all actions",
    which only the ANY_ACTION probe stands for (not every action of every service)."""
    if action == ANY_ACTION:
        return "*" in options.sensitive_actions
    if any(action_matches(b, action) for b in MFA_BOOTSTRAP):
        return False
    return any(action_matches(p, action) for p in options.sensitive_actions if p != "*")


def _fill(pattern: str) -> str:
    """A concrete name that a wildcard pattern matches: stands for the rest of its family."""
    if pattern in ("*", "*:*"):
        return ANY_ACTION
    return pattern.replace("*", "Probe").replace("?", "X")
