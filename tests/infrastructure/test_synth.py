"""Synth as `cdk synth` runs it: app.py, the repository's cdk.json, cdk-nag on every synth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_sqs as sqs

from stacks.application import build_app
from tests.infrastructure.conftest import cdk_json_context, no_bundling, run_app


def test_cdk_json_as_shipped_synthesizes_with_no_open_findings(shipped: dict[str, Any]) -> None:
    assert shipped["template"]["Outputs"]["RpId"]["Value"] == "tapgate.example.com"
    assert "AwsSolutions" not in shipped["result"].stderr


def test_missing_rp_id_fails_with_one_line_naming_the_key(tmp_path: Path) -> None:
    context = no_bundling(cdk_json_context())
    del context["rpId"]
    result = run_app(context, tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("tapgate: cdk.json context 'rpId': is required")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "Tapgate.template.json").exists()


def test_an_unacknowledged_nag_finding_fails_the_synth(tmp_path: Path) -> None:
    """cdk-nag is registered as a validation plugin: one open finding stops the synth."""
    app, stack = build_app(context=no_bundling(cdk_json_context()), outdir=str(tmp_path))
    sqs.Queue(stack, "UnencryptedQueue", enforce_ssl=False)
    with pytest.raises(RuntimeError, match="ValidationFailed") as caught:
        app.synth()
    assert "AwsSolutions-SQS4" in str(caught.value)
    assert "Tapgate/UnencryptedQueue" in str(caught.value)
