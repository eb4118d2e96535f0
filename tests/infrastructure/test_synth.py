"""Synth as `cdk synth` runs it: app.py, the repository's cdk.json, cdk-nag on every synth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_sqs as sqs

from stacks.application import build_app
from tests.infrastructure.conftest import REPO, cdk_json_context, no_bundling


def _run_app(context: dict[str, Any], outdir: Path) -> subprocess.CompletedProcess[str]:
    """Run app.py the way the CDK CLI does (context and outdir through the environment)."""
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps(context),
        "CDK_OUTDIR": str(outdir),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    return subprocess.run(
        [sys.executable, "app.py"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_cdk_json_as_shipped_synthesizes_with_no_open_findings(tmp_path: Path) -> None:
    result = _run_app(no_bundling(cdk_json_context()), tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    template = json.loads((tmp_path / "Tapgate.template.json").read_text(encoding="utf-8"))
    assert template["Outputs"]["RpId"]["Value"] == "tapgate.example.com"
    assert "AwsSolutions" not in result.stderr


def test_missing_rp_id_fails_with_one_line_naming_the_key(tmp_path: Path) -> None:
    context = no_bundling(cdk_json_context())
    del context["rpId"]
    result = _run_app(context, tmp_path)
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
