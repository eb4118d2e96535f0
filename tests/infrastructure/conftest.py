"""Two synthesized templates for the whole infrastructure suite (a synth costs seconds).

``raw``/``template``: the repository's cdk.json plus what exercises the optional paths: a
second gated role that requires user verification, an external (retrofitted) role, admins
(a user and a role), a custom domain, throttling limits other than the defaults.
``shipped``: app.py run as the CDK CLI runs it, on cdk.json as shipped (no custom domain).
Bundling is skipped (``aws:cdk:bundling-stacks``); test_bundling.py bundles once, marked
slow.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from aws_cdk.assertions import Template

from stacks.application import STACK_NAME, build_app

REPO = Path(__file__).resolve().parents[2]
CDK_JSON = REPO / "cdk.json"
EXTERNAL_ROLE_ARN = "arn:aws:iam::111122223333:role/legacy-admin"
CERT_ARN = "arn:aws:acm:eu-west-1:111122223333:certificate/0f1e2d3c-aaaa-bbbb-cccc-111122223333"
ADMIN_ROLE_ARN = "arn:aws:iam::111122223333:role/tapgate-admins"
# Not cdk.json's values, so a test can tell the template took them from context.
FULL_THROTTLING = {
    "rateLimit": 12,
    "burstLimit": 24,
    "publicRateLimit": 3,
    "publicBurstLimit": 6,
    "publicPerIpPer5Minutes": 50,
    "allPerIpPer5Minutes": 1500,
}

# The HTTP API v1 table of docs/design.md: (method, path under the stage) -> authorization.
EXPECTED_ROUTES = {
    ("POST", "/registration/options"): "AWS_IAM",
    ("POST", "/registration/verify"): "AWS_IAM",
    ("POST", "/registration/step-up/options"): "AWS_IAM",
    ("POST", "/registration/step-up/verify"): "AWS_IAM",
    ("POST", "/authentication/options"): "AWS_IAM",
    ("POST", "/authentication/verify"): "AWS_IAM",
    ("GET", "/credentials"): "AWS_IAM",
    ("DELETE", "/credentials/{credentialId}"): "AWS_IAM",
    ("GET", "/roles"): "AWS_IAM",
    ("POST", "/enrollments"): "AWS_IAM",
    ("POST", "/enrollment/options"): "NONE",
    ("POST", "/enrollment/verify"): "NONE",
    ("POST", "/passkey/options"): "NONE",
    ("POST", "/passkey/verify"): "NONE",
    ("POST", "/passkey/credentials/list"): "NONE",
    ("DELETE", "/passkey/credentials/{credentialId}"): "NONE",
    ("GET", "/config"): "NONE",
    ("GET", "/"): "NONE",
    ("GET", "/enroll"): "NONE",
    ("GET", "/static/{proxy+}"): "NONE",
}
# Unsigned and state-changing: the stricter throttling and the web ACL's strict rule.
PUBLIC_WRITE_ROUTES = {
    route for route, auth in EXPECTED_ROUTES.items() if auth == "NONE" and route[0] != "GET"
}


def cdk_json_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads(CDK_JSON.read_text(encoding="utf-8"))["context"]
    return context


def full_context() -> dict[str, Any]:
    context = copy.deepcopy(cdk_json_context())
    context["gatedRoles"].append(
        {
            "name": "tapgate-test-admin",
            "managedPolicyArns": ["arn:aws:iam::111122223333:policy/team-admin"],
            "allowedSourceIdentities": ["alice"],
            "maxSessionSeconds": 1800,
            "userVerification": "required",
            "requireSignCounter": True,
        }
    )
    context["externalRoles"] = [{"arn": EXTERNAL_ROLE_ARN, "name": "Legacy admin"}]
    context["admins"] = ["alice", ADMIN_ROLE_ARN]
    context["throttling"] = dict(FULL_THROTTLING)
    context["customDomain"] = {"domainName": "tapgate.example.com", "certificateArn": CERT_ARN}
    return context


def no_bundling(context: dict[str, Any]) -> dict[str, Any]:
    return {**context, "aws:cdk:bundling-stacks": []}


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Synthesize once: cdk-nag runs as a validation plugin, so this synth also proves there
    are no unacknowledged findings (it raises otherwise)."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    app, stack = build_app(context=no_bundling(full_context()), outdir=str(outdir))
    assembly = app.synth()
    template = assembly.get_stack_by_name(STACK_NAME).template
    yield {"template": template, "stack": stack, "outdir": outdir}


def run_app(context: dict[str, Any], outdir: Path) -> subprocess.CompletedProcess[str]:
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


@pytest.fixture(scope="session")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """app.py on cdk.json as shipped: the run and its template."""
    outdir = tmp_path_factory.mktemp("cdk.out.shipped")
    result = run_app(no_bundling(cdk_json_context()), outdir)
    assert result.returncode == 0, result.stderr[-3000:]
    template = json.loads((outdir / "Tapgate.template.json").read_text(encoding="utf-8"))
    return {"result": result, "template": template, "outdir": outdir}


@pytest.fixture(scope="session")
def template(synthesized: dict[str, Any]) -> Template:
    return Template.from_json(synthesized["template"])


@pytest.fixture(scope="session")
def raw(synthesized: dict[str, Any]) -> dict[str, Any]:
    """The template as plain JSON, for exact comparisons."""
    result: dict[str, Any] = synthesized["template"]
    return result


def resources_of(raw: dict[str, Any], cfn_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in raw["Resources"].items() if v["Type"] == cfn_type}


def only(raw: dict[str, Any], cfn_type: str, **properties: Any) -> tuple[str, dict[str, Any]]:
    """The one resource of ``cfn_type`` whose properties include ``properties``."""
    found = [
        (k, v)
        for k, v in resources_of(raw, cfn_type).items()
        if all(v["Properties"].get(p) == value for p, value in properties.items())
    ]
    assert len(found) == 1, f"expected one {cfn_type} with {properties}, found {len(found)}"
    return found[0]
