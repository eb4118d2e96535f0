"""The audit's checks, one module per scope: statement checks read how an MFA condition is
written (statements), trust checks ask who may assume a role (trust), principal checks ask the
evaluator what each principal can do under the credential scenarios (principals), account
checks read the credential report (account). `run_checks` runs every registered check."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tapgate.audit.catalog import CHECKS
from tapgate.audit.checks.account import credential_report_findings
from tapgate.audit.checks.common import DEFAULT_SENSITIVE, AuditOptions
from tapgate.audit.checks.principals import principal_findings
from tapgate.audit.checks.statements import statement_findings
from tapgate.audit.checks.trust import trust_findings
from tapgate.audit.checks.trust_assurance import assurance_findings
from tapgate.audit.findings import Finding
from tapgate.audit.inventory import Inventory, Subject
from tapgate.audit.policy import Policy

__all__ = ["DEFAULT_SENSITIVE", "AuditOptions", "run_checks"]

PolicyCheck = Callable[[Policy, AuditOptions], list[Finding]]
TrustCheck = Callable[[Policy, str, AuditOptions], list[Finding]]
SubjectCheck = Callable[[Subject, AuditOptions], list[Finding]]
InventoryCheck = Callable[[Inventory, AuditOptions], list[Finding]]

# The registry: a new check is a function of one of these shapes, added to its scope's tuple.
POLICY_CHECKS: tuple[PolicyCheck, ...] = (statement_findings,)  # every policy once
TRUST_CHECKS: tuple[TrustCheck, ...] = (trust_findings,)  # every trust policy once, with its role
SUBJECT_CHECKS: tuple[SubjectCheck, ...] = (principal_findings,)  # every user, role, group
INVENTORY_CHECKS: tuple[InventoryCheck, ...] = (credential_report_findings, assurance_findings)


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
    trusts = {id(s.trust): (s.trust, s.name) for s in inventory.subjects if s.trust is not None}
    for policy in inventory.loose_policies:
        if policy.kind == "trust":
            trusts.setdefault(id(policy), (policy, policy.name))
    for policy in policies:
        for policy_check in POLICY_CHECKS:
            findings.extend(policy_check(policy, options))
    for trust, name in trusts.values():
        for trust_check in TRUST_CHECKS:
            findings.extend(trust_check(trust, name, options))
    for subject in inventory.subjects:
        for subject_check in SUBJECT_CHECKS:
            findings.extend(subject_check(subject, options))
    for inventory_check in INVENTORY_CHECKS:
        findings.extend(inventory_check(inventory, options))
    return sorted(set(findings), key=Finding.sort_key)
