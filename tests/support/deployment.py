"""One broker deployment on moto in-process: its settings, clock, tables and roles.

The pytest fixtures over these live in ``tests.support.fixtures``; ``make_harness`` builds
the same deployment outside a fixture (module-scoped worlds, the bench).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tapgate_broker.core.models import RoleConfig, UserVerification
from tapgate_broker.settings import Settings
from tests.support.broker_harness import ACCOUNT, ORIGIN, REGION, Harness
from tests.support.forge import ForgedKey

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


def test_settings() -> Settings:
    """The deployment's settings: a gated role, and one that requires user verification."""
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


test_settings.__test__ = False  # type: ignore[attr-defined]  # not a test, despite its name


def make_harness(
    tmp: Path, *, settings: Settings | None = None, clock: FakeClock | None = None
) -> Harness:
    """Tables and roles in moto (already mocked by the caller), and the broker over them."""
    from tapgate.local.bootstrap import create_tables  # noqa: PLC0415

    settings = settings or test_settings()
    session = boto3.session.Session(region_name=REGION)
    create_tables(
        session.client("dynamodb"),
        credentials_table=settings.credentials_table,
        ceremonies_table=settings.ceremonies_table,
        audit_table=settings.audit_table,
    )
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}
        ],
    }
    iam = session.client("iam")
    for arn in (GATED_ROLE, UV_ROLE):
        iam.create_role(RoleName=arn.rsplit("/", 1)[1], AssumeRolePolicyDocument=json.dumps(trust))
    return Harness(settings=settings, session=session, tmp=tmp, clock=clock or FakeClock())


def register_forged(h: Harness, user: str, key: ForgedKey) -> dict[str, Any]:
    """Register a forged key for ``user`` through the HTTP API; its credential summary."""
    options = h.call("POST", "/registration/options", body={}, user_arn=h.user_arn(user))
    assert options.status == 200, options.body
    reply = h.call(
        "POST",
        "/registration/verify",
        body={
            "ceremonyId": options.body["ceremonyId"],
            "credential": key.register(options.body["publicKey"], ORIGIN),
        },
        user_arn=h.user_arn(user),
    )
    assert reply.status == 201, reply.body
    return dict(reply.body["credential"])
