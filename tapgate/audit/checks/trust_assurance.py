"""Assurance check (MFA016): a gated role's trust policy and tapgate's requirement for it
must agree on which key levels (``tapgate-assurance``) may open the role.

The requirement comes from a tapgate broker in the same input (its ``TAPGATE_ROLES``, as a
tapgate stack template carries it). Which levels the trust admits is asked of the
evaluator: each ``sts:TagSession`` (and ``sts:AssumeRole``) statement, reduced to its
conditions on the assurance tag, is evaluated for each level from the principal it trusts.
"""

from __future__ import annotations

from dataclasses import replace

from tapgate.audit.checks.common import AuditOptions, make_finding
from tapgate.audit.checks.trust import trust_principals
from tapgate.audit.evaluator import Request, action_matches, evaluate, normalize_context
from tapgate.audit.findings import Finding, Severity
from tapgate.audit.inventory import Inventory
from tapgate.audit.policy import Policy
from tapgate_contract.tags import ASSURANCE_LEVELS, ASSURANCE_TAG, acceptable_assurance

_KEY = f"aws:requesttag/{ASSURANCE_TAG}"
_ACTIONS = ("sts:AssumeRole", "sts:TagSession")


def admitted_levels(trust: Policy) -> frozenset[str]:
    """The key levels whose sessions the trust lets in: for both AssumeRole and TagSession,
    some Allow statement for the action admits the tag value (other conditions aside)."""
    reduced = replace(
        trust,
        statements=tuple(
            replace(st, conditions=tuple(c for c in st.conditions if c.key_lower == _KEY))
            for st in trust.statements
        ),
    )
    admitted = set(ASSURANCE_LEVELS)
    for action in _ACTIONS:
        callers = {
            caller
            for st in trust.statements
            if st.effect == "Allow" and any(action_matches(a, action) for a in st.actions or ())
            for caller, _ in trust_principals(st)
        }
        for level in ASSURANCE_LEVELS:
            context = normalize_context({f"aws:RequestTag/{ASSURANCE_TAG}": level})
            if not any(
                evaluate(Request(action, "*", caller, dict(context)), resource=reduced).allowed
                for caller in callers
            ):
                admitted.discard(level)
    return frozenset(admitted)


def assurance_findings(inventory: Inventory, options: AuditOptions) -> list[Finding]:
    del options
    out: list[Finding] = []
    for subject in inventory.subjects:
        required = inventory.role_assurance.get(subject.name)
        if required is None or subject.trust is None:
            continue
        wanted = frozenset(acceptable_assurance(required))
        admitted = admitted_levels(subject.trust)
        weaker = sorted(admitted - wanted, key=ASSURANCE_LEVELS.index)
        refused = sorted(wanted - admitted, key=ASSURANCE_LEVELS.index)
        if weaker:
            out.append(
                make_finding(
                    "MFA016",
                    f"{subject.name}: tapgate requires {required} keys, but its trust policy "
                    f"also admits sessions tagged {ASSURANCE_TAG}={', '.join(weaker)}: IAM would "
                    "not refuse a weaker key if the broker were wrong",
                    policy=subject.trust,
                    subject=subject.name,
                )
            )
        elif refused:
            out.append(
                make_finding(
                    "MFA016",
                    f"{subject.name}: tapgate admits {', '.join(refused)} keys for the role, but "
                    "its trust policy refuses their sessions: those sign-ins fail in STS",
                    policy=subject.trust,
                    subject=subject.name,
                    severity=Severity.LOW,
                )
            )
    return out
