"""checkov and cfn-lint, the scanners security teams run, pass on the synthesized templates.

Every finding is fixed or acknowledged in the resource's metadata with a written reason
(stacks/nag.py). The templates: cdk.json plus the optional paths (an existing KMS key), cdk.json
as shipped (a created key, reserved concurrency), every option at its default (so each
acknowledgment that depends on an option is scanned both ways), and the organization's: the
tapgate stack with the organization-wide permission and the member-account stack. A copy of
one template with one acknowledgment taken out shows that the harness reports a finding.

checkov pins an older boto3 than the project's, so it runs from a venv of its own
(`make scanners`, requirements-checkov.txt); cfn-lint runs in-process.
"""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_by_config
from cfnlint.config import ManualArgs

from stacks.nag import MIN_REASON_LENGTH
from tests.infrastructure.conftest import REPO, only

CHECKOV_VENV = REPO / ".venv" / "checkov"
CHECKOV = CHECKOV_VENV / "bin" / "checkov"
TEMPLATE = "Tapgate.template.json"
MEMBER_TEMPLATE = "TapgateMemberAccount.template.json"
SCANNED = ("full", "shipped", "bare", "organization", "member")
# The acknowledgment the mutated copy loses: checkov's DLQ check on the broker function.
REMOVED_CHECK = "CKV_AWS_116"
REMOVED_CFN_LINT_RULE = "W3005"


@pytest.fixture(scope="module")
def checkov() -> Path:
    """checkov from its own venv, installed by `make scanners` when missing or stale (the
    Makefile compares its stamp with requirements-checkov.txt)."""
    subprocess.run(["make", "--no-print-directory", "--quiet", "scanners"], cwd=REPO, check=True)
    return CHECKOV


def _broker_function(template: dict[str, Any]) -> dict[str, Any]:
    _, function = only(template, "AWS::Lambda::Function", Handler="tapgate_broker.handler.handler")
    return function


@pytest.fixture(scope="module")
def templates(
    synthesized: dict[str, Any],
    shipped: dict[str, Any],
    bare: dict[str, Any],
    organization: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Path]:
    """The synthesized templates as files, and the copy with one acknowledgment removed."""
    found = {
        "full": synthesized["outdir"] / TEMPLATE,
        "shipped": shipped["outdir"] / TEMPLATE,
        "bare": bare["outdir"] / TEMPLATE,
        "organization": organization["outdir"] / TEMPLATE,
        "member": organization["outdir"] / MEMBER_TEMPLATE,
    }
    mutated = copy.deepcopy(json.loads(found["full"].read_text(encoding="utf-8")))
    metadata = _broker_function(mutated)["Metadata"]
    metadata["checkov"]["skip"] = [
        s for s in metadata["checkov"]["skip"] if s["id"] != REMOVED_CHECK
    ]
    del metadata["cfn-lint"]
    path = tmp_path_factory.mktemp("mutated") / "Mutated.template.json"
    path.write_text(json.dumps(mutated), encoding="utf-8")
    return {**found, "mutated": path}


@pytest.fixture(scope="module")
def checkov_report(checkov: Path, templates: dict[str, Path]) -> dict[str, Any]:
    """One checkov run over every template (it costs seconds per run, not per file).
    --skip-download: no call to the vendor's platform; the checks ship in the package."""
    arguments = [str(checkov), "--framework", "cloudformation", "--skip-download", "-o", "json"]
    for path in templates.values():
        arguments += ["-f", str(path)]
    result = subprocess.run(
        arguments, capture_output=True, text=True, timeout=600, check=False, cwd=REPO
    )
    assert result.returncode in (0, 1), result.stderr[-3000:]
    report: dict[str, Any] = json.loads(result.stdout)
    assert report["check_type"] == "cloudformation"
    return report


def _failures(report: dict[str, Any], path: Path) -> list[tuple[str, str]]:
    return sorted(
        (f["check_id"], f["resource"])
        for f in report["results"]["failed_checks"]
        if f["file_abs_path"] == str(path)
    )


@pytest.mark.parametrize("name", SCANNED)
def test_checkov_finds_nothing_unacknowledged(
    checkov_report: dict[str, Any], templates: dict[str, Path], name: str
) -> None:
    path = templates[name]
    passed = checkov_report["results"]["passed_checks"]
    assert any(c["file_abs_path"] == str(path) for c in passed), f"nothing checked in {name}"
    assert _failures(checkov_report, path) == []
    assert checkov_report["summary"]["parsing_errors"] == 0


def test_every_checkov_acknowledgment_gives_its_reason(checkov_report: dict[str, Any]) -> None:
    skipped = checkov_report["results"]["skipped_checks"]
    assert skipped
    for check in skipped:
        comment = check["check_result"].get("suppress_comment", "")
        assert len(comment) >= MIN_REASON_LENGTH, (check["check_id"], check["resource"])


def test_checkov_reports_a_finding_whose_acknowledgment_is_removed(
    checkov_report: dict[str, Any], templates: dict[str, Path]
) -> None:
    (failure,) = _failures(checkov_report, templates["mutated"])
    assert failure[0] == REMOVED_CHECK
    assert failure[1].startswith("AWS::Lambda::Function.BrokerFunction")


@pytest.fixture(scope="module")
def cfn_lint_matches(templates: dict[str, Path]) -> dict[str, list[str]]:
    """One cfn-lint run over every template (its schema validation costs seconds per
    template): the rule ids it reports, by template."""
    by_path = {str(path): name for name, path in templates.items()}
    found: dict[str, list[str]] = {name: [] for name in templates}
    for match in lint_by_config(ManualArgs(templates=list(by_path))):
        found[by_path[match.filename]].append(f"{match.rule.id} {match.message}")
    return found


@pytest.mark.parametrize("name", SCANNED)
def test_cfn_lint_finds_nothing_unacknowledged(
    cfn_lint_matches: dict[str, list[str]], name: str
) -> None:
    assert cfn_lint_matches[name] == []


def test_every_cfn_lint_acknowledgment_gives_its_reason(templates: dict[str, Path]) -> None:
    ignored = 0
    for name in SCANNED:
        template = json.loads(templates[name].read_text(encoding="utf-8"))
        for resource in template["Resources"].values():
            lint = resource.get("Metadata", {}).get("cfn-lint")
            if lint is None:
                continue
            for rule in lint["config"]["ignore_checks"]:
                ignored += 1
                assert len(lint["reasons"][rule]) >= MIN_REASON_LENGTH, rule
    assert ignored


def test_cfn_lint_reports_a_finding_whose_acknowledgment_is_removed(
    cfn_lint_matches: dict[str, list[str]],
) -> None:
    (match,) = cfn_lint_matches["mutated"]
    assert match.startswith(f"{REMOVED_CFN_LINT_RULE} ")
