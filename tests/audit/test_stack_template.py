"""The stack's own synthesized template, audited as CI would audit cdk.out/ before a deploy.

The template is synthesized in the test session from the real stack, so it cannot go stale.
Nothing here depends on resource counts or logical ids: gated roles are found by what makes
them gated (a trust that requires the tapgate-mfa request tag), the gating policy by its Deny.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tapgate.audit import cli
from tapgate.audit.checks import run_checks
from tapgate.audit.loaders import LineIndex, load_file, load_template

TAG = "aws:RequestTag/tapgate-mfa"
ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"
Template = dict[str, Any]


def _statements(document: Any) -> list[dict[str, Any]]:
    raw = document.get("Statement", []) if isinstance(document, dict) else []
    return [s for s in (raw if isinstance(raw, list) else [raw]) if isinstance(s, dict)]


def _actions(statement: dict[str, Any]) -> list[str]:
    raw = statement.get("Action", [])
    return [raw] if isinstance(raw, str) else list(raw)


def _assume_statements(role: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for statement in _statements(role["Properties"].get("AssumeRolePolicyDocument")):
        if "sts:AssumeRole" in _actions(statement):
            yield statement


def gated_roles(template: Template) -> dict[str, dict[str, Any]]:
    """Roles whose trust lets the role be assumed only with tapgate's tag."""
    return {
        logical: resource
        for logical, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role"
        and any(
            TAG in s.get("Condition", {}).get("StringEquals", {})
            for s in _assume_statements(resource)
        )
    }


def is_gating_policy(resource: dict[str, Any]) -> bool:
    return resource["Type"] == "AWS::IAM::ManagedPolicy" and any(
        s.get("Effect") == "Deny"
        and "aws:PrincipalTag/tapgate-mfa" in s.get("Condition", {}).get("StringNotEquals", {})
        for s in _statements(resource["Properties"].get("PolicyDocument"))
    )


def gating_refs(template: Template, role: dict[str, Any]) -> list[Any]:
    return [
        arn
        for arn in role["Properties"].get("ManagedPolicyArns", [])
        if isinstance(arn, dict)
        and is_gating_policy(template["Resources"].get(arn.get("Ref"), {"Type": ""}))
    ]


def test_the_synthesized_stack_has_no_finding(stack_template: tuple[Path, Template]) -> None:
    path, _ = stack_template
    assert cli.main([str(path), "--format", "json", "--fail-on", "info"]) == 0


def test_the_audit_reads_the_stack_it_passes(stack_template: tuple[Path, Template]) -> None:
    """Zero findings means something only if the audit saw the gated roles with their gating
    policy and a trust naming the broker role, and the self-service policy."""
    path, template = stack_template
    inventory = load_file(path)
    assert inventory.errors == []
    subjects = {s.name: s for s in inventory.subjects}
    gated = gated_roles(template)
    assert gated, "the synthesized stack declares no gated role"
    for logical, role in gated.items():
        (gating,) = gating_refs(template, role)
        assert gating["Ref"] in [p.name for p in subjects[logical].identity]
        trust = subjects[logical].trust
        assert trust is not None
        trusted = {
            arn
            for st in trust.statements
            if "sts:AssumeRole" in (st.actions or ())
            for arn in (st.principal or {}).get("AWS", ())
        }
        (broker_arn,) = trusted
        broker = broker_arn.rsplit("/", 1)[-1].strip("{}")  # arn:...:role/{BrokerLogicalId}
        assert subjects[broker].kind == "role" and subjects[broker].identity
    assert any(
        "execute-api:Invoke" in (st.actions or ())
        for s in inventory.subjects
        if s.kind == "policy"
        for policy in s.identity
        for st in policy.statements
    ), "the self-service policy is not in the inventory"


@pytest.fixture
def admin_gated(stack_template: tuple[Path, Template]) -> Template:
    """The synthesized stack with every gated role granted AdministratorAccess (which the audit
    knows the meaning of): still no finding, because the gating holds."""
    template = copy.deepcopy(stack_template[1])
    for role in gated_roles(template).values():
        arns = role["Properties"]["ManagedPolicyArns"]
        role["Properties"]["ManagedPolicyArns"] = [
            ADMINISTRATOR_ACCESS if not isinstance(a, dict) else a for a in arns
        ]
        assert ADMINISTRATOR_ACCESS in role["Properties"]["ManagedPolicyArns"]
    return template


def check_ids(template: Template, edit: Callable[[dict[str, Any]], None] | None = None) -> set[str]:
    """Findings after ``edit`` on the first gated role (by logical id, for a stable choice)."""
    template = copy.deepcopy(template)
    if edit is not None:
        first = sorted(gated_roles(template))[0]
        edit(template["Resources"][first])
    text = json.dumps(template, indent=1)
    inventory = load_template(
        template, source="stack.template.json", index=LineIndex(text, template)
    )
    return {f.check_id for f in run_checks(inventory)}


def drop_tag_requirement(role: dict[str, Any]) -> None:
    for statement in _assume_statements(role):
        condition = statement["Condition"]
        condition["StringEquals"].pop(TAG)
        if not condition["StringEquals"]:
            del condition["StringEquals"]


def drop_gating_policy(template: Template) -> Callable[[dict[str, Any]], None]:
    def edit(role: dict[str, Any]) -> None:
        for ref in gating_refs(template, role):
            role["Properties"]["ManagedPolicyArns"].remove(ref)

    return edit


def test_admin_behind_the_gating_has_no_finding(admin_gated: Template) -> None:
    assert check_ids(admin_gated) == set()


def test_trust_without_the_tag_requirement_is_a_trust_finding(admin_gated: Template) -> None:
    # The gating policy still denies untagged sessions, so only the trust is wrong.
    assert check_ids(admin_gated, drop_tag_requirement) == {"MFA010"}


def test_without_the_gating_policy_the_tagged_trust_still_gates(admin_gated: Template) -> None:
    # Only the broker can pass the tag, after a WebAuthn assertion: still MFA-gated.
    assert check_ids(admin_gated, drop_gating_policy(admin_gated)) == set()


def test_neither_tag_nor_gating_is_admin_without_mfa(admin_gated: Template) -> None:
    def both(role: dict[str, Any]) -> None:
        drop_tag_requirement(role)
        drop_gating_policy(admin_gated)(role)

    assert check_ids(admin_gated, both) == {"MFA001", "MFA010", "MFA015"}


def test_the_whole_cdk_out_directory_has_no_finding(
    stack_template: tuple[Path, Template], capsys: pytest.CaptureFixture[str]
) -> None:
    # cdk.out also holds manifest.json, tree.json, *.assets.json: not inputs, not findings.
    path, _ = stack_template
    assert sorted(p.name for p in path.parent.glob("*.json")) != [path.name]
    assert cli.main([str(path.parent), "--format", "json", "--fail-on", "info"]) == 0
    assert json.loads(capsys.readouterr().out)["findings"] == []


def test_a_non_policy_file_named_on_the_command_line_is_reported(
    stack_template: tuple[Path, Template], capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = stack_template[0].parent / "manifest.json"
    assert cli.main([str(manifest), "--format", "json"]) == 2
    (finding,) = json.loads(capsys.readouterr().out)["findings"]
    assert finding["checkId"] == "MFA000"
    assert "neither an IAM policy, a CloudFormation template" in finding["message"]


# --- gated roles in another account (the member-account stack) -------------------------------


@pytest.fixture(scope="module")
def member_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Template]:
    """The member-account stack as StackSets deploys it: gated roles whose trust names the
    tapgate account's broker role through the BrokerRoleArn parameter (cross-account)."""
    from stacks.application import MEMBER_STACK_NAME, build_app  # noqa: PLC0415  (jsii)
    from tests.infrastructure.conftest import no_bundling, organization_context  # noqa: PLC0415

    outdir = tmp_path_factory.mktemp("audit-member")
    app, _stack = build_app(context=no_bundling(organization_context()), outdir=str(outdir))
    path = Path(app.synth().get_stack_by_name(MEMBER_STACK_NAME).template_full_path)
    return path, json.loads(path.read_text(encoding="utf-8"))


def test_a_gated_role_trusting_another_accounts_broker_has_no_finding(
    member_template: tuple[Path, Template], tmp_path: Path
) -> None:
    path, template = member_template
    roles = gated_roles(template)
    assert roles  # the audit sees gated roles whose principal is the cross-account broker
    for role in roles.values():
        assert all(
            s["Principal"] == {"AWS": {"Ref": "BrokerRoleArn"}} for s in _assume_statements(role)
        )
    assert cli.main([str(path), "--format", "json", "--fail-on", "info"]) == 0
    # the same trust without the tag requirement lets the other account's broker role in
    # without MFA: a finding
    mutated = copy.deepcopy(template)
    for role in gated_roles(mutated).values():
        for statement in _assume_statements(role):
            statement["Condition"].pop("StringEquals")
    loose = tmp_path / "member.template.json"
    loose.write_text(json.dumps(mutated), encoding="utf-8")
    assert cli.main([str(loose), "--format", "json", "--fail-on", "info"]) == 1


def test_a_certified_role_whose_trust_lost_the_assurance_condition_is_a_finding(
    stack_template: tuple[Path, Template],
) -> None:
    """The stack's certified role (tests/infrastructure/conftest.py) agrees with its trust
    until the assurance condition goes: then the broker and IAM disagree (MFA016)."""
    template = copy.deepcopy(stack_template[1])
    inventory = load_file(stack_template[0])
    certified = [name for name, level in inventory.role_assurance.items() if level == "certified"]
    assert certified, "the synthesized stack has no role requiring certified keys"
    trust = template["Resources"][certified[0]]["Properties"]["AssumeRolePolicyDocument"]
    for statement in _statements(trust):  # AssumeRole and TagSession
        statement.get("Condition", {}).get("StringEquals", {}).pop(
            "aws:RequestTag/tapgate-assurance", None
        )
    text = json.dumps(template, indent=1)
    edited = load_template(template, source="stack.template.json", index=LineIndex(text, template))
    assert {f.check_id for f in run_checks(edited)} == {"MFA016"}
