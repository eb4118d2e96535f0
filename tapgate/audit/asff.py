"""Findings as AWS Security Finding Format (ASFF) documents, ready for
`aws securityhub batch-import-findings --findings file://audit.asff.json`.

The product is Security Hub's custom integration of the importing account
(arn:aws:securityhub:REGION:ACCOUNT:product/ACCOUNT/default). Each finding's Id is derived
from what it is about (check, source, principal, statement, line), never from its wording or
the time, so a re-run updates the same findings instead of adding copies.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tapgate.audit.catalog import CHECKS
from tapgate.audit.findings import Finding, Severity

SCHEMA_VERSION = "2018-10-08"
FINDING_TYPE = "Software and Configuration Checks/AWS Security Best Practices"
DOCS = "https://github.com/tapgate/tapgate/blob/main/docs/audit.md"
_RESOURCE_TYPES = (
    (":user/", "AwsIamUser"),
    (":role/", "AwsIamRole"),
    (":group/", "AwsIamGroup"),
    (":policy/", "AwsIamPolicy"),
)


def _label(severity: Severity) -> str:
    return "INFORMATIONAL" if severity is Severity.INFO else severity.name


def product_arn(*, account_id: str, region: str, partition: str = "aws") -> str:
    return f"arn:{partition}:securityhub:{region}:{account_id}:product/{account_id}/default"


def _resource(finding: Finding, region: str) -> dict[str, Any]:
    source = finding.source or finding.subject
    kind = "Other"
    if source.startswith("arn:"):
        kind = next((t for marker, t in _RESOURCE_TYPES if marker in source), "Other")
    resource: dict[str, Any] = {"Type": kind, "Id": source[:512], "Region": region}
    if kind == "Other":
        details = {"Subject": finding.subject, "Statement": finding.statement}
        if finding.line:
            details["Line"] = str(finding.line)
        resource["Details"] = {"Other": {k: v[:1024] for k, v in details.items() if v}}
    return resource


def finding_id(finding: Finding, account_id: str) -> str:
    about = "\x1f".join(
        (finding.check_id, finding.source, finding.subject, finding.statement, str(finding.line))
    )
    digest = hashlib.sha256(about.encode()).hexdigest()[:32]
    return f"tapgate-audit/{account_id}/{finding.check_id}/{digest}"


def render_asff(findings: Sequence[Finding], *, account_id: str, region: str, now: datetime) -> str:
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    product = product_arn(account_id=account_id, region=region)
    documents = []
    seen: dict[str, int] = {}
    for finding in findings:
        identifier = finding_id(finding, account_id)
        seen[identifier] = seen.get(identifier, 0) + 1
        if seen[identifier] > 1:  # two findings about the same statement (NotAction, NotResource)
            identifier = f"{identifier}-{seen[identifier]}"
        info = CHECKS[finding.check_id]
        documents.append(
            {
                "SchemaVersion": SCHEMA_VERSION,
                "Id": identifier,
                "ProductArn": product,
                "GeneratorId": f"tapgate-audit/{finding.check_id}",
                "AwsAccountId": account_id,
                "Types": [FINDING_TYPE],
                "CreatedAt": stamp,
                "UpdatedAt": stamp,
                "Severity": {"Label": _label(finding.severity), "Original": finding.severity.name},
                "Title": f"{finding.check_id} {info.name}"[:256],
                "Description": finding.message[:1024],
                "Remediation": {"Recommendation": {"Text": finding.fix[:512], "Url": DOCS}},
                "ProductFields": {
                    "tapgate/CheckId": finding.check_id,
                    "tapgate/Source": finding.source[:1024] or "-",
                },
                "Resources": [_resource(finding, region)],
                "RecordState": "ACTIVE",
            }
        )
    return json.dumps(documents, indent=2) + "\n"
