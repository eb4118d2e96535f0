"""docs/deploy.md's retrofit snippet is what the GatedRole construct deploys."""

from __future__ import annotations

import json
import re

from stacks.gated_roles import trust_policy_json
from tests.infrastructure.conftest import REPO


def test_the_documented_retrofit_trust_policy_is_the_constructs() -> None:
    text = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- retrofit-trust-policy.*?-->\s*```json\n(.*?)```", text, re.S)
    assert match, "the retrofit trust policy block is missing from docs/deploy.md"
    documented = json.loads(match.group(1))
    broker = documented["Statement"][0]["Principal"]["AWS"]
    assert documented == trust_policy_json(
        broker_role_arn=broker, allowed_source_identities=["alice", "ops-*"]
    )
