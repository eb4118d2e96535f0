"""--format asff: documents that Security Hub's BatchImportFindings accepts (validated against
botocore's model of the API, the same the AWS CLI sends with), with stable Ids."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import botocore.session
import pytest
from botocore.validate import ParamValidator

from tapgate.audit import cli
from tapgate.audit.asff import render_asff
from tapgate.audit.checks import run_checks
from tapgate.audit.loaders import load_paths

HERE = Path(__file__).resolve().parent
INPUTS = [HERE / "realworld", HERE / "corpus" / "mfa011_trigger_guard_notresource.json"]
ACCOUNT = "111122223333"
# Security Hub user guide, "Required top-level ASFF attributes" (the API model leaves Severity
# optional; the guide requires it)
DOCUMENTED_REQUIRED = {
    "AwsAccountId",
    "CreatedAt",
    "Description",
    "GeneratorId",
    "Id",
    "ProductArn",
    "Resources",
    "SchemaVersion",
    "Severity",
    "Title",
    "Types",
    "UpdatedAt",
}


def _documents(now: datetime) -> list[dict]:
    findings = run_checks(load_paths(INPUTS))
    return json.loads(render_asff(findings, account_id=ACCOUNT, region="eu-west-1", now=now))


def test_documents_validate_against_batch_import_findings() -> None:
    model = botocore.session.get_session().get_service_model("securityhub")
    operation = model.operation_model("BatchImportFindings")
    documents = _documents(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert len(documents) > 10
    report = ParamValidator().validate({"Findings": documents[:100]}, operation.input_shape)
    assert not report.has_errors(), report.generate_report()
    required = {*model.shape_for("AwsSecurityFinding").required_members, *DOCUMENTED_REQUIRED}
    for document in documents:
        assert required <= set(document), required - set(document)
        assert document["Severity"]["Label"] in ("CRITICAL", "HIGH", "MEDIUM", "LOW")
        assert document["ProductArn"] == (
            f"arn:aws:securityhub:eu-west-1:{ACCOUNT}:product/{ACCOUNT}/default"
        )


def test_ids_are_unique_and_stable_across_runs() -> None:
    first = _documents(datetime(2026, 1, 2, tzinfo=UTC))
    again = _documents(datetime(2026, 3, 4, tzinfo=UTC))
    ids = [d["Id"] for d in first]
    assert len(set(ids)) == len(ids)
    assert ids == [d["Id"] for d in again]
    assert first[0]["UpdatedAt"] != again[0]["UpdatedAt"]


def test_account_resources_are_typed(tmp_path: Path) -> None:
    from tapgate.audit.account import inventory_from_authorization_details  # noqa: PLC0415

    details = {
        "UserDetailList": [
            {
                "UserName": "alice",
                "Arn": f"arn:aws:iam::{ACCOUNT}:user/alice",
                "UserPolicyList": [
                    {
                        "PolicyName": "admin",
                        "PolicyDocument": {
                            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
                        },
                    }
                ],
            }
        ]
    }
    findings = run_checks(inventory_from_authorization_details([details]))
    documents = json.loads(
        render_asff(findings, account_id=ACCOUNT, region="us-east-1", now=datetime.now(UTC))
    )
    assert {d["Resources"][0]["Type"] for d in documents} == {"AwsIamUser"}
    assert {d["Severity"]["Label"] for d in documents} == {"CRITICAL", "HIGH"}


def test_cli_needs_an_account_id(capsys: pytest.CaptureFixture[str]) -> None:
    target = str(INPUTS[1])
    assert cli.main([target, "--format", "asff", "--region", "eu-west-1"]) == 2
    assert "--aws-account-id" in capsys.readouterr().err
    argv = [target, "--format", "asff", "--region", "eu-west-1", "--aws-account-id", ACCOUNT]
    assert cli.main(argv) == 0
    (document,) = json.loads(capsys.readouterr().out)
    assert document["GeneratorId"] == "tapgate-audit/MFA011"
    assert document["Resources"][0]["Id"] == target
