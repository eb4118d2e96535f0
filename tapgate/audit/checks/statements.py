"""Statement checks (MFA002-MFA009, MFA011): how an MFA condition is written, read from the
statement alone, without evaluating any request."""

from __future__ import annotations

from tapgate.audit.actions import PERMISSIONS, SECRET_READS, load_catalog
from tapgate.audit.checks.common import (
    AGE,
    MFA_SELF_MANAGEMENT,
    PRESENT,
    SELF,
    SINGLE_VALUED,
    AuditOptions,
    is_mfa_guard,
    make_finding,
    sensitive_mask,
    shown,
    statement_mask,
    values_lower,
)
from tapgate.audit.conditions import parse_number
from tapgate.audit.findings import Finding, Severity
from tapgate.audit.policy import Condition, Policy, Statement


def _own(statement: Statement) -> bool:
    """Every resource of the statement is the caller's own (named by ${aws:username})."""
    return statement.resources is not None and all(SELF in r.lower() for r in statement.resources)


def _needs_age_limit(statement: Statement, options: AuditOptions) -> bool:
    """Does an Allow that requires MFA grant something sensitive enough to bound the MFA age?
    Not for a user's own MFA device alone (AWS's documented self-service policies)."""
    granted = statement_mask(statement) & sensitive_mask(options)
    if _own(statement):
        granted &= ~load_catalog().mask_of(MFA_SELF_MANAGEMENT)
    return granted != 0


def statement_findings(policy: Policy, options: AuditOptions) -> list[Finding]:
    out: list[Finding] = []
    for st in policy.statements:
        allow = st.effect == "Allow"
        where = f"{policy.name} {st.label}"
        age_bounded = False
        requires_mfa = False
        for c in st.conditions:
            key, base, values = c.key_lower, c.base, values_lower(c)
            if key in SINGLE_VALUED and c.set_operator is not None and base != "null":
                loose = allow and c.set_operator == "forallvalues"
                out.append(
                    make_finding(
                        "MFA009",
                        f"{where}: {c.operator} on single-valued {c.key}"
                        + (" is true when the key is missing" if loose else ""),
                        policy=policy,
                        statement=st,
                        severity=Severity.HIGH if loose else None,
                    )
                )
            if key == PRESENT:
                out.extend(_present_findings(policy, st, c, where))
                if allow and base == "bool" and values == {"true"} and not c.if_exists:
                    requires_mfa = True
            elif key == AGE:
                bounded, found = _age_findings(policy, st, c, where, options)
                age_bounded = age_bounded or bounded
                out.extend(found)
        if allow and requires_mfa and not age_bounded and _needs_age_limit(st, options):
            out.append(
                make_finding(
                    "MFA007",
                    f"{where}: requires MFA for sensitive actions but sets no "
                    f"aws:MultiFactorAuthAge limit (an MFA session may last 36 hours)",
                    policy=policy,
                    statement=st,
                    severity=Severity.LOW,
                )
            )
        if is_mfa_guard(st):
            out.extend(_exemption_findings(policy, st, where, options))
    return out


def _needs_age(st: Statement) -> bool:
    """The statement requires aws:MultiFactorAuthAge to be present (no IfExists, not Null)."""
    return any(
        c.key_lower == AGE and not c.if_exists and c.base != "null" and c.set_operator is None
        for c in st.conditions
    )


def _names_only_roles(policy: Policy, st: Statement) -> bool:
    """A trust statement whose principals are all roles: their callers are role sessions, which
    always carry aws:MultiFactorAuthPresent, so Bool works there."""
    names = (st.principal or {}).get("AWS", ())
    return policy.kind == "trust" and bool(names) and all(":role/" in n for n in names)


def _allow_false(policy: Policy, st: Statement, c: Condition, where: str) -> Finding:
    return make_finding(
        "MFA006",
        f"{where}: Allow requires {c.key}=false, granting access only without MFA",
        policy=policy,
        statement=st,
    )


def _present_findings(policy: Policy, st: Statement, c: Condition, where: str) -> list[Finding]:
    out = []
    allow, base, values = st.effect == "Allow", c.base, values_lower(c)
    if base == "bool":
        if not values <= {"true", "false"}:
            out.append(
                make_finding(
                    "MFA008",
                    f"{where}: {c.operator} {c.key} has {sorted(c.values)}, not true/false; "
                    "it never matches",
                    policy=policy,
                    statement=st,
                    severity=Severity.HIGH,
                )
            )
        elif not allow and values == {"false"} and _needs_age(st):
            out.append(
                make_finding(
                    "MFA002",
                    f"{where}: Deny with {c.operator} {c.key}=false that also tests "
                    "aws:MultiFactorAuthAge never applies to anything: the age key is present "
                    "only after MFA, when the Present key is true",
                    policy=policy,
                    statement=st,
                )
            )
        elif not allow and values == {"false"} and not c.if_exists and c.set_operator is None:
            if not _names_only_roles(policy, st):  # a role session always carries the key
                out.append(
                    make_finding(
                        "MFA002",
                        f"{where}: Deny with Bool {c.key}=false does not apply to requests "
                        "signed with long-term access keys, which carry no MFA key at all",
                        policy=policy,
                        statement=st,
                    )
                )
        elif allow and values == {"true"} and c.if_exists:
            out.append(
                make_finding(
                    "MFA003",
                    f"{where}: Allow with BoolIfExists {c.key}=true admits long-term access keys",
                    policy=policy,
                    statement=st,
                )
            )
        elif allow and values == {"false"}:
            out.append(_allow_false(policy, st, c, where))
    elif base == "null":
        if allow and values == {"false"}:
            out.append(
                make_finding(
                    "MFA004",
                    f"{where}: Null {c.key}=false admits any temporary credentials, with or "
                    "without MFA",
                    policy=policy,
                    statement=st,
                )
            )
        elif not allow and values == {"true"}:
            out.append(
                make_finding(
                    "MFA005",
                    f"{where}: Deny with Null {c.key}=true stops only long-term keys; temporary "
                    "credentials without MFA pass",
                    policy=policy,
                    statement=st,
                )
            )
    else:
        if allow and values == {"false"} and not c.base.startswith("stringnot"):
            out.append(_allow_false(policy, st, c, where))
        out.append(
            make_finding(
                "MFA008",
                f"{where}: {c.operator} on {c.key}, a boolean key; use Bool",
                policy=policy,
                statement=st,
                severity=Severity.LOW if base.startswith("string") else None,
            )
        )
    return out


def _age_findings(
    policy: Policy, st: Statement, c: Condition, where: str, options: AuditOptions
) -> tuple[bool, list[Finding]]:
    """(does this condition bound the MFA age correctly, findings)."""
    if c.base == "null":
        return False, []
    if not c.base.startswith("numeric"):
        return False, [
            make_finding(
                "MFA008",
                f"{where}: {c.operator} on {c.key}, a numeric key; use NumericLessThan",
                policy=policy,
                statement=st,
            )
        ]
    numbers = [parse_number(v) for v in c.values]
    if any(n is None for n in numbers):
        return False, [
            make_finding(
                "MFA008",
                f"{where}: {c.key} values {list(c.values)} are not all numbers; they never match",
                policy=policy,
                statement=st,
                severity=Severity.HIGH,
            )
        ]
    limit = max(n for n in numbers if n is not None)
    allow = st.effect == "Allow"
    upper_bound = c.base in ("numericlessthan", "numericlessthanequals")
    lower_bound = c.base in ("numericgreaterthan", "numericgreaterthanequals")
    if (allow and lower_bound) or (not allow and upper_bound):
        return False, [
            make_finding(
                "MFA007",
                f"{where}: {c.operator} {c.key} {limit:g} in a{'n Allow' if allow else ' Deny'} "
                "works the wrong way round: it favours old MFA sessions",
                policy=policy,
                statement=st,
                severity=Severity.HIGH,
            )
        ]
    if (allow and upper_bound) or (not allow and lower_bound):
        if limit > options.max_mfa_age:
            return True, [
                make_finding(
                    "MFA007",
                    f"{where}: {c.key} limit {limit:g}s is above the allowed "
                    f"{options.max_mfa_age}s",
                    policy=policy,
                    statement=st,
                )
            ]
        return True, []
    return False, []


def _exemption_findings(
    policy: Policy, st: Statement, where: str, options: AuditOptions
) -> list[Finding]:
    """A guard's exemptions rated by what they let through without MFA: high for permissions
    management or secret reads, medium for other writes, low when this policy grants the
    exempted actions only on the caller's own resources (AWS's self-service policies), or when
    they are only the upkeep of one's own MFA device (iam:DeleteVirtualMFADevice, to retry an
    enrollment) and this policy grants them on nobody else's."""
    out = []
    catalog = load_catalog()
    holes = catalog.mask_of(st.not_actions or ()) & sensitive_mask(options)
    if holes:
        own = broad = 0
        for other in policy.statements:
            if other.effect == "Allow":
                if _own(other):
                    own |= statement_mask(other)
                else:
                    broad |= statement_mask(other)
        # Own MFA device upkeep (retrying an enrollment) that this policy grants nobody broadly
        upkeep = catalog.mask_of(MFA_SELF_MANAGEMENT) & ~broad
        rest = holes & ~(own & ~broad) & ~upkeep
        strong = catalog.level_mask((PERMISSIONS,)) | catalog.mask_of(SECRET_READS)
        if not rest and not holes & ~(own & ~broad):
            severity, why = Severity.LOW, ", granted here only on the caller's own resources"
        elif not rest:
            severity, why = (
                Severity.LOW,
                ": the upkeep of one's own MFA device (a retried enrollment)",
            )
        elif rest & strong:
            severity, why = Severity.HIGH, ""
        else:
            severity, why = Severity.MEDIUM, ""
        out.append(
            make_finding(
                "MFA011",
                f"{where}: the MFA guard's NotAction exempts sensitive actions {shown(holes)}{why}",
                policy=policy,
                statement=st,
                severity=severity,
            )
        )
    if st.not_resources is not None:
        out.append(
            make_finding(
                "MFA011",
                f"{where}: the MFA guard's NotResource exempts {list(st.not_resources)} from MFA",
                policy=policy,
                statement=st,
                severity=Severity.MEDIUM,
            )
        )
    return out
