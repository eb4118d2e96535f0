"""One synthesized template for the whole infrastructure suite (a synth costs seconds).

The context is the repository's cdk.json plus what exercises the optional paths: a second
gated role that requires user verification, an external (retrofitted) role, admins, a
custom domain. Bundling
is skipped (``aws:cdk:bundling-stacks``); test_bundling.py bundles once, marked slow.
"""

from __future__ import annotations

import copy
import json
import os
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
        }
    )
    context["externalRoles"] = [{"arn": EXTERNAL_ROLE_ARN, "name": "Legacy admin"}]
    context["admins"] = ["alice"]
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
