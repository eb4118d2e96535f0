"""docs/deploy.md stays true: the retrofit snippet is what GatedRole deploys, the throttling
keys and defaults are the config's."""

from __future__ import annotations

import json
import re

from stacks.config import THROTTLING_KEYS, ThrottlingConfig
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
