"""Local mode creates the stack's resources: IAM statement by statement, DynamoDB key by key.

Local mode's ``bootstrap`` runs against moto; the stack is synthesized with the same gated
role local mode describes (its name, users, permissions, session limit and UV setting).
Every reference in the template is resolved to the local resource it stands for, then both
sides are compared: each role's trust policy, inline and managed policies and tags, the
shipped managed policies, and each table's keys, index, TTL, billing and backups.

What only one side has, and why, is listed below; anything else must match.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from stacks.application import STACK_NAME, build_app
from tapgate.local.bootstrap import (
    BROKER_ROLE_NAME,
    LOCAL_API_ID,
    LOCAL_PARTITION,
    SELF_SERVICE_POLICY_NAME,
    LocalResources,
    bootstrap,
)
from tapgate_contract import tables
from tests.infrastructure.conftest import cdk_json_context, no_bundling
from tests.support.deployment import mocked_aws

# API Gateway's account-wide CloudWatch role: a setting of the AWS account, which local mode's
# gateway (it logs itself) has no use for.
STACK_ONLY_ROLES = {"AWS::ApiGateway::Account"}
# What CDK grants a Lambda function for its runtime (log streams, X-Ray segments); local mode
# runs the handler in-process, where neither exists.
STACK_ONLY_ACTION_PREFIXES = ("logs:", "xray:")

Snapshot = dict[str, Any]


# --- local mode's side ---------------------------------------------------------------------


def _local_snapshot(resources: LocalResources, session: boto3.session.Session) -> Snapshot:
    iam = session.client("iam")
    dynamodb = session.client("dynamodb")
    roles = {}
    for role in iam.list_roles()["Roles"]:
        name = role["RoleName"]
        inline = [
            iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
            for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]
        ]
        attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        roles[name] = {
            "trust": iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"],
            "inline": [s for document in inline for s in document["Statement"]],
            "managed": sorted(p["PolicyArn"] for p in attached),
            "tags": {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=name)["Tags"]},
            "max_session_seconds": iam.get_role(RoleName=name)["Role"]["MaxSessionDuration"],
        }
    gating = iam.get_policy(PolicyArn=resources.gating_policy_arn)["Policy"]
    gating_document = iam.get_policy_version(
        PolicyArn=resources.gating_policy_arn, VersionId=gating["DefaultVersionId"]
    )["PolicyVersion"]["Document"]
    self_service = iam.get_user_policy(
        UserName=resources.demo_user.user_name, PolicyName=SELF_SERVICE_POLICY_NAME
    )["PolicyDocument"]
    names = {
        tables.CREDENTIALS.role: resources.credentials_table,
        tables.CEREMONIES.role: resources.ceremonies_table,
        tables.AUDIT.role: resources.audit_table,
    }
    described = {}
    for role, name in names.items():
        table = dynamodb.describe_table(TableName=name)["Table"]
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        backups = dynamodb.describe_continuous_backups(TableName=name)
        pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
        described[role] = {
            "KeySchema": table["KeySchema"],
            "AttributeDefinitions": table["AttributeDefinitions"],
            "GlobalSecondaryIndexes": [
                {k: index[k] for k in ("IndexName", "KeySchema", "Projection")}
                for index in table.get("GlobalSecondaryIndexes", [])
            ],
            "BillingMode": table["BillingModeSummary"]["BillingMode"],
            "ttl": ttl.get("AttributeName") if ttl["TimeToLiveStatus"] == "ENABLED" else None,
            "pitr": pitr["PointInTimeRecoveryStatus"] == "ENABLED",
        }
    return {
        "roles": roles,
        "policies": {"gating": gating_document, "self-service": self_service},
        "tables": described,
    }


@pytest.fixture(scope="module")
def local() -> Iterator[tuple[LocalResources, Snapshot]]:
    with pytest.MonkeyPatch.context() as patch, mocked_aws(patch):
        session = boto3.session.Session(region_name="us-east-1")
        resources = bootstrap(session)
        yield resources, _local_snapshot(resources, session)


# --- the stack's side ----------------------------------------------------------------------


def _local_context(resources: LocalResources) -> dict[str, Any]:
    """cdk.json as shipped, with local mode's gated roles as ``gatedRoles``, without a
    customer-managed KMS key (moto has no use for one; the key only adds kms: statements)."""
    context = copy.deepcopy(cdk_json_context())
    context.pop("kmsKey", None)
    context["gatedRoles"] = [
        {
            "name": role.name,
            "allowedSourceIdentities": list(role.allowed_source_identities),
            "managedPolicyArns": list(role.managed_policy_arns),
            "maxSessionSeconds": role.max_session_seconds,
            "userVerification": role.user_verification,
        }
        for role in resources.gated_roles
    ]
    # The member account's role: another account's role, listed by ARN as cdk.json does.
    context["externalRoles"] = [{"arn": r.arn, "name": r.name} for r in resources.member_roles]
    return no_bundling(context)


class _Resolver:
    """Replaces the template's references with the local resources they stand for."""

    def __init__(self, template: dict[str, Any], resources: LocalResources) -> None:
        self.refs: dict[str, str] = {
            "AWS::Partition": LOCAL_PARTITION,
            "AWS::Region": resources.region,
            "AWS::AccountId": resources.account_id,
        }
        self.arns: dict[str, str] = {}
        by_type = template["Resources"]
        function = _broker_function(template)
        env = function["Properties"]["Environment"]["Variables"]
        table_arns = {
            resources.credentials_table: _table_arn(resources, resources.credentials_table),
            resources.ceremonies_table: _table_arn(resources, resources.ceremonies_table),
            resources.audit_table: _table_arn(resources, resources.audit_table),
        }
        self.table_ids: dict[str, str] = {}
        for spec in tables.TABLES:
            logical = env[spec.environment_variable]["Ref"]
            name = getattr(resources, f"{spec.role}_table")
            self.refs[logical] = name
            self.arns[logical] = table_arns[name]
            self.table_ids[spec.role] = logical
        self.broker_role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
        self.refs[self.broker_role_id] = BROKER_ROLE_NAME
        self.arns[self.broker_role_id] = resources.broker_role_arn
        local_roles = {role.name: role.arn for role in resources.gated_roles}
        self.role_names = {self.broker_role_id: BROKER_ROLE_NAME}
        for logical, resource in by_type.items():
            name = resource.get("Properties", {}).get("RoleName")
            if resource["Type"] == "AWS::IAM::Role" and name is not None:
                self.refs[logical] = name
                self.arns[logical] = local_roles.get(name, f"<no local role {name}>")
                self.role_names[logical] = name
            if resource["Type"] == "AWS::ApiGateway::RestApi":
                self.refs[logical] = LOCAL_API_ID
        outputs = template["Outputs"]
        self.gating_id = outputs["GatingPolicyArn"]["Value"]["Ref"]
        self.refs[self.gating_id] = resources.gating_policy_arn
        self.self_service_id = outputs["SelfServicePolicyArn"]["Value"]["Ref"]

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return self.refs[value["Ref"]]
        if set(value) == {"Fn::GetAtt"} and value["Fn::GetAtt"][1] == "Arn":
            return self.arns[value["Fn::GetAtt"][0]]
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return separator.join(self(p) for p in parts)
        return {k: self(v) for k, v in value.items()}


def _table_arn(resources: LocalResources, name: str) -> str:
    return f"arn:aws:dynamodb:{resources.region}:{resources.account_id}:table/{name}"


def _broker_function(template: dict[str, Any]) -> dict[str, Any]:
    (function,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
    ]
    return function


def _stack_snapshot(template: dict[str, Any], resources: LocalResources) -> Snapshot:
    resolve = _Resolver(template, resources)
    everything = template["Resources"]
    account_roles = {
        r["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
        for r in everything.values()
        if r["Type"] in STACK_ONLY_ROLES
    }
    roles = {}
    for logical, resource in everything.items():
        if resource["Type"] != "AWS::IAM::Role" or logical in account_roles:
            continue
        properties = resource["Properties"]
        inline = [
            s for p in properties.get("Policies", []) for s in p["PolicyDocument"]["Statement"]
        ]
        for policy in everything.values():
            if (
                policy["Type"] == "AWS::IAM::Policy"
                and {"Ref": logical} in policy["Properties"]["Roles"]
            ):
                inline += policy["Properties"]["PolicyDocument"]["Statement"]
        roles[resolve.role_names[logical]] = {
            "trust": resolve(properties["AssumeRolePolicyDocument"]),
            "inline": [
                resolve(s)
                for s in inline
                if not all(a.startswith(STACK_ONLY_ACTION_PREFIXES) for a in _listed(s["Action"]))
            ],
            "managed": sorted(resolve(properties.get("ManagedPolicyArns", []))),
            "tags": {t["Key"]: t["Value"] for t in properties.get("Tags", [])},
            "max_session_seconds": properties.get("MaxSessionDuration", 3600),
        }
    policies = {
        "gating": resolve(everything[resolve.gating_id]["Properties"]["PolicyDocument"]),
        "self-service": resolve(
            everything[resolve.self_service_id]["Properties"]["PolicyDocument"]
        ),
    }
    described = {}
    for role, logical in resolve.table_ids.items():
        properties = everything[logical]["Properties"]
        ttl = properties.get("TimeToLiveSpecification")
        described[role] = {
            "KeySchema": properties["KeySchema"],
            "AttributeDefinitions": properties["AttributeDefinitions"],
            "GlobalSecondaryIndexes": properties.get("GlobalSecondaryIndexes", []),
            "BillingMode": properties["BillingMode"],
            "ttl": ttl["AttributeName"] if ttl and ttl.get("Enabled") else None,
            "pitr": properties.get("PointInTimeRecoverySpecification", {}).get(
                "PointInTimeRecoveryEnabled", False
            ),
        }
    return {"roles": roles, "policies": policies, "tables": described}


@pytest.fixture(scope="module")
def stack(
    local: tuple[LocalResources, Snapshot], tmp_path_factory: pytest.TempPathFactory
) -> Snapshot:
    resources, _ = local
    outdir = tmp_path_factory.mktemp("cdk.out.local")
    app, _stack = build_app(context=_local_context(resources), outdir=str(outdir))
    template = app.synth().get_stack_by_name(STACK_NAME).template
    return _stack_snapshot(template, resources)


# --- the comparison ------------------------------------------------------------------------


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statement(statement: dict[str, Any]) -> dict[str, Any]:
    """IAM's meaning only: a one-element list is its element, lists are unordered."""
    canonical: dict[str, Any] = {}
    for key, value in statement.items():
        if key in ("Action", "NotAction", "Resource", "NotResource"):
            canonical[key] = sorted(_listed(value))
        elif key == "Principal":
            canonical[key] = {k: sorted(_listed(v)) for k, v in value.items()}
        elif key == "Condition":
            canonical[key] = {
                operator: {k: sorted(_listed(v)) for k, v in pairs.items()}
                for operator, pairs in value.items()
            }
        else:
            canonical[key] = value
    return canonical


def _statements(statements: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(_statement(s), sort_keys=True) for s in statements)


def _document(document: dict[str, Any]) -> dict[str, Any]:
    return {
        "Version": document.get("Version"),
        "Statement": _statements(_listed(document["Statement"])),
    }


def differences(stack: Snapshot, local: Snapshot) -> list[str]:
    """Every way local mode's resources differ from the stack's (empty: none)."""
    found = []
    if set(stack["roles"]) != set(local["roles"]):
        found.append(f"roles: stack {sorted(stack['roles'])}, local {sorted(local['roles'])}")
    for name in sorted(set(stack["roles"]) & set(local["roles"])):
        ours, theirs = stack["roles"][name], local["roles"][name]
        if _document(ours["trust"]) != _document(theirs["trust"]):
            found.append(f"role {name}: trust policy {ours['trust']} != {theirs['trust']}")
        missing = sorted(set(_statements(ours["inline"])) - set(_statements(theirs["inline"])))
        extra = sorted(set(_statements(theirs["inline"])) - set(_statements(ours["inline"])))
        if missing or extra or len(ours["inline"]) != len(theirs["inline"]):
            found.append(f"role {name}: inline statements missing {missing}, extra {extra}")
        for key in ("managed", "tags", "max_session_seconds"):
            if ours[key] != theirs[key]:
                found.append(f"role {name}: {key} {ours[key]} != {theirs[key]}")
    for name, document in stack["policies"].items():
        if _document(document) != _document(local["policies"][name]):
            found.append(f"{name} policy: {document} != {local['policies'][name]}")
    for role, table in stack["tables"].items():
        theirs = local["tables"][role]
        for key, value in table.items():
            ours_value, other = value, theirs[key]
            if key == "AttributeDefinitions":
                ours_value, other = _statements(value), _statements(other)
            if ours_value != other:
                found.append(f"table {role}: {key} {ours_value} != {other}")
    return found


def test_local_modes_iam_and_tables_are_the_stacks(
    stack: Snapshot, local: tuple[LocalResources, Snapshot]
) -> None:
    assert differences(stack, local[1]) == []


def test_the_comparison_sees_every_role_policy_and_table(stack: Snapshot) -> None:
    assert set(stack["roles"]) == {BROKER_ROLE_NAME, "tapgate-demo-admin"}
    # 5 table statements (with the audit day index), 1 EventBridge, 1 GetRole, 1 STS
    assert len(stack["roles"][BROKER_ROLE_NAME]["inline"]) == 8
    assert len(stack["roles"]["tapgate-demo-admin"]["trust"]["Statement"]) == 3
    assert set(stack["tables"]) == {t.role for t in tables.TABLES}


# --- the drift this test exists for: each one alone must be found --------------------------


def _drifted(snapshot: Snapshot, change: Any) -> Snapshot:
    changed = copy.deepcopy(snapshot)
    change(changed)
    return changed


def _one_statement_string_equals_trust(snapshot: Snapshot) -> None:
    role = snapshot["roles"]["tapgate-demo-admin"]
    broker = role["trust"]["Statement"][0]["Principal"]
    role["trust"]["Statement"] = [
        {
            "Effect": "Allow",
            "Principal": broker,
            "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
            "Condition": {
                "StringEquals": {
                    "aws:RequestTag/tapgate-mfa": "webauthn",
                    "sts:SourceIdentity": ["tapgate-demo"],
                },
                "ForAllValues:StringEquals": {
                    "aws:TagKeys": ["tapgate-mfa", "tapgate-uv", "tapgate-credential"]
                },
            },
        }
    ]


def _trust_without_the_uv_condition(snapshot: Snapshot) -> None:
    tag_session = snapshot["roles"]["tapgate-demo-admin"]["trust"]["Statement"][1]
    del tag_session["Condition"]["StringEquals"]["aws:RequestTag/tapgate-uv"]


def _broker_without_the_gated_tag_condition(snapshot: Snapshot) -> None:
    for statement in snapshot["roles"][BROKER_ROLE_NAME]["inline"]:
        statement.pop("Condition", None)


def _broker_without_condition_check_item(snapshot: Snapshot) -> None:
    for statement in snapshot["roles"][BROKER_ROLE_NAME]["inline"]:
        actions = _listed(statement["Action"])
        if "dynamodb:ConditionCheckItem" in actions:
            statement["Action"] = [a for a in actions if a != "dynamodb:ConditionCheckItem"]


def _untagged_demo_role(snapshot: Snapshot) -> None:
    snapshot["roles"]["tapgate-demo-admin"]["tags"] = {}


def _gating_policy_on_the_wrong_tag(snapshot: Snapshot) -> None:
    (statement,) = snapshot["policies"]["gating"]["Statement"]
    statement["Condition"] = {"StringNotEquals": {"aws:PrincipalTag/tapgate-uv": "true"}}


def _audit_table_without_backups(snapshot: Snapshot) -> None:
    snapshot["tables"]["audit"]["pitr"] = False


def _ceremonies_without_ttl(snapshot: Snapshot) -> None:
    snapshot["tables"]["ceremonies"]["ttl"] = None


@pytest.mark.parametrize(
    "drift",
    [
        _one_statement_string_equals_trust,
        _trust_without_the_uv_condition,
        _broker_without_the_gated_tag_condition,
        _broker_without_condition_check_item,
        _untagged_demo_role,
        _gating_policy_on_the_wrong_tag,
        _audit_table_without_backups,
        _ceremonies_without_ttl,
    ],
)
def test_each_known_drift_is_found(
    stack: Snapshot, local: tuple[LocalResources, Snapshot], drift: Any
) -> None:
    assert differences(stack, local[1]) == []
    assert differences(stack, _drifted(local[1], drift)) != []
