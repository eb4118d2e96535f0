"""Account mode against moto: authorization details (paginated) and the credential report."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tapgate.audit.account import parse_credential_report, read_account
from tapgate.audit.checks import run_checks
from tapgate.audit.errors import InputError
from tapgate.audit.inventory import Inventory

REPO = Path(__file__).resolve().parents[2]

ACCOUNT = "123456789012"
ADMIN = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
GATING = json.loads((REPO / "policies" / "gating-policy.json").read_text())
BROKER = f"arn:aws:iam::{ACCOUNT}:role/tapgate-broker"


def _trust(principal: str, condition: dict | None = None, actions: list[str] | None = None) -> str:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": actions or ["sts:AssumeRole"],
    }
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.fixture
def iam() -> Iterator[Any]:
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        yield boto3.client("iam", region_name="us-east-1")


def _populate(iam: Any) -> None:
    admin_arn = iam.create_policy(PolicyName="Admin", PolicyDocument=json.dumps(ADMIN))["Policy"][
        "Arn"
    ]
    gating_arn = iam.create_policy(PolicyName="TapgateGating", PolicyDocument=json.dumps(GATING))[
        "Policy"
    ]["Arn"]
    # a console user without MFA and with admin rights
    iam.create_user(UserName="alice")
    iam.create_login_profile(UserName="alice", Password="Correct-Horse-1!")
    iam.attach_user_policy(UserName="alice", PolicyArn=admin_arn)
    # a console user with an MFA device and a read-only inline policy
    iam.create_user(UserName="bob")
    iam.create_login_profile(UserName="bob", Password="Correct-Horse-2!")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="bob")["VirtualMFADevice"][
        "SerialNumber"
    ]
    iam.enable_mfa_device(
        UserName="bob",
        SerialNumber=serial,
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    iam.put_user_policy(
        UserName="bob",
        PolicyName="read",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
            }
        ),
    )
    # a role the whole account may assume without MFA, with admin rights
    iam.create_role(RoleName="ops", AssumeRolePolicyDocument=_trust(f"arn:aws:iam::{ACCOUNT}:root"))
    iam.attach_role_policy(RoleName="ops", PolicyArn=admin_arn)
    # a tapgate-gated admin role: trusts only the broker, which must pass the tag
    iam.create_role(
        RoleName="gated",
        AssumeRolePolicyDocument=_trust(
            BROKER, {"StringEquals": {"aws:RequestTag/tapgate-mfa": "webauthn"}}
        ),
    )
    iam.attach_role_policy(RoleName="gated", PolicyArn=admin_arn)
    iam.attach_role_policy(RoleName="gated", PolicyArn=gating_arn)


def _by_subject(findings: list) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in findings:
        out.setdefault(f.subject, set()).add(f.check_id)
    return out


def test_account_mode_reads_every_page_and_finds_mfa_gaps(iam: Any) -> None:
    _populate(iam)
    inventory = read_account(iam, sleep=lambda _: None, page_size=1)
    assert sorted(s.name for s in inventory.subjects) == ["alice", "bob", "gated", "ops"]
    findings = _by_subject(run_checks(inventory))
    assert findings["alice"] == {"MFA001", "MFA014", "MFA015"}
    assert findings["ops"] == {"MFA001", "MFA010", "MFA015"}
    assert "bob" not in findings
    assert "gated" not in findings


def test_credential_report_root_without_mfa_is_critical() -> None:
    content = (
        "user,arn,password_enabled,mfa_active\n"
        f"<root_account>,arn:aws:iam::{ACCOUNT}:root,not_supported,false\n"
    )
    inventory = Inventory(credential_report=parse_credential_report(content.encode()))
    (finding,) = run_checks(inventory)
    assert (finding.check_id, finding.severity.name) == ("MFA014", "CRITICAL")
    content_with_mfa = content.replace(",false", ",true")
    assert run_checks(Inventory(credential_report=parse_credential_report(content_with_mfa))) == []


def test_credential_report_that_never_completes_is_an_input_error(iam: Any) -> None:
    class Stuck:
        def __getattr__(self, name: str) -> Any:
            return getattr(iam, name)

        def generate_credential_report(self) -> dict:
            return {"State": "STARTED"}

    with pytest.raises(InputError):
        read_account(Stuck(), sleep=lambda _: None, report_attempts=2)


def _checks_of(iam: Any, subject: str) -> set[str]:
    findings = run_checks(read_account(iam, sleep=lambda _: None))
    return {f.check_id for f in findings if f.subject == subject}


@pytest.mark.parametrize(
    ("password", "mfa", "expected"),
    [
        (True, False, {"MFA014"}),  # the trigger: console password, no MFA device
        (True, True, set()),  # near-miss: the same user with an MFA device
        (False, False, set()),  # near-miss: no console password (access keys at most)
    ],
)
def test_console_user_without_mfa_device(
    iam: Any, password: bool, mfa: bool, expected: set[str]
) -> None:
    iam.create_user(UserName="carol")
    if password:
        iam.create_login_profile(UserName="carol", Password="Correct-Horse-3!")
    if mfa:
        serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="carol")["VirtualMFADevice"][
            "SerialNumber"
        ]
        iam.enable_mfa_device(
            UserName="carol",
            SerialNumber=serial,
            AuthenticationCode1="123456",
            AuthenticationCode2="654321",
        )
    assert _checks_of(iam, "carol") == expected


@pytest.mark.parametrize(
    ("boundary_action", "expected"),
    [
        ("iam:*", {"MFA010", "MFA013", "MFA015"}),  # the boundary leaves admin rights in
        ("s3:GetObject", {"MFA010"}),  # near-miss: the boundary takes them out
    ],
)
def test_permissions_boundary_decides_in_account_mode(
    iam: Any, boundary_action: str, expected: set[str]
) -> None:
    admin_arn = iam.create_policy(PolicyName="Admin", PolicyDocument=json.dumps(ADMIN))["Policy"][
        "Arn"
    ]
    boundary = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": boundary_action, "Resource": "*"}],
    }
    boundary_arn = iam.create_policy(PolicyName="Boundary", PolicyDocument=json.dumps(boundary))[
        "Policy"
    ]["Arn"]
    iam.create_role(
        RoleName="bounded",
        AssumeRolePolicyDocument=_trust(f"arn:aws:iam::{ACCOUNT}:root"),
        PermissionsBoundary=boundary_arn,
    )
    iam.attach_role_policy(RoleName="bounded", PolicyArn=admin_arn)
    assert _checks_of(iam, "bounded") == expected


def test_tapgate_audit_account_through_the_command_line(
    iam: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tapgate.cli.main import main  # noqa: PLC0415

    for name in ("AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)  # IAM is global: no region is needed
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    _populate(iam)
    assert main(["audit", "--account", "--format", "json", "--fail-on", "critical"]) == 1
    found = json.loads(capsys.readouterr().out)["findings"]
    assert {(f["subject"], f["checkId"]) for f in found} >= {
        ("alice", "MFA014"),
        ("alice", "MFA015"),
        ("ops", "MFA010"),
    }
    assert all(f["source"].startswith("arn:aws:iam::") for f in found)


def test_an_unknown_profile_is_one_line_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tapgate.cli.main import main  # noqa: PLC0415

    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    assert main(["audit", "--account", "--profile", "no-such-profile"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tapgate audit: cannot read the account") and err.count("\n") == 1
    assert "no-such-profile" in err
