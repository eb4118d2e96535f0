"""Account checks (MFA014): console users and the root user without an MFA device, from the
credential report that only account mode reads."""

from __future__ import annotations

from tapgate.audit.checks.common import AuditOptions, make_finding
from tapgate.audit.findings import Finding, Severity
from tapgate.audit.inventory import Inventory


def credential_report_findings(inventory: Inventory, options: AuditOptions) -> list[Finding]:
    out = []
    for row in inventory.credential_report or []:
        if row.user == "<root_account>":
            if not row.mfa_active:
                out.append(
                    make_finding(
                        "MFA014",
                        "the root user has no MFA device",
                        subject="root",
                        source=row.arn,
                        severity=Severity.CRITICAL,
                    )
                )
        elif row.password_enabled and not row.mfa_active:
            out.append(
                make_finding(
                    "MFA014",
                    f"console user {row.user} has a password and no MFA device",
                    subject=row.user,
                    source=row.arn,
                )
            )
    return out
