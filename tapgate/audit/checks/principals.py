"""Principal checks (MFA001, MFA013, MFA015): what each user or role can do without MFA,
asked of the evaluator under the no-MFA credential scenarios."""

from __future__ import annotations

from tapgate.audit.checks.common import (
    ACCOUNT,
    ADMIN_PROBES,
    ANY_ACTION,
    CATALOG_PROBES,
    AuditOptions,
    _fill,
    is_sensitive,
    make_finding,
)
from tapgate.audit.checks.trust import trust_entries_without_mfa, trust_principals
from tapgate.audit.conditions import _resolve
from tapgate.audit.evaluator import Request, evaluate, normalize_context
from tapgate.audit.findings import Finding
from tapgate.audit.inventory import Subject
from tapgate.audit.policy import Policy, Statement
from tapgate.audit.scenarios import Scenario, scenarios, without_mfa


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
            make_finding(
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
            make_finding(
                "MFA015",
                f"{subject.name} is administrator-equivalent without MFA ({name}): "
                f"{policy.name} {st.label}",
                policy=policy,
                statement=st,
                subject=subject.name,
            )
        )
    return out
