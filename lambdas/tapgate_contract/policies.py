"""tapgate's IAM policies, built in one place for the stack and local mode.

The gating and self-service policies are shipped as JSON (``policies/``, package data) so
operators and auditors read the same text the stack deploys; the broker's permissions and
a gated role's trust policy depend on resources and are built here. Every builder returns
plain policy JSON; ARNs may be CDK tokens (the stack) or real ARNs (local mode).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from importlib import resources
from typing import Any

from tapgate_contract import signals
from tapgate_contract.tables import CREDENTIAL_ID_INDEX
from tapgate_contract.tags import (
    GATED_ROLE_TAG,
    GATED_ROLE_TAG_VALUE,
    MFA_TAG,
    MFA_TAG_VALUE,
    SESSION_TAG_KEYS,
    UV_TAG,
    uv_tag_value,
)

VERSION = "2012-10-17"
GATING_POLICY_FILE = "gating-policy.json"
SELF_SERVICE_POLICY_FILE = "self-service-policy.json"
LAMBDA_SERVICE = "lambda.amazonaws.com"

# Exactly what the broker's adapters call (a transaction needs the item actions it holds).
CREDENTIALS_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
)
CEREMONIES_ACTIONS = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem")
AUDIT_ACTIONS = ("dynamodb:PutItem",)
STS_ACTIONS = ("sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity")
EVENTS_ACTIONS = ("events:PutEvents",)

_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


def shipped_document(name: str) -> dict[str, Any]:
    """One of the JSON documents in ``policies/``, as shipped (placeholders unreplaced)."""
    text = (resources.files("tapgate_contract") / "policies" / name).read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def gating_policy() -> dict[str, Any]:
    """Deny everything unless the session carries tapgate-mfa=webauthn (absent tag: denied)."""
    return shipped_document(GATING_POLICY_FILE)


def self_service_policy(*, partition: str, region: str, account: str, api_id: str) -> dict:
    """The users' execute-api policy for one API, its ``${Partition}``, ``${Region}``,
    ``${Account}`` and ``${ApiId}`` placeholders replaced (CloudFormation references in the
    stack, so one template fits every account and region)."""
    variables = {"Partition": partition, "Region": region, "Account": account, "ApiId": api_id}
    substituted: dict[str, Any] = _substitute(shipped_document(SELF_SERVICE_POLICY_FILE), variables)
    return substituted


def broker_role_trust_policy() -> dict[str, Any]:
    """The broker role is assumed by the Lambda service only."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": LAMBDA_SERVICE},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def broker_statements(
    *,
    credentials_table_arn: str,
    ceremonies_table_arn: str,
    audit_table_arn: str,
    event_bus_arn: str,
    gated_role_arns: Sequence[str],
) -> list[dict[str, Any]]:
    """What the broker may do: its table actions (the credential-id index by its exact ARN,
    never ``index/*``), putting tapgate's own events on the account's default bus (only its
    source and detail types, so it cannot pose as another application or an AWS service on
    the bus a SIEM subscribes to), and the STS actions on the listed roles, only while they
    carry the gated-role tag. No wildcard resource."""
    statements: list[dict[str, Any]] = [
        _allow(CREDENTIALS_ACTIONS, credentials_table_arn),
        _allow(("dynamodb:Query",), f"{credentials_table_arn}/index/{CREDENTIAL_ID_INDEX}"),
        _allow(CEREMONIES_ACTIONS, ceremonies_table_arn),
        _allow(AUDIT_ACTIONS, audit_table_arn),
        {
            **_allow(EVENTS_ACTIONS, event_bus_arn),
            "Condition": {
                "StringEquals": {
                    "events:source": signals.EVENT_SOURCE,
                    "events:detail-type": list(signals.EVENT_DETAIL_TYPES),
                }
            },
        },
    ]
    if gated_role_arns:
        statements.append(
            {
                **_allow(STS_ACTIONS, list(gated_role_arns)),
                "Condition": {
                    "StringEquals": {f"aws:ResourceTag/{GATED_ROLE_TAG}": GATED_ROLE_TAG_VALUE}
                },
            }
        )
    return statements


def broker_organization_statement(*, partition: str, organization_id: str) -> dict[str, Any]:
    """The broker's STS actions on any role of one AWS organization that carries the
    gated-role tag (cdk.json ``organizationId``): gated roles in member accounts need no ARN
    list. Which roles the broker offers is still its role list, and each role's trust policy
    must still trust the broker role."""
    return {
        **_allow(STS_ACTIONS, f"arn:{partition}:iam::*:role/*"),
        "Condition": {
            "StringEquals": {
                "aws:ResourceOrgID": organization_id,
                f"aws:ResourceTag/{GATED_ROLE_TAG}": GATED_ROLE_TAG_VALUE,
            }
        },
    }


def event_bus_arn(*, partition: str, region: str, account: str) -> str:
    """The account's default event bus, where the broker puts its events."""
    return f"arn:{partition}:events:{region}:{account}:event-bus/{signals.EVENT_BUS}"


def broker_policy(
    *,
    credentials_table_arn: str,
    ceremonies_table_arn: str,
    audit_table_arn: str,
    event_bus_arn: str,
    gated_role_arns: Sequence[str],
) -> dict[str, Any]:
    """``broker_statements`` as a policy document."""
    statements = broker_statements(
        credentials_table_arn=credentials_table_arn,
        ceremonies_table_arn=ceremonies_table_arn,
        audit_table_arn=audit_table_arn,
        event_bus_arn=event_bus_arn,
        gated_role_arns=gated_role_arns,
    )
    return {"Version": VERSION, "Statement": statements}


def gated_role_trust_statements(
    *,
    broker_role_arn: str,
    allowed_source_identities: Sequence[str],
    require_user_verification: bool = False,
) -> list[dict[str, Any]]:
    """A gated role trusts only the broker, only with tapgate's session tags as request tags
    and no other tag keys, and only for the listed users (``sts:SourceIdentity`` values or
    ``StringLike`` patterns). One statement per action, AssumeRole first."""
    if not allowed_source_identities:
        raise ValueError("a gated role needs at least one allowed SourceIdentity")
    identities = list(allowed_source_identities)
    uv_values: str | list[str] = (
        uv_tag_value(True)
        if require_user_verification
        else [uv_tag_value(True), uv_tag_value(False)]
    )
    conditions: dict[str, dict[str, Any]] = {
        "sts:AssumeRole": {
            "StringEquals": {f"aws:RequestTag/{MFA_TAG}": MFA_TAG_VALUE},
            "StringLike": {"sts:SourceIdentity": identities},
        },
        "sts:TagSession": {
            "StringEquals": {
                f"aws:RequestTag/{MFA_TAG}": MFA_TAG_VALUE,
                f"aws:RequestTag/{UV_TAG}": uv_values,
            },
            "ForAllValues:StringEquals": {"aws:TagKeys": list(SESSION_TAG_KEYS)},
            "Null": {f"aws:RequestTag/{MFA_TAG}": "false"},
        },
        "sts:SetSourceIdentity": {
            "StringLike": {"sts:SourceIdentity": identities},
        },
    }
    return [
        {
            "Effect": "Allow",
            "Principal": {"AWS": broker_role_arn},
            "Action": action,
            "Condition": condition,
        }
        for action, condition in conditions.items()
    ]


def gated_role_trust_policy(
    *,
    broker_role_arn: str,
    allowed_source_identities: Sequence[str],
    require_user_verification: bool = False,
) -> dict[str, Any]:
    """``gated_role_trust_statements`` as a policy document: for local mode, the docs, and
    retrofitting a role outside CDK."""
    statements = gated_role_trust_statements(
        broker_role_arn=broker_role_arn,
        allowed_source_identities=allowed_source_identities,
        require_user_verification=require_user_verification,
    )
    return {"Version": VERSION, "Statement": statements}


def gated_role_tags() -> dict[str, str]:
    """The resource tags every gated role carries (the broker's policy requires them)."""
    return {GATED_ROLE_TAG: GATED_ROLE_TAG_VALUE}


def _allow(actions: Sequence[str], resource: str | list[str]) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Action": actions[0] if len(actions) == 1 else list(actions),
        "Resource": resource,
    }


def _substitute(value: Any, variables: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, variables) for v in value]
    if isinstance(value, str) and _PLACEHOLDER.search(value):
        unknown = set(_PLACEHOLDER.findall(value)) - set(variables)
        if unknown:
            raise ValueError(f"unknown placeholders {sorted(unknown)} in {value!r}")
        return _PLACEHOLDER.sub(lambda m: variables[m.group(1)], value)
    return value
