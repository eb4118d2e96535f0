"""Four synthesized apps for the whole infrastructure suite (a synth costs seconds).

``raw``/``template``: the repository's cdk.json plus what exercises the optional paths: a
second gated role that requires user verification, an external (retrofitted) role, admins
(a user and a role), a custom domain, throttling limits other than the defaults, the FIDO
metadata refresh (``metadataBlob``, ``metadataRoot``), an existing KMS key (cdk.json has the
stack create one), an alarm topic and alarm thresholds.
``shipped``: app.py run as the CDK CLI runs it, on cdk.json as shipped (no custom domain).
``bare``: only ``rpId``, every option at its default.
``organization``: gated roles across accounts, with the member-account stack.
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

from stacks.application import MEMBER_STACK_NAME, STACK_NAME, build_app
from tapgate_contract.routes import ROUTES, Auth

REPO = Path(__file__).resolve().parents[2]
CDK_JSON = REPO / "cdk.json"
# The policy documents as shipped (package data of the contract), read as files.
GATING_POLICY_FILE = REPO / "lambdas" / "tapgate_contract" / "policies" / "gating-policy.json"
SELF_SERVICE_POLICY_FILE = GATING_POLICY_FILE.with_name("self-service-policy.json")
EXTERNAL_ROLE_ARN = "arn:aws:iam::111122223333:role/legacy-admin"
CERT_ARN = "arn:aws:acm:eu-west-1:111122223333:certificate/0f1e2d3c-aaaa-bbbb-cccc-111122223333"
ADMIN_ROLE_ARN = "arn:aws:iam::111122223333:role/tapgate-admins"
CERTIFIED_MODEL = "6d44ba9b-f6ec-4e36-9d01-0d0b0b7d5e6a"  # the test role's one model
METADATA_BLOB_URL = "https://metadata.example.org/blob.jwt"
# A real CA certificate (the FIDO MDS3 specification's example root), as metadataRoot.
METADATA_ROOT_PEM = (REPO / "tests/fixtures/mds/fido-spec-example-root.pem").read_text()
KMS_KEY_ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ALARM_TOPIC_ARN = "arn:aws:sns:eu-west-1:111122223333:security-alerts"
# Not the defaults, so a test can tell the alarms took them from context.
FULL_ALARMS = {
    "topicArn": ALARM_TOPIC_ARN,
    "refusedCeremoniesPer5Minutes": 7,
    "throttledRequestsPer5Minutes": 40,
}
# Not in cdk.json (a new account's concurrency quota may be too small for any reservation).
FULL_RESERVED_CONCURRENCY = 25
# Not cdk.json's values, so a test can tell the template took them from context.
FULL_THROTTLING = {
    "rateLimit": 12,
    "burstLimit": 24,
    "publicRateLimit": 3,
    "publicBurstLimit": 6,
    "publicPerIpPer5Minutes": 50,
    "allPerIpPer5Minutes": 1500,
}

# The route table as API Gateway must authorize it: (method, path under the stage) -> type.
# The contract's table (test_routes_doc.py checks it against docs/design.md's).
EXPECTED_ROUTES = {
    (route.method, route.path): "AWS_IAM" if route.auth is Auth.SIGV4 else "NONE"
    for route in ROUTES
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
            "assurance": "certified",
            "aaguids": [CERTIFIED_MODEL],
        }
    )
    context["externalRoles"] = [{"arn": EXTERNAL_ROLE_ARN, "name": "Legacy admin"}]
    context["admins"] = ["alice", ADMIN_ROLE_ARN]
    context["throttling"] = dict(FULL_THROTTLING)
    context["customDomain"] = {"domainName": "tapgate.example.com", "certificateArn": CERT_ARN}
    context["metadataBlob"] = METADATA_BLOB_URL
    context["metadataRoot"] = METADATA_ROOT_PEM
    context["kmsKey"] = KMS_KEY_ARN  # cdk.json creates one; this uses an existing key
    context["alarms"] = dict(FULL_ALARMS)
    context["reservedConcurrency"] = FULL_RESERVED_CONCURRENCY
    return context


def bare_context() -> dict[str, Any]:
    """Only the required key: every option at its default."""
    return {"rpId": cdk_json_context()["rpId"]}


ORGANIZATION_ID = "o-a1b2c3d4e5"
MEMBER_ACCOUNTS = ["222233334444", "333344445555"]
CROSS_ACCOUNT_ROLE_ARN = "arn:aws:iam::444455556666:role/legacy-prod-admin"
MEMBER_ROLES = [
    {
        "name": "tapgate-prod-admin",
        "managedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"],
        "allowedSourceIdentities": ["alice"],
        "userVerification": "required",
        "assurance": "certified",
    },
    {
        "name": "tapgate-prod-deployer",
        "managedPolicyNames": ["team/deployer"],
        "allowedSourceIdentities": ["alice", "deploy-*"],
        "maxSessionSeconds": 1800,
    },
]


def organization_context() -> dict[str, Any]:
    """Gated roles across accounts: the organization-wide permission, a retrofitted role in
    another account, and the member-account stack's roles in two accounts."""
    return {
        **bare_context(),
        "organizationId": ORGANIZATION_ID,
        "externalRoles": [{"arn": CROSS_ACCOUNT_ROLE_ARN, "name": "Legacy prod admin"}],
        "memberAccount": {"accounts": list(MEMBER_ACCOUNTS), "roles": copy.deepcopy(MEMBER_ROLES)},
    }


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
def bare(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The stack with every option at its default: its template and the assembly's folder."""
    outdir = tmp_path_factory.mktemp("cdk.out.bare")
    app, _stack = build_app(context=no_bundling(bare_context()), outdir=str(outdir))
    template = app.synth().get_stack_by_name(STACK_NAME).template
    return {"template": template, "outdir": outdir}


@pytest.fixture(scope="session")
def organization(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """organization_context() synthesized: both stacks' templates and the assembly's folder."""
    outdir = tmp_path_factory.mktemp("cdk.out.organization")
    app, _stack = build_app(context=no_bundling(organization_context()), outdir=str(outdir))
    assembly = app.synth()
    return {
        "template": assembly.get_stack_by_name(STACK_NAME).template,
        "member": assembly.get_stack_by_name(MEMBER_STACK_NAME).template,
        "outdir": outdir,
    }


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
