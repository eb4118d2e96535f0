"""The moto deployment as pytest fixtures; a suite's conftest imports the ones it uses."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from tapgate_broker.settings import Settings
from tests.support.broker_harness import REGION, Harness
from tests.support.deployment import (
    GATED_ROLE,
    UV_ROLE,
    FakeClock,
    make_harness,
    mocked_aws,
    test_settings,
)


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
    return test_settings()


@pytest.fixture
def harness(aws: None, settings: Settings, clock: FakeClock, tmp_path: Any) -> Harness:
    return make_harness(tmp_path, settings=settings, clock=clock)


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
