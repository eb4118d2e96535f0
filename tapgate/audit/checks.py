"""The audit's checks. Statement checks read how an MFA condition is written; principal
checks ask the evaluator what each principal can do under the credential scenarios.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from tapgate.audit.catalog import CHECKS
from tapgate.audit.conditions import _resolve, parse_number
from tapgate.audit.evaluator import Request, action_matches, evaluate, normalize_context
from tapgate.audit.findings import Finding, Severity
from tapgate.audit.inventory import Inventory, Subject
from tapgate.audit.policy import Condition, Policy, Statement
from tapgate.audit.scenarios import Scenario, scenarios, without_mfa

PRESENT = "aws:multifactorauthpresent"
AGE = "aws:multifactorauthage"
TAPGATE_TAG_KEYS = ("aws:principaltag/tapgate-mfa", "aws:principaltag/tapgate-uv")
SINGLE_VALUED = (PRESENT, AGE, *TAPGATE_TAG_KEYS)
MFA_KEYS = (PRESENT, AGE, *TAPGATE_TAG_KEYS)

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


def _finding(
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


# ---------------------------------------------------------------- statement checks (2-9, 11)


def _values_lower(condition: Condition) -> set[str]:
    return {v.lower() for v in condition.values}


def _mfa_conditions(statement: Statement) -> Iterable[Condition]:
    return (c for c in statement.conditions if c.key_lower in MFA_KEYS)


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


def _needs_age_limit(statement: Statement, options: AuditOptions) -> bool:
    """Does an Allow that requires MFA grant something sensitive enough to bound the MFA age?
    Not for a user's own MFA device alone (AWS's documented self-service policies)."""
    if statement.not_actions is not None:
        return True
    self_scoped = statement.resources is not None and all(
        SELF in r.lower() for r in statement.resources
    )
    for pattern in statement.actions or ():
        action = _fill(pattern)
        if not is_sensitive(action, options):
            continue
        if self_scoped and any(action_matches(m, action) for m in MFA_SELF_MANAGEMENT):
            continue
        return True
    return False


def statement_findings(policy: Policy, options: AuditOptions) -> list[Finding]:
    out: list[Finding] = []
    for st in policy.statements:
        allow = st.effect == "Allow"
        where = f"{policy.name} {st.label}"
        age_bounded = False
        requires_mfa = False
        for c in st.conditions:
            key, base, values = c.key_lower, c.base, _values_lower(c)
            if key in SINGLE_VALUED and c.set_operator is not None and base != "null":
                loose = allow and c.set_operator == "forallvalues"
                out.append(
                    _finding(
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
                _finding(
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


def _present_findings(policy: Policy, st: Statement, c: Condition, where: str) -> list[Finding]:
    out = []
    allow, base, values = st.effect == "Allow", c.base, _values_lower(c)
    if base == "bool":
        if not values <= {"true", "false"}:
            out.append(
                _finding(
                    "MFA008",
                    f"{where}: {c.operator} {c.key} has {sorted(c.values)}, not true/false; "
                    "it never matches",
                    policy=policy,
                    statement=st,
                    severity=Severity.HIGH,
                )
            )
        elif not allow and values == {"false"} and not c.if_exists and c.set_operator is None:
            out.append(
                _finding(
                    "MFA002",
                    f"{where}: Deny with Bool {c.key}=false does not apply to long-term access "
                    "keys, which carry no MFA key at all",
                    policy=policy,
                    statement=st,
                )
            )
        elif allow and values == {"true"} and c.if_exists:
            out.append(
                _finding(
                    "MFA003",
                    f"{where}: Allow with BoolIfExists {c.key}=true admits long-term access keys",
                    policy=policy,
                    statement=st,
                )
            )
        elif allow and values == {"false"}:
            out.append(
                _finding(
                    "MFA006",
                    f"{where}: Allow requires {c.key}=false, granting access only without MFA",
                    policy=policy,
                    statement=st,
                )
            )
    elif base == "null":
        if allow and values == {"false"}:
            out.append(
                _finding(
                    "MFA004",
                    f"{where}: Null {c.key}=false admits any temporary credentials, with or "
                    "without MFA",
                    policy=policy,
                    statement=st,
                )
            )
        elif not allow and values == {"true"}:
            out.append(
                _finding(
                    "MFA005",
                    f"{where}: Deny with Null {c.key}=true stops only long-term keys; temporary "
                    "credentials without MFA pass",
                    policy=policy,
                    statement=st,
                )
            )
    else:
        if allow and values == {"false"} and not c.base.startswith("stringnot"):
            out.append(
                _finding(
                    "MFA006",
                    f"{where}: Allow requires {c.key}=false, granting access only without MFA",
                    policy=policy,
                    statement=st,
                )
            )
        out.append(
            _finding(
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
            _finding(
                "MFA008",
                f"{where}: {c.operator} on {c.key}, a numeric key; use NumericLessThan",
                policy=policy,
                statement=st,
            )
        ]
    numbers = [parse_number(v) for v in c.values]
    if any(n is None for n in numbers):
        return False, [
            _finding(
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
            _finding(
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
                _finding(
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
    out = []
    holes = sorted({a for a in st.not_actions or () if is_sensitive(_fill(a), options)})
    if holes:
        out.append(
            _finding(
                "MFA011",
                f"{where}: the MFA guard's NotAction exempts sensitive actions {holes}",
                policy=policy,
                statement=st,
            )
        )
    if st.not_resources is not None:
        out.append(
            _finding(
                "MFA011",
                f"{where}: the MFA guard's NotResource exempts {list(st.not_resources)} from MFA",
                policy=policy,
                statement=st,
                severity=Severity.MEDIUM,
            )
        )
    return out


# ------------------------------------------------------------ trust checks (10, 12)

BROAD = "broad"

# A trust that names an account delegates to that account: whoever its identity policies
# allow may come in. The audit assumes the worst, someone allowed to call STS at all.
CALLER_MAY_ASSUME = Policy(
    statements=(Statement(effect="Allow", index=0, actions=("sts:*",), resources=("*",)),),
    name="the caller's own permissions",
)


def _trust_principals(st: Statement) -> list[tuple[str, bool]]:
    """(probe caller ARN, broad?) for each AWS principal a trust statement names."""
    out: list[tuple[str, bool]] = []
    block = st.principal or {}
    for kind, values in block.items():
        for value in values:
            if kind == "*" or (kind == "AWS" and value == "*"):
                out.append(("arn:aws:iam::444455556666:user/anyone", True))
            elif kind == "AWS" and (value.isdigit() or value.endswith(":root")):
                account = value if value.isdigit() else value.split(":")[4]
                out.append((f"arn:aws:iam::{account}:user/anyone", True))
            elif kind == "AWS":
                out.append((value, False))
    return out


def _caller_context(scenario: Scenario, caller: str, extra: dict | None = None) -> dict:
    return normalize_context({**scenario.context, "aws:PrincipalArn": caller, **(extra or {})})


_CALLER_CHOSEN = ("sts:sourceidentity", "sts:rolesessionname", "sts:externalid", "aws:tagkeys")


def _caller_chosen(condition: Condition) -> bool:
    """Keys whose value the caller picks in its AssumeRole call, so a condition on them does
    not stop a caller without MFA. tapgate's own tags are the exception: only the broker,
    which verifies a WebAuthn assertion first, is meant to pass them (check 12 watches that)."""
    key = condition.key_lower
    if key.startswith("aws:requesttag/"):
        return not key.startswith("aws:requesttag/tapgate-")
    return key in _CALLER_CHOSEN


def _without_caller_chosen(trust: Policy) -> Policy:
    statements = tuple(
        replace(st, conditions=tuple(c for c in st.conditions if not _caller_chosen(c)))
        for st in trust.statements
    )
    return replace(trust, statements=statements)


def trust_entries_without_mfa(
    trust: Policy, options: AuditOptions
) -> list[tuple[Statement, str, bool, str]]:
    """(statement, caller, broad, scenario) for each way into the role without MFA."""
    out: list[tuple[Statement, str, bool, str]] = []
    original = trust
    trust = _without_caller_chosen(trust)
    for index, st in enumerate(trust.statements):
        if st.effect != "Allow":
            continue
        for caller, broad in _trust_principals(st):
            for scenario in without_mfa(scenarios(mfa_age=options.mfa_age)):
                request = Request("sts:AssumeRole", "*", caller, _caller_context(scenario, caller))
                decision = evaluate(request, identity=(CALLER_MAY_ASSUME,), resource=trust)
                if decision.allowed and any(s is st for _, s in decision.allowed_by):
                    out.append((original.statements[index], caller, broad, scenario.name))
                    break
    return out


def trust_findings(trust: Policy, subject: str, options: AuditOptions) -> list[Finding]:
    out = []
    reported: set[int] = set()
    for st, caller, broad, scenario in trust_entries_without_mfa(trust, options):
        if st.index in reported:
            continue
        reported.add(st.index)
        who = "anyone in the trusted account(s)" if broad else caller
        out.append(
            _finding(
                "MFA010",
                f"{subject}: {st.label} lets {who} assume the role without MFA ({scenario})",
                policy=trust,
                statement=st,
                subject=subject,
                severity=Severity.HIGH if broad else Severity.MEDIUM,
            )
        )
    tags = {
        "aws:RequestTag/tapgate-mfa": "webauthn",
        "aws:RequestTag/tapgate-uv": "true",
        "aws:RequestTag/tapgate-credential": "forged",
        "aws:TagKeys": ["tapgate-mfa", "tapgate-uv", "tapgate-credential"],
        "sts:SourceIdentity": "alice",
    }
    no_mfa = scenarios(mfa_age=options.mfa_age)[1]
    for st in trust.statements:
        if st.effect != "Allow":
            continue
        for caller, broad in _trust_principals(st):
            if not broad:
                continue
            request = Request("sts:TagSession", "*", caller, _caller_context(no_mfa, caller, tags))
            decision = evaluate(request, identity=(CALLER_MAY_ASSUME,), resource=trust)
            if decision.allowed and any(s is st for _, s in decision.allowed_by):
                out.append(
                    _finding(
                        "MFA012",
                        f"{subject}: {st.label} lets a broad principal pass tapgate-* session tags "
                        "(sts:TagSession) itself, so tag-based MFA can be faked",
                        policy=trust,
                        statement=st,
                        subject=subject,
                    )
                )
                break
    return out


# ------------------------------------------------------- principal checks (1, 13, 15)


def _is_human_reachable(subject: Subject) -> bool:
    """Roles trusted only by services (Lambda, EC2, ...) or federation are out of scope."""
    if subject.kind != "role" or subject.trust is None:
        return True
    return any(st.effect == "Allow" and _trust_principals(st) for st in subject.trust.statements)


def _subject_scenarios(subject: Subject, options: AuditOptions) -> tuple[Scenario, ...]:
    no_mfa = without_mfa(scenarios(mfa_age=options.mfa_age))
    if subject.kind == "role":
        if subject.trust is not None and not trust_entries_without_mfa(subject.trust, options):
            return ()
        return tuple(s for s in no_mfa if s.name != "long-term-key")
    return no_mfa


def _probes(subject: Subject, options: AuditOptions) -> list[str]:
    actions = {*CATALOG_PROBES, *options.extra_probes, ANY_ACTION}
    for policy in subject.identity:
        for st in policy.statements:
            if st.effect == "Allow":
                actions.update(_fill(a) for a in st.actions or ())
    return sorted(a for a in actions if is_sensitive(a, options))


def _probe_resources(action: str, subject: Subject, context: dict) -> list[str]:
    service = action.split(":", maxsplit=1)[0]
    resources = {f"arn:aws:{service}:us-east-1:{ACCOUNT}:probe/x"}
    for policy in subject.identity:
        for st in policy.statements:
            for pattern in st.resources or ():
                resolved = _resolve(pattern, context)
                if resolved is not None and pattern != "*":
                    resources.add(_fill(resolved))
    return sorted(resources)


def principal_findings(subject: Subject, options: AuditOptions) -> list[Finding]:
    if not subject.identity or not _is_human_reachable(subject):
        return []
    layered = bool(options.scps or options.session_policy or subject.boundary)
    check_id = "MFA013" if layered else "MFA001"
    principal = subject.arn or f"arn:aws:iam::{ACCOUNT}:user/alice"
    hits: dict[tuple[int, int], tuple[Policy, Statement, set[str], set[str]]] = {}
    admin: tuple[Policy, Statement, str] | None = None
    for scenario in _subject_scenarios(subject, options):
        context = normalize_context(
            {**scenario.context, "aws:username": "alice", "aws:PrincipalArn": principal}
        )
        for action in _probes(subject, options):
            for resource in _probe_resources(action, subject, context):
                decision = evaluate(
                    Request(action, resource, principal, context),
                    identity=subject.identity,
                    boundaries=[subject.boundary] if subject.boundary else [],
                    scps=options.scps,
                    session=options.session_policy,
                )
                if not decision.allowed:
                    continue
                policy, st = decision.allowed_by[0]
                entry = hits.setdefault((id(policy), st.index), (policy, st, set(), set()))
                entry[2].add(action)
                entry[3].add(scenario.name)
                if admin is None and action in ADMIN_PROBES:
                    admin = (policy, st, scenario.name)
                break
    out = []
    for policy, st, actions, names in hits.values():
        shown = ", ".join(sorted(actions)[:5]) + (" ..." if len(actions) > 5 else "")
        layers = " after boundary/SCP/session policy" if layered else ""
        who = "" if subject.name == policy.name else f"{subject.name}: "  # a loose policy
        out.append(
            _finding(
                check_id,
                f"{who}{policy.name} {st.label} allows {shown} without MFA"
                f"{layers} ({', '.join(sorted(names))})",
                policy=policy,
                statement=st,
                subject=subject.name,
            )
        )
    if admin is not None:
        policy, st, name = admin
        out.append(
            _finding(
                "MFA015",
                f"{subject.name} is administrator-equivalent without MFA ({name}): "
                f"{policy.name} {st.label}",
                policy=policy,
                statement=st,
                subject=subject.name,
            )
        )
    return out


# ------------------------------------------------------------------------- account (14)


def credential_report_findings(inventory: Inventory) -> list[Finding]:
    out = []
    for row in inventory.credential_report or []:
        if row.user == "<root_account>":
            if not row.mfa_active:
                out.append(
                    _finding(
                        "MFA014",
                        "the root user has no MFA device",
                        subject="root",
                        source=row.arn,
                        severity=Severity.CRITICAL,
                    )
                )
        elif row.password_enabled and not row.mfa_active:
            out.append(
                _finding(
                    "MFA014",
                    f"console user {row.user} has a password and no MFA device",
                    subject=row.user,
                    source=row.arn,
                )
            )
    return out


# ---------------------------------------------------------------------------- entry point


def run_checks(inventory: Inventory, options: AuditOptions | None = None) -> list[Finding]:
    options = options or AuditOptions()
    info = CHECKS["MFA000"]
    findings = [
        Finding("MFA000", info.severity, e.reason, info.fix, e.source, e.source, line=e.line)
        for e in inventory.errors
    ]
    policies: Sequence[Policy] = [
        *inventory.all_policies(),
        *(p for level in options.scps for p in level),
        *([options.session_policy] if options.session_policy else []),
    ]
    for policy in policies:
        findings.extend(statement_findings(policy, options))
    trusts = {id(s.trust): (s.trust, s.name) for s in inventory.subjects if s.trust is not None}
    for policy in inventory.loose_policies:
        if policy.kind == "trust":
            trusts.setdefault(id(policy), (policy, policy.name))
    for trust, name in trusts.values():
        findings.extend(trust_findings(trust, name, options))
    for subject in inventory.subjects:
        findings.extend(principal_findings(subject, options))
    findings.extend(credential_report_findings(inventory))
    return sorted(set(findings), key=Finding.sort_key)
