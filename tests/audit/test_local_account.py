"""`tapgate local` creates in moto the same IAM resources as the stack; account mode reads them
there, over moto's HTTP endpoint, and finds nothing wrong with tapgate's own policies."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from tapgate.audit.account import read_account
from tapgate.audit.checks import run_checks
from tapgate.audit.inventory import Inventory
from tapgate.local.server import start_local


@pytest.fixture(scope="module")
def local_account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Inventory]:
    handle = start_local(port=0, state_file=tmp_path_factory.mktemp("local") / "local.json")
    try:
        iam = boto3.client(
            "iam",
            endpoint_url=handle.aws_endpoint_url,
            region_name=handle.state["region"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        yield read_account(iam, sleep=lambda _: None)
    finally:
        handle.stop()


def test_local_modes_iam_has_no_finding(local_account: Inventory) -> None:
    assert run_checks(local_account) == []


def test_the_audit_saw_the_gated_role_and_its_gating(local_account: Inventory) -> None:
    gated = [
        s
        for s in local_account.subjects
        if s.kind == "role"
        and s.trust is not None
        and any(
            c.key_lower == "aws:requesttag/tapgate-mfa"
            for st in s.trust.statements
            for c in st.conditions
        )
    ]
    assert gated, "no role in local mode trusts the broker with the tapgate-mfa tag"
    for role in gated:
        denies = [
            c.key_lower
            for policy in role.identity
            for st in policy.statements
            if st.effect == "Deny"
            for c in st.conditions
        ]
        assert "aws:principaltag/tapgate-mfa" in denies, f"{role.name} has no gating policy"
        assert any(st.effect == "Allow" for p in role.identity for st in p.statements)
