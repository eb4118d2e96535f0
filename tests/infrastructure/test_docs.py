"""docs/deploy.md stays true: the retrofit snippet is what GatedRole deploys, the throttling
and alarm keys and defaults are the config's, the alarm table is the stack's alarms."""

from __future__ import annotations

import json
import re
from typing import Any

from stacks.config import (
    ALARMS_KEYS,
    THROTTLING_KEYS,
    AlarmsConfig,
    ThrottlingConfig,
    config_from_mapping,
)
from tapgate_contract.policies import gated_role_trust_policy
from tests.infrastructure.conftest import REPO


def test_the_documented_retrofit_trust_policy_is_the_constructs() -> None:
    text = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- retrofit-trust-policy.*?-->\s*```json\n(.*?)```", text, re.S)
    assert match, "the retrofit trust policy block is missing from docs/deploy.md"
    documented = json.loads(match.group(1))
    broker = documented["Statement"][0]["Principal"]["AWS"]
    assert documented == gated_role_trust_policy(
        broker_role_arn=broker, allowed_source_identities=["alice", "ops-*"]
    )


def test_every_throttling_key_is_documented_with_its_default() -> None:
    text = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    defaults = ThrottlingConfig()
    for key in THROTTLING_KEYS:
        assert f"`{key}`" in text, key
    assert f"| `publicPerIpPer5Minutes` | {defaults.public_per_ip_per_5_minutes} |" in text
    assert f"| `allPerIpPer5Minutes` | {defaults.all_per_ip_per_5_minutes} |" in text
    assert (
        f"| {defaults.public_rate_limit:g} requests/s, burst {defaults.public_burst_limit} " in text
    )
    assert f"| {defaults.rate_limit:g} requests/s, burst {defaults.burst_limit} |" in text


def test_the_alarm_options_and_every_alarm_are_documented(raw: dict[str, Any]) -> None:
    text = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    defaults = AlarmsConfig()
    for key in ALARMS_KEYS:
        assert f'"{key}"?' in text, key
    assert (
        f'"refusedCeremoniesPer5Minutes"? (default {defaults.refused_ceremonies_per_5_minutes})'
        in text
    )
    assert (
        f'"throttledRequestsPer5Minutes"? (default {defaults.throttled_requests_per_5_minutes})'
        in text
    )
    documented = set(re.findall(r"^\| `(\w+)` \| (?:the first time|at least|any)", text, re.M))
    synthesized = {
        logical_id.removeprefix("Monitoring")[:-8].removesuffix("Alarm")  # less CDK's hash
        for logical_id, resource in raw["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }
    assert documented == synthesized


def test_the_documented_member_account_configuration_is_valid() -> None:
    text = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    match = re.search(r'```json\n("memberAccount": \{.*?\n\})\n```', text, re.S)
    assert match, "the memberAccount example is missing from docs/deploy.md"
    config = config_from_mapping({"rpId": "mfa.example.org", **json.loads(f"{{{match[1]}}}")})
    assert config.member_account is not None
    assert [r.name for r in config.member_account.roles] == [
        "tapgate-prod-admin",
        "tapgate-prod-deployer",
    ]
    assert len(config.member_account.offered_roles()) == 4
