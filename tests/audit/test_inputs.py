"""Input shapes from real examples: CloudFormation YAML with short-form tags and IAM groups,
`terraform show -json` plans with attachments, memberships and data sources, groups in saved
authorization details, and the directory walk over .json/.yaml/.yml."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tapgate.audit import cli
from tapgate.audit.account import inventory_from_authorization_details
from tapgate.audit.checks import run_checks
from tapgate.audit.loaders import load_file, load_paths

REALWORLD = Path(__file__).resolve().parent / "realworld"
YAML_GROUP = REALWORLD / "christoferson-iam-user-group.yaml"
PLAN = REALWORLD / "aws-ec2-require-mfa-group.tfplan.json"


def test_yaml_template_group_and_its_attached_policy_are_read() -> None:
    inventory = load_file(YAML_GROUP)
    assert inventory.errors == []
    (group,) = inventory.subjects
    assert (group.name, group.kind) == ("UserGroup", "group")
    # inline policy and the AWS::IAM::Policy attached through `Groups: [!Ref UserGroup]`
    assert sorted(p.name for p in group.identity) == ["UserGroup/inline-1", "UserGroupPolicy"]


def test_yaml_findings_point_at_the_statement_line() -> None:
    findings = run_checks(load_file(YAML_GROUP))
    lines = YAML_GROUP.read_text().splitlines()
    assert {f.check_id for f in findings} == {"MFA001"}
    for finding in findings:
        assert finding.line is not None
        assert lines[finding.line - 1].strip().startswith("- Effect: Allow")
    assert any("s3:PutBucketPolicy" in f.message or "s3:" in f.message for f in findings)


def test_yaml_member_gets_the_group_policy(tmp_path: Path) -> None:
    text = YAML_GROUP.read_text().replace(
        "  UserGroupPolicy:",
        "  Alice:\n    Type: AWS::IAM::User\n    Properties:\n      Groups:\n"
        "        - !Ref UserGroup\n\n  UserGroupPolicy:",
    )
    template = tmp_path / "with-member.yml"
    template.write_text(text)
    subjects = load_file(template).subjects
    assert [(s.name, s.kind) for s in subjects] == [("Alice", "user")]  # the group via Alice
    assert len(subjects[0].identity) == 2


def test_broken_yaml_is_unreadable_with_its_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("Resources:\n  Role:\n    Type: [unclosed\n")
    (error,) = load_file(broken).errors
    assert error.reason.startswith("invalid YAML") and error.line is not None


def test_plan_reads_membership_attachment_by_reference_and_trust() -> None:
    inventory = load_file(PLAN)
    assert inventory.errors == []
    by_name = {s.name: s for s in inventory.subjects}
    assert set(by_name) == {"aws_iam_user.alice", "aws_iam_role.ops"}  # group via its member
    (policy,) = by_name["aws_iam_user.alice"].identity  # policy_arn known only after apply
    assert policy.name == "aws_iam_policy.require_mfa_ec2"
    findings = run_checks(inventory)
    assert sorted(f.check_id for f in findings) == ["MFA001", "MFA010"]
    text = PLAN.read_text().splitlines()
    for finding in findings:
        assert '"address"' in text[finding.line - 1]


def test_plan_policy_that_is_not_json_is_unreadable(tmp_path: Path) -> None:
    plan = json.loads(PLAN.read_text())
    for resource in plan["planned_values"]["root_module"]["resources"]:
        if resource["type"] == "aws_iam_policy":
            resource["values"]["policy"] = "{not json"
    broken = tmp_path / "plan.json"
    broken.write_text(json.dumps(plan, indent=2))
    (error,) = load_file(broken).errors
    assert error.reason.startswith("aws_iam_policy.require_mfa_ec2:")


def test_authorization_details_audit_a_group_without_members() -> None:
    details = {
        "UserDetailList": [],
        "GroupDetailList": [
            {
                "GroupName": "ops",
                "Arn": "arn:aws:iam::111122223333:group/ops",
                "GroupPolicyList": [
                    {
                        "PolicyName": "ops",
                        "PolicyDocument": {
                            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]
                        },
                    }
                ],
                "AttachedManagedPolicies": [],
            }
        ],
        "RoleDetailList": [],
        "Policies": [],
    }
    inventory = inventory_from_authorization_details([details])
    (group,) = inventory.subjects
    assert (group.name, group.kind) == ("ops", "group")
    assert [f.check_id for f in run_checks(inventory)] == ["MFA001"]


def test_directory_walk_reads_yaml_yml_and_plans(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(YAML_GROUP, tmp_path / "group.yaml")
    shutil.copy(YAML_GROUP, tmp_path / "group.yml")
    shutil.copy(PLAN, tmp_path / "plan.json")
    (tmp_path / "values.yaml").write_text("replicas: 3\n")  # another tool's YAML: skipped
    sources = {Path(f.source).name for f in run_checks(load_paths([tmp_path]))}
    assert sources == {"group.yaml", "group.yml", "plan.json"}
    assert cli.main([str(tmp_path), "--fail-on", "critical"]) == 0
