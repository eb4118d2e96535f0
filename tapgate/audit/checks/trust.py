"""Trust checks (MFA010, MFA012): who may assume a role without MFA, and who may pass
tapgate's session tags itself."""

from __future__ import annotations

from dataclasses import replace

from tapgate.audit import unknowns
from tapgate.audit.checks.common import AuditOptions, make_finding
from tapgate.audit.evaluator import Request, action_matches, evaluate, normalize_context
from tapgate.audit.findings import Finding, Severity
from tapgate.audit.policy import Condition, Policy, Statement
from tapgate.audit.scenarios import SCENARIO_KEYS, Scenario, scenarios, without_mfa
from tapgate_contract.tags import (
    CREDENTIAL_TAG,
    MFA_TAG,
    MFA_TAG_VALUE,
    SESSION_TAG_KEYS,
    UV_TAG,
    uv_tag_value,
)

# A trust that names an account delegates to that account: whoever its identity policies
# allow may come in. The audit assumes the worst, someone allowed to call STS at all.
CALLER_MAY_ASSUME = Policy(
    statements=(Statement(effect="Allow", index=0, actions=("sts:*",), resources=("*",)),),
    name="the caller's own permissions",
)


def trust_principals(st: Statement) -> list[tuple[str, bool]]:
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
) -> list[tuple[Statement, str, bool, str, str]]:
    """(statement, caller, broad, scenario, deciding values) for each way into the role
    without MFA; the deciding values are those of keys the scenario does not fix."""
    out: list[tuple[Statement, str, bool, str, str]] = []
    original = trust
    trust = _without_caller_chosen(trust)
    # tapgate's request tags count as MFA (only the broker passes them): never a free choice
    tapgate_tags = {
        c.key_lower
        for st in trust.statements
        for c in st.conditions
        if c.key_lower.startswith("aws:requesttag/tapgate-")
    }
    for index, st in enumerate(trust.statements):
        if st.effect != "Allow":
            continue
        for caller, broad in trust_principals(st):
            for scenario in without_mfa(scenarios(mfa_age=options.mfa_age)):
                if scenario.name == "long-term-key" and ":role/" in caller:
                    continue  # a role has no long-term keys: its callers are sessions
                base = _caller_context(scenario, caller)
                fixed = (*base, *SCENARIO_KEYS, *tapgate_tags)
                free = unknowns.candidates(trust.statements, fixed)
                assumed = _enters(trust, st, caller, unknowns.contexts(base, free))
                if assumed is not None:
                    deciding = unknowns.describe(assumed, [st])
                    out.append((original.statements[index], caller, broad, scenario.name, deciding))
                    break
    return out


def _enters(
    trust: Policy, st: Statement, caller: str, tries: list[tuple[dict, dict]]
) -> dict | None:
    """The assumed values of the first candidate context that lets `caller` assume the role
    through statement `st`, or None."""
    for context, assumed in tries:
        request = Request("sts:AssumeRole", "*", caller, context)
        decision = evaluate(request, identity=(CALLER_MAY_ASSUME,), resource=trust)
        if decision.allowed and any(s is st for _, s in decision.allowed_by):
            return assumed
    return None


# Keys that tie a trust to known callers: with one of them, Principal "*" is not "anyone".
SCOPING_KEYS = frozenset(
    {
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:sourceaccount",
        "aws:sourcearn",
        "aws:sourceorgid",
        "aws:userid",
    }
)


def _open_to_every_account(st: Statement) -> bool:
    """An Allow of sts:AssumeRole to Principal "*" that no condition ties to known callers."""
    if st.effect != "Allow" or st.principal is None:
        return False
    everyone = "*" in st.principal or "*" in st.principal.get("AWS", ())
    assumes = any(action_matches(a, "sts:AssumeRole") for a in st.actions or ())
    scoped = any(c.key_lower in SCOPING_KEYS and "not" not in c.base for c in st.conditions)
    return everyone and assumes and not scoped


def trust_findings(trust: Policy, subject: str, options: AuditOptions) -> list[Finding]:
    out = []
    reported: set[int] = set()
    for st, caller, broad, scenario, deciding in trust_entries_without_mfa(trust, options):
        if st.index in reported:
            continue
        reported.add(st.index)
        who = "anyone in the trusted account(s)" if broad else caller
        when = f" when {deciding}" if deciding else ""
        out.append(
            make_finding(
                "MFA010",
                f"{subject}: {st.label} lets {who} assume the role without MFA{when} ({scenario})",
                policy=trust,
                statement=st,
                subject=subject,
                severity=Severity.HIGH if broad else Severity.MEDIUM,
            )
        )
    for st in trust.statements:
        if st.index not in reported and _open_to_every_account(st):
            out.append(
                make_finding(
                    "MFA010",
                    f'{subject}: {st.label} trusts Principal "*" with only an MFA condition: a '
                    "principal of any AWS account may assume the role after MFA on its own "
                    "device; scope it with aws:PrincipalOrgID, aws:PrincipalAccount or "
                    "aws:PrincipalArn",
                    policy=trust,
                    statement=st,
                    subject=subject,
                    severity=Severity.HIGH,
                )
            )
    tags = {
        f"aws:RequestTag/{MFA_TAG}": MFA_TAG_VALUE,
        f"aws:RequestTag/{UV_TAG}": uv_tag_value(True),
        f"aws:RequestTag/{CREDENTIAL_TAG}": "forged",
        "aws:TagKeys": list(SESSION_TAG_KEYS),
        "sts:SourceIdentity": "alice",
    }
    no_mfa = scenarios(mfa_age=options.mfa_age)[1]
    for st in trust.statements:
        if st.effect != "Allow":
            continue
        for caller, broad in trust_principals(st):
            if not broad:
                continue
            request = Request("sts:TagSession", "*", caller, _caller_context(no_mfa, caller, tags))
            decision = evaluate(request, identity=(CALLER_MAY_ASSUME,), resource=trust)
            if decision.allowed and any(s is st for _, s in decision.allowed_by):
                out.append(
                    make_finding(
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
