"""The deployed entry point, `tapgate_broker.handler.handler`, with its Powertools wrappers."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from tapgate_contract import environment as env_names
from tests.support.broker_harness import api_event


@dataclass
class LambdaContext:
    function_name: str = "tapgate-broker"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:tapgate-broker"
    aws_request_id: str = "6f4b3b0e-0000-4000-8000-000000000000"


@pytest.fixture
def handler(monkeypatch, settings):
    values = {
        env_names.CREDENTIALS_TABLE: settings.credentials_table,
        env_names.CEREMONIES_TABLE: settings.ceremonies_table,
        env_names.AUDIT_TABLE: settings.audit_table,
        env_names.RP_ID: settings.rp_id,
        env_names.ORIGINS: json.dumps(list(settings.origins)),
        env_names.ROLES: json.dumps([{"arn": r.arn, "name": r.name} for r in settings.roles]),
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "tapgate-tests",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    from tapgate_broker import handler as module  # noqa: PLC0415
    from tapgate_broker.wiring import broker_from_env  # noqa: PLC0415

    broker_from_env.cache_clear()
    yield module.handler
    broker_from_env.cache_clear()


def test_entry_point_answers_public_config(handler, settings):
    result = handler(api_event("GET", "/v1/config"), LambdaContext())
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["rpId"] == settings.rp_id


def test_entry_point_turns_bad_json_into_a_problem(handler, capsys):
    event = api_event(
        "POST",
        "/v1/authentication/verify",
        raw_body='{"ceremonyId": ',
        user_arn="arn:aws:iam::123456789012:user/alice",
    )
    result = handler(event, LambdaContext())
    assert result["statusCode"] == 400
    body = json.loads(result["body"])
    assert body["status"] == 400
    assert "Traceback" not in result["body"]
