"""Fixtures for functional tests: moto in-process, tables, roles, and a Harness."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tapgate_broker.core.models import RoleConfig, UserVerification
from tapgate_broker.settings import Settings
from tests.functional.broker_harness import ACCOUNT, ORIGIN, REGION, Harness

GATED_ROLE = f"arn:aws:iam::{ACCOUNT}:role/tapgate-test-admin"
UV_ROLE = f"arn:aws:iam::{ACCOUNT}:role/tapgate-test-uv"


class FakeClock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@contextlib.contextmanager
def mocked_aws(patch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in-process, with fake credentials and nothing pointing boto3 elsewhere."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        patch.setenv(name, value)
    patch.delenv("AWS_PROFILE", raising=False)
    patch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        yield


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with mocked_aws(monkeypatch):
        yield


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def gated_role() -> str:
    return GATED_ROLE


@pytest.fixture
def uv_role() -> str:
    return UV_ROLE


@pytest.fixture
def settings() -> Settings:
    return Settings(
        credentials_table="tapgate-credentials",
        ceremonies_table="tapgate-ceremonies",
        audit_table="tapgate-audit",
        rp_id="localhost",
        rp_name="tapgate",
        origins=(ORIGIN,),
        roles=(
            RoleConfig(arn=GATED_ROLE, name="admin"),
            RoleConfig(
                arn=UV_ROLE,
                name="uv",
                max_session_seconds=1800,
                user_verification=UserVerification.REQUIRED,
            ),
        ),
    )


@pytest.fixture
def harness(aws: None, settings: Settings, clock: FakeClock, tmp_path: Any) -> Harness:
    from tapgate.local.bootstrap import create_tables  # noqa: PLC0415

    session = boto3.session.Session(region_name=REGION)
    create_tables(
        session.client("dynamodb"),
        credentials_table=settings.credentials_table,
        ceremonies_table=settings.ceremonies_table,
        audit_table=settings.audit_table,
    )
    iam = session.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}
        ],
    }
    for arn in (GATED_ROLE, UV_ROLE):
        iam.create_role(RoleName=arn.rsplit("/", 1)[1], AssumeRolePolicyDocument=json.dumps(trust))
    return Harness(settings=settings, session=session, tmp=tmp_path, clock=clock)


@pytest.fixture
def aws_session_factory() -> Callable[[dict[str, Any]], boto3.session.Session]:
    def make(credentials: dict[str, Any]) -> boto3.session.Session:
        return boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=REGION,
        )

    return make
