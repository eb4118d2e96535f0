"""Checks against the corpus: each trigger fires exactly its expected checks, each near-miss
(one change away) fires none; tapgate's own policies and AWS's force-MFA policy are clean."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tapgate.audit.checks import AuditOptions, run_checks
from tapgate.audit.findings import Severity
from tapgate.audit.loaders import (
    LineIndex,
    load_file,
    load_paths,
    load_template,
    resolve_intrinsics,
)
from tapgate.audit.policy import parse_policy

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"

EXPECTED: dict[str, list[str]] = json.loads((CORPUS.parent / "corpus_expected.json").read_text())


def test_every_corpus_file_has_an_expectation() -> None:
    on_disk = {p.name for p in CORPUS.glob("*.json")}
    assert on_disk == set(EXPECTED)
    for check in range(1, 13):
        if check == 1:
            continue
        assert any(name.startswith(f"mfa{check:03d}_trigger") for name in EXPECTED)
        assert any(name.startswith(f"mfa{check:03d}_nearmiss") for name in EXPECTED)


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


def test_template_reads_roles_attachments_and_intrinsics() -> None:
    inventory = load_file(CORPUS / "stack.template.json")
    by_name = {s.name: s for s in inventory.subjects}
    gated = by_name["GatedRoleAdminABCD"]
    assert [p.name for p in gated.identity] == ["AdministratorAccess", "TapgateGatingPolicyEEEE"]
    assert gated.trust is not None
    principal = gated.trust.statements[0].principal
    assert principal == {"AWS": ("arn:aws:iam::{AWS::AccountId}:role/{TapgateBrokerRole1234}",)}
    assert [p.name for p in by_name["TapgateBrokerRole1234"].identity] == [
        "TapgateBrokerRoleDefaultPolicy99"
    ]
    assert "TapgateSelfServicePolicyFFFF" in by_name
    assert inventory.errors == []


def _stack_ids(edit: Callable[[dict], None]) -> set[str]:
    template = json.loads((CORPUS / "stack.template.json").read_text())
    edit(template["Resources"]["GatedRoleAdminABCD"]["Properties"])
    text = json.dumps(template)
    inventory = load_template(template, source="t.json", index=LineIndex(text, template))
    return {f.check_id for f in run_checks(inventory)}


def _drop_tag_requirement(role: dict) -> None:
    role["AssumeRolePolicyDocument"]["Statement"][0]["Condition"].pop("StringEquals")


def _drop_gating_policy(role: dict) -> None:
    role["ManagedPolicyArns"] = role["ManagedPolicyArns"][:1]


def test_gated_role_trust_without_the_tag_requirement_is_a_trust_finding() -> None:
    # the gating policy still denies untagged sessions, so only the trust is wrong
    assert _stack_ids(_drop_tag_requirement) == {"MFA010"}


def test_gated_role_without_gating_policy_relies_on_the_tagged_trust() -> None:
    # only the broker can pass the tag, after a WebAuthn assertion: still MFA-gated
    assert _stack_ids(_drop_gating_policy) == set()


def test_role_with_neither_tag_nor_gating_is_admin_without_mfa() -> None:
    def both(role: dict) -> None:
        _drop_tag_requirement(role)
        _drop_gating_policy(role)

    assert _stack_ids(both) == {"MFA001", "MFA010", "MFA015"}


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
