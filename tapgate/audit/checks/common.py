"""What every check shares: the MFA condition keys, the options of a run, the sensitive-action
test and the one way to build a finding."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from tapgate.audit.actions import APPLICATION_ENTRY, SECRET_READS, SENSITIVE_LEVELS, load_catalog
from tapgate.audit.catalog import CHECKS
from tapgate.audit.findings import Finding, Severity
from tapgate.audit.policy import Condition, Policy, Statement

PRESENT = "aws:multifactorauthpresent"
AGE = "aws:multifactorauthage"
TAPGATE_TAG_KEYS = ("aws:principaltag/tapgate-mfa", "aws:principaltag/tapgate-uv")
SINGLE_VALUED = (PRESENT, AGE, *TAPGATE_TAG_KEYS)

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

# Any one of these on any resource lets a principal grant itself everything.
ADMIN_ACTIONS = (
    "iam:AttachUserPolicy",
    "iam:AttachRolePolicy",
    "iam:PutUserPolicy",
    "iam:PutRolePolicy",
    "iam:CreatePolicyVersion",
    "iam:UpdateAssumeRolePolicy",
)

ACCOUNT = "111122223333"


DEFAULT_SENSITIVE = (
    "the access levels Write, Permissions management and Tagging (but "
    + ", ".join(APPLICATION_ENTRY)
    + "), and "
    + ", ".join(SECRET_READS)
)


@dataclass(frozen=True)
class AuditOptions:
    # None: the catalog's access levels (SENSITIVE_LEVELS) plus SECRET_READS
    sensitive_actions: tuple[str, ...] | None = None
    max_mfa_age: int = 3600
    mfa_age: int = 300
    scps: tuple[tuple[Policy, ...], ...] = ()
    session_policy: Policy | None = None


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


@cache
def _sensitive(patterns: tuple[str, ...] | None) -> int:
    catalog = load_catalog()
    if patterns is None:
        chosen = catalog.level_mask(SENSITIVE_LEVELS) & ~catalog.mask_of(APPLICATION_ENTRY)
        chosen |= catalog.mask_of(SECRET_READS)
    else:
        chosen = catalog.mask_of(patterns)
    return chosen & ~catalog.mask_of(MFA_BOOTSTRAP)


def sensitive_mask(options: AuditOptions) -> int:
    """The catalog's actions that need MFA under these options (never the MFA bootstrap)."""
    return _sensitive(options.sensitive_actions)


def statement_mask(statement: Statement) -> int:
    """The catalog's actions a statement's Action or NotAction covers."""
    catalog = load_catalog()
    if statement.actions is not None:
        return catalog.mask_of(statement.actions)
    return catalog.everything & ~catalog.mask_of(statement.not_actions or ())


def shown(mask: int, *, limit: int = 5) -> str:
    """Real action names for a message: a few examples, the strongest first, and the count."""
    catalog = load_catalog()
    count = mask.bit_count()
    names = ", ".join(catalog.examples(mask, limit, first=catalog.mask_of(ADMIN_ACTIONS)))
    return names if count <= limit else f"{count} actions, e.g. {names}"
