"""Render findings as a table for people, JSON for scripts, SARIF 2.1.0 for code scanning."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from tapgate.audit.catalog import CHECKS
from tapgate.audit.findings import Finding, Severity

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub code scanning reads this property to rank security alerts.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}


def summary(findings: Sequence[Finding]) -> dict[str, int]:
    counts = Counter(f.severity for f in findings)
    return {s.name.lower(): counts.get(s, 0) for s in sorted(Severity, reverse=True)}


def _where(finding: Finding) -> str:
    return f"{finding.source}:{finding.line}" if finding.line else finding.source


def render_table(findings: Sequence[Finding]) -> str:
    if not findings:
        return "no findings\n"
    rows = [(f.severity.name.lower(), f.check_id, _where(f), f.message) for f in findings]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = []
    for row, finding in zip(rows, findings, strict=True):
        lines.append(
            "  ".join(c.ljust(w) for c, w in zip(row[:3], widths, strict=True)) + "  " + row[3]
        )
        lines.append(" " * (sum(widths) + 6) + "fix: " + finding.fix)
    counts = ", ".join(f"{n} {name}" for name, n in summary(findings).items() if n)
    lines.append(f"{len(findings)} finding{'s' if len(findings) != 1 else ''} ({counts})")
    return "\n".join(lines) + "\n"


def render_json(findings: Sequence[Finding]) -> str:
    document = {
        "findings": [
            {
                "checkId": f.check_id,
                "name": CHECKS[f.check_id].name,
                "severity": f.severity.name.lower(),
                "message": f.message,
                "fix": f.fix,
                "source": f.source,
                "line": f.line,
                "subject": f.subject,
                "statement": f.statement,
            }
            for f in findings
        ],
        "summary": summary(findings),
    }
    return json.dumps(document, indent=2) + "\n"


def _is_file(source: str) -> bool:
    return bool(source) and not source.startswith("arn:") and source != "account"


def render_sarif(findings: Sequence[Finding], *, version: str = "0.1.0") -> str:
    rules = [
        {
            "id": info.check_id,
            "name": info.name,
            "shortDescription": {"text": info.name.replace("-", " ")},
            "help": {"text": info.fix},
            "defaultConfiguration": {"level": _SARIF_LEVEL[info.severity]},
            "properties": {
                "security-severity": _SECURITY_SEVERITY[info.severity],
                "tags": ["security", "iam", "mfa"],
            },
        }
        for info in CHECKS.values()
    ]
    rule_index = {info.check_id: i for i, info in enumerate(CHECKS.values())}
    results = []
    for f in findings:
        result: dict[str, Any] = {
            "ruleId": f.check_id,
            "ruleIndex": rule_index[f.check_id],
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f"{f.message}. Fix: {f.fix}"},
            "properties": {"security-severity": _SECURITY_SEVERITY[f.severity]},
        }
        if _is_file(f.source):
            location: dict[str, Any] = {"artifactLocation": {"uri": f.source.replace("\\", "/")}}
            if f.line:
                location["region"] = {"startLine": f.line}
            result["locations"] = [{"physicalLocation": location}]
        else:
            result["locations"] = [
                {"logicalLocations": [{"fullyQualifiedName": f.source or f.subject}]}
            ]
        results.append(result)
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "tapgate-audit",
                        "version": version,
                        "informationUri": "https://github.com/tapgate/tapgate/blob/main/docs/audit.md",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"


RENDERERS = {"table": render_table, "json": render_json, "sarif": render_sarif}
