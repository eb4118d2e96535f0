"""The rpId shipped in cdk.json is a placeholder: a synth with it warns, loudly and by name."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stacks.config import placeholder_rp_id_warning


def test_a_synth_of_the_shipped_cdk_json_warns_about_the_placeholder(
    shipped: dict[str, Any],
) -> None:
    metadata = shipped["outdir"] / "Tapgate.metadata.json"  # what `cdk synth` prints from
    entries = json.loads(metadata.read_text(encoding="utf-8"))["/Tapgate"]
    warnings = [e["data"] for e in entries if e["type"] == "aws:cdk:warning"]
    assert any(
        "rpId 'tapgate.example.com' is a placeholder" in w and "bound to the rpId for life" in w
        for w in warnings
    ), warnings


@pytest.mark.parametrize(
    "rp_id", ["tapgate.example.com", "example.org", "mfa.corp.example", "keys.test"]
)
def test_names_reserved_for_examples_are_placeholders(rp_id: str) -> None:
    assert placeholder_rp_id_warning(rp_id) is not None


@pytest.mark.parametrize("rp_id", ["mfa.acme.io", "example.com.acme.io", "notexample.com"])
def test_a_real_domain_is_not(rp_id: str) -> None:
    assert placeholder_rp_id_warning(rp_id) is None
