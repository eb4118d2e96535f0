"""Principal checks (MFA001, MFA013, MFA015): what each user or role can do without MFA,
asked of the evaluator under the no-MFA credential scenarios."""

from __future__ import annotations

from dataclasses import dataclass, field

from tapgate.audit import unknowns
from tapgate.audit.actions import load_catalog
from tapgate.audit.checks.common import (
    ACCOUNT,
    ADMIN_ACTIONS,
    AuditOptions,
    make_finding,
    sensitive_mask,
    shown,
    statement_mask,
)
from tapgate.audit.checks.trust import trust_entries_without_mfa, trust_principals
from tapgate.audit.conditions import _resolve
from tapgate.audit.evaluator import Decision, Request, evaluate, normalize_context
from tapgate.audit.findings import Finding
from tapgate.audit.inventory import Subject
from tapgate.audit.policy import Policy, Statement
from tapgate.audit.scenarios import SCENARIO_KEYS, Scenario, scenarios, without_mfa


def _is_human_reachable(subject: Subject) -> bool:
    """Roles trusted only by services (Lambda, EC2, ...) or federation are out of scope."""
    if subject.kind != "role" or subject.trust is None:
        return True
    return any(st.effect == "Allow" and trust_principals(st) for st in subject.trust.statements)


def _subject_scenarios(subject: Subject, options: AuditOptions) -> tuple[Scenario, ...]:
    no_mfa = without_mfa(scenarios(mfa_age=options.mfa_age))
    if subject.kind == "role":
        if subject.trust is not None and not trust_entries_without_mfa(subject.trust, options):
            return ()
        return tuple(s for s in no_mfa if s.name != "long-term-key")
    return no_mfa


def _classes(candidates: int, policies: list[Policy]) -> list[int]:
    """Split the candidate actions into classes that every policy in play treats alike: two
    actions that match the same Action/NotAction patterns get the same decision, so one
    representative per class is evaluated instead of thousands of actions."""
    catalog = load_catalog()
    patterns = {
        pattern.lower()
        for policy in policies
        for st in policy.statements
        for pattern in (*(st.actions or ()), *(st.not_actions or ()))
    }
    classes = [candidates]
    for pattern in sorted(patterns):
        mask = catalog.mask(pattern)
        split: list[int] = []
        for part in classes:
            inside, outside = part & mask, part & ~mask
            split.extend(p for p in (inside, outside) if p)
        classes = split
    return classes


def _probe_resources(action: str, subject: Subject, context: dict) -> list[str]:
    service = action.split(":", maxsplit=1)[0]
    resources = {f"arn:aws:{service}:us-east-1:{ACCOUNT}:probe/x"}
    for policy in subject.identity:
        for st in policy.statements:
            for pattern in st.resources or ():
                resolved = _resolve(pattern, context)
                if resolved is not None and pattern != "*":
                    resources.add(resolved.replace("*", "Probe").replace("?", "X"))
    return sorted(resources)


@dataclass
class _Hit:
    policy: Policy
    statement: Statement
    actions: int = 0
    scenarios: set[str] = field(default_factory=set)
    conditions: set[str] = field(default_factory=set)


def principal_findings(subject: Subject, options: AuditOptions) -> list[Finding]:
    if not subject.identity or not _is_human_reachable(subject):
        return []
    catalog = load_catalog()
    granted = 0
    for policy in subject.identity:
        for st in policy.statements:
            if st.effect == "Allow":
                granted |= statement_mask(st)
    candidates = granted & sensitive_mask(options)
    if not candidates:
        return []
    layered = bool(options.scps or options.session_policy or subject.boundary)
    check_id = "MFA013" if layered else "MFA001"
    principal = subject.arn or f"arn:aws:iam::{ACCOUNT}:user/alice"
    in_play = [
        *subject.identity,
        *([subject.boundary] if subject.boundary else []),
        *(p for level in options.scps for p in level),
        *([options.session_policy] if options.session_policy else []),
    ]
    statements = [st for policy in in_play for st in policy.statements]
    classes = _classes(candidates, in_play)
    admin_actions = catalog.mask_of(ADMIN_ACTIONS)
    hits: dict[tuple[int, int], _Hit] = {}
    admin: tuple[Policy, Statement, str, int] | None = None
    for scenario in _subject_scenarios(subject, options):
        base = normalize_context(
            {**scenario.context, "aws:username": "alice", "aws:PrincipalArn": principal}
        )
        free = unknowns.candidates(statements, (*base, *SCENARIO_KEYS))
        tries = unknowns.contexts(base, free)
        for actions in classes:
            action = catalog.names[catalog.first(actions)]
            found = _first_allowed(action, subject, options, principal, tries)
            if found is None:
                continue
            decision, assumed, denies = found
            policy, st = decision.allowed_by[0]
            hit = hits.setdefault((id(policy), st.index), _Hit(policy, st))
            hit.actions |= actions
            hit.scenarios.add(scenario.name)
            deciding = unknowns.describe(assumed, [st, *denies])
            if deciding:
                hit.conditions.add(deciding)
            if admin is None and actions & admin_actions:
                admin = (policy, st, scenario.name, actions & admin_actions)
    out = []
    for hit in hits.values():
        layers = " after boundary/SCP/session policy" if layered else ""
        who = "" if subject.name == hit.policy.name else f"{subject.name}: "  # a loose policy
        when = f" when {'; or '.join(sorted(hit.conditions))}" if hit.conditions else ""
        out.append(
            make_finding(
                check_id,
                f"{who}{hit.policy.name} {hit.statement.label} allows {shown(hit.actions)} "
                f"without MFA{layers}{when} ({', '.join(sorted(hit.scenarios))})",
                policy=hit.policy,
                statement=hit.statement,
                subject=subject.name,
            )
        )
    if admin is not None:
        policy, st, name, powers = admin
        out.append(
            make_finding(
                "MFA015",
                f"{subject.name} is administrator-equivalent without MFA ({name}): "
                f"{policy.name} {st.label} allows {shown(powers)}",
                policy=policy,
                statement=st,
                subject=subject.name,
            )
        )
    return out


def _first_allowed(
    action: str,
    subject: Subject,
    options: AuditOptions,
    principal: str,
    tries: list[tuple[dict, dict]],
) -> tuple[Decision, dict, list[Statement]] | None:
    """The first (decision, assumed values, Deny statements that did not apply) that allows
    `action` on some probe resource under one of the candidate contexts."""
    for context, assumed in tries:
        for resource in _probe_resources(action, subject, context):
            request = Request(action, resource, principal, context)
            decision = evaluate(
                request,
                identity=subject.identity,
                boundaries=[subject.boundary] if subject.boundary else [],
                scps=options.scps,
                session=options.session_policy,
            )
            if decision.allowed:
                denies = [
                    st
                    for policy in subject.identity
                    for st in policy.statements
                    if st.effect == "Deny" and st.conditions
                ]
                return decision, assumed, denies
    return None
