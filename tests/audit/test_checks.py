"""Checks against the corpus: each trigger fires exactly its expected checks, each near-miss
(one change away) fires none; tapgate's own policies and AWS's force-MFA policy are clean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tapgate.audit.catalog import CHECKS
from tapgate.audit.checks import AuditOptions, run_checks
from tapgate.audit.findings import Severity
from tapgate.audit.loaders import (
    load_file,
    load_paths,
    resolve_intrinsics,
)
from tapgate.audit.policy import parse_policy

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"

EXPECTED: dict[str, list[str]] = json.loads((CORPUS.parent / "corpus_expected.json").read_text())


# MFA014 reads the credential report, which only account mode has: its triggers and
# near-misses are in test_account.py (moto), not in the file corpus.
ACCOUNT_ONLY = {"MFA014"}


def test_every_check_has_a_trigger_and_a_near_miss_in_the_corpus() -> None:
    on_disk = {p.name for p in CORPUS.glob("*.json")}
    assert on_disk == set(EXPECTED)
    for check_id in sorted(set(CHECKS) - ACCOUNT_ONLY):
        prefix = check_id.lower()
        triggers = [n for n in EXPECTED if n.startswith(f"{prefix}_trigger")]
        near_misses = [n for n in EXPECTED if n.startswith(f"{prefix}_nearmiss")]
        assert triggers and near_misses, f"{check_id}: a trigger and a near-miss are needed"
        assert all(check_id in EXPECTED[n] for n in triggers), f"{check_id} trigger misses it"
        assert all(EXPECTED[n] == [] for n in near_misses)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_fires_exactly_the_expected_checks(name: str) -> None:
    findings = run_checks(load_file(CORPUS / name))
    assert sorted({f.check_id for f in findings}) == EXPECTED[name]


def test_tapgate_policies_produce_no_finding() -> None:
    assert run_checks(load_paths([REPO / "policies"])) == []


def test_findings_point_at_the_statement_line() -> None:
    findings = run_checks(load_file(CORPUS / "mfa002_trigger_deny_bool_false.json"))
    (finding,) = findings
    text = (CORPUS / "mfa002_trigger_deny_bool_false.json").read_text().splitlines()
    assert finding.statement == "DenyWithoutMfa"
    assert text[finding.line - 1].strip() == "{"
    assert '"Sid": "DenyWithoutMfa"' in text[finding.line]


def test_malformed_file_is_a_finding_and_the_audit_goes_on() -> None:
    inventory = load_paths(
        [CORPUS / "mfa000_trigger_malformed.json", CORPUS / "mfa002_trigger_deny_bool_false.json"]
    )
    findings = run_checks(inventory)
    assert [f.check_id for f in findings] == ["MFA002", "MFA000"]
    malformed = findings[1]
    assert malformed.source.endswith("mfa000_trigger_malformed.json")
    assert malformed.line == 4
    assert "invalid JSON" in malformed.message


def test_age_limit_is_configurable() -> None:
    inventory = load_file(CORPUS / "mfa007_nearmiss_age_within_limit.json")
    assert run_checks(inventory, AuditOptions(max_mfa_age=3600)) == []
    assert [f.check_id for f in run_checks(inventory, AuditOptions(max_mfa_age=900))] == ["MFA007"]


def test_sensitive_list_is_configurable() -> None:
    inventory = load_file(CORPUS / "mfa001_trigger_iam_without_mfa.json")
    assert run_checks(inventory, AuditOptions(sensitive_actions=("s3:*",))) == []


SCP_ALLOW_ALL = (
    parse_policy({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}, kind="scp"),
)
SCP_MFA_GUARD = (
    parse_policy(
        {
            "Statement": [
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {
                    "Effect": "Deny",
                    "Action": "iam:*",
                    "Resource": "*",
                    "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
                },
            ]
        },
        kind="scp",
    ),
)


def test_final_decision_uses_the_scp() -> None:
    inventory = load_file(CORPUS / "mfa001_trigger_iam_without_mfa.json")
    layered = run_checks(inventory, AuditOptions(scps=(SCP_ALLOW_ALL,)))
    assert {f.check_id for f in layered} == {"MFA013", "MFA015"}
    assert all(f.severity >= Severity.HIGH for f in layered)
    assert run_checks(inventory, AuditOptions(scps=(SCP_MFA_GUARD,))) == []


def test_final_decision_uses_the_session_policy() -> None:
    inventory = load_file(CORPUS / "mfa001_trigger_iam_without_mfa.json")
    s3_only = parse_policy(
        {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}, kind="session"
    )
    assert run_checks(inventory, AuditOptions(session_policy=s3_only)) == []


@pytest.mark.parametrize(
    "weird",
    [
        {"Fn::Join": ["", "not-a-list"]},
        {"Fn::GetAtt": 7},
        {"Fn::Sub": ["${Thing.Arn}/x", {"Thing": "y"}]},
        {"Fn::ImportValue": "shared-arn"},
        {"Fn::If": ["Cond"]},
        {"Ref": ["x"]},
    ],
)
def test_intrinsics_never_crash(weird: object) -> None:
    assert isinstance(resolve_intrinsics(weird, {}), str)
