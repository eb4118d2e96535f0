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
from tapgate_contract.identity import IDENTITY_CENTER_ROLE_PATH
from tapgate_contract.routes import ROUTES, Auth, Route
from tapgate_contract.stage import STAGE
from tapgate_contract.tables import AUDIT_TIME_INDEX, CREDENTIAL_ID_INDEX
from tapgate_contract.tags import (
    ANY_ASSURANCE,
    ASSURANCE_TAG,
    GATED_ROLE_TAG,
    GATED_ROLE_TAG_VALUE,
    MFA_TAG,
    MFA_TAG_VALUE,
    SESSION_TAG_KEYS,
    UV_TAG,
    acceptable_assurance,
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
AUDIT_ACTIONS = ("dynamodb:PutItem", "dynamodb:Query")  # write records, read a user's
STS_ACTIONS = ("sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity")
EVENTS_ACTIONS = ("events:PutEvents",)
# A role session counts as a user only once GetRole confirmed its role's RoleId and path.
IAM_ACTIONS = ("iam:GetRole",)
_ROLE_ARN_PATTERN = re.compile(
    r"arn:(?P<partition>[^:]+):iam::(?P<account>[^:]+):role/(?P<rest>.+)", re.ASCII
)

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
    identity_role_arns: Sequence[str],
    gated_role_arns: Sequence[str],
) -> list[dict[str, Any]]:
    """What the broker may do: its table actions (the credential-id and audit day indexes by
    their exact ARNs, never ``index/*``), putting tapgate's own events on the account's
    default bus (only its source and detail types, so it cannot pose as another application
    or an AWS service on the bus a SIEM subscribes to), reading the identity roles
    (``iam:GetRole``, read-only, on the configured identity-role ARNs and patterns: GetRole on
    any other role is denied, which the broker takes as "not an identity role"), and the STS
    actions on the listed roles, only while they carry the gated-role tag. No wildcard
    resource beyond the identity-role patterns."""
    statements: list[dict[str, Any]] = [
        _allow(CREDENTIALS_ACTIONS, credentials_table_arn),
        _allow(("dynamodb:Query",), f"{credentials_table_arn}/index/{CREDENTIAL_ID_INDEX}"),
        _allow(CEREMONIES_ACTIONS, ceremonies_table_arn),
        _allow(AUDIT_ACTIONS, audit_table_arn),
        _allow(("dynamodb:Query",), f"{audit_table_arn}/index/{AUDIT_TIME_INDEX}"),
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
    if identity_role_arns:
        statements.append(_allow(IAM_ACTIONS, list(identity_role_arns)))
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


def broker_metadata_statements(
    *, bucket_arn: str, object_key: str, kms_key_arn: str | None, region: str
) -> list[dict[str, Any]]:
    """The broker reads the verified FIDO metadata blob: ``s3:GetObject`` on that one
    object, ``s3:ListBucket`` limited to its key (so a blob not stored yet answers 404, not
    403), and, when the bucket uses the stack's KMS key, ``kms:Decrypt`` through S3 only.
    Nothing else of the bucket, and no write."""
    statements: list[dict[str, Any]] = [
        _allow(("s3:GetObject",), f"{bucket_arn}/{object_key}"),
        {
            **_allow(("s3:ListBucket",), bucket_arn),
            "Condition": {"StringEquals": {"s3:prefix": [object_key]}},
        },
    ]
    if kms_key_arn is not None:
        statements.append(
            {
                **_allow(("kms:Decrypt",), kms_key_arn),
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
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


def identity_role_resource(pattern: str, *, partition: str, account: str) -> str:
    """An identity-role ARN or pattern (``arn:*:iam::*:role/...``) with a wildcard partition or
    account made this deployment's: GetRole is allowed in the broker's own account only."""
    match = _ROLE_ARN_PATTERN.fullmatch(pattern)
    if match is None:
        raise ValueError(f"not a role ARN pattern: {pattern!r}")
    part = partition if match.group("partition") == "*" else match.group("partition")
    acct = account if match.group("account") == "*" else match.group("account")
    return f"arn:{part}:iam::{acct}:role/{match.group('rest')}"


def event_bus_arn(*, partition: str, region: str, account: str) -> str:
    """The account's default event bus, where the broker puts its events."""
    return f"arn:{partition}:events:{region}:{account}:event-bus/{signals.EVENT_BUS}"


def broker_policy(
    *,
    credentials_table_arn: str,
    ceremonies_table_arn: str,
    audit_table_arn: str,
    event_bus_arn: str,
    identity_role_arns: Sequence[str],
    gated_role_arns: Sequence[str],
) -> dict[str, Any]:
    """``broker_statements`` as a policy document."""
    statements = broker_statements(
        credentials_table_arn=credentials_table_arn,
        ceremonies_table_arn=ceremonies_table_arn,
        audit_table_arn=audit_table_arn,
        event_bus_arn=event_bus_arn,
        identity_role_arns=identity_role_arns,
        gated_role_arns=gated_role_arns,
    )
    return {"Version": VERSION, "Statement": statements}


def gated_role_trust_statements(
    *,
    broker_role_arn: str,
    allowed_source_identities: Sequence[str],
    require_user_verification: bool = False,
    assurance: str = ANY_ASSURANCE,
) -> list[dict[str, Any]]:
    """A gated role trusts only the broker, only with tapgate's session tags as request tags
    and no other tag keys, and only for the listed users (``sts:SourceIdentity`` values or
    ``StringLike`` patterns). One statement per action, AssumeRole first.

    A role requiring an ``assurance`` above ``any`` also requires the ``tapgate-assurance``
    request tag to name that level or a stronger one, so IAM itself refuses a session for a
    weaker key even if the broker were wrong."""
    if not allowed_source_identities:
        raise ValueError("a gated role needs at least one allowed SourceIdentity")
    required_tags: dict[str, Any] = {f"aws:RequestTag/{MFA_TAG}": MFA_TAG_VALUE}
    if assurance != ANY_ASSURANCE:
        required_tags[f"aws:RequestTag/{ASSURANCE_TAG}"] = list(acceptable_assurance(assurance))
    identities = list(allowed_source_identities)
    uv_values: str | list[str] = (
        uv_tag_value(True)
        if require_user_verification
        else [uv_tag_value(True), uv_tag_value(False)]
    )
    conditions: dict[str, dict[str, Any]] = {
        "sts:AssumeRole": {
            "StringEquals": dict(required_tags),
            "StringLike": {"sts:SourceIdentity": identities},
        },
        "sts:TagSession": {
            "StringEquals": {**required_tags, f"aws:RequestTag/{UV_TAG}": uv_values},
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
    assurance: str = ANY_ASSURANCE,
) -> dict[str, Any]:
    """``gated_role_trust_statements`` as a policy document: for local mode, the docs, and
    retrofitting a role outside CDK."""
    statements = gated_role_trust_statements(
        broker_role_arn=broker_role_arn,
        allowed_source_identities=allowed_source_identities,
        require_user_verification=require_user_verification,
        assurance=assurance,
    )
    return {"Version": VERSION, "Statement": statements}


def gated_role_tags() -> dict[str, str]:
    """The resource tags every gated role carries (the broker's policy requires them)."""
    return {GATED_ROLE_TAG: GATED_ROLE_TAG_VALUE}


# The API's resource policy -------------------------------------------------------------------
#
# Three rules, in API Gateway's evaluation of a resource policy with AWS_IAM methods:
#
# - The unsigned routes (the page, /config, /enrollment/*, /passkey/*) are allowed to anyone:
#   once an API has a resource policy, a method without IAM authorization needs an explicit
#   Allow there. Nothing else is allowed here, so a SigV4 route stays open to this account's
#   principals whose own IAM policy allows it, and closed to every other account.
# - The routes that can give a user a first key (``Route.needs_mfa``: /registration/*, whose
#   ceremonies may register a first key, and POST /enrollments, which issues links, admins'
#   included) are denied to any principal without aws:MultiFactorAuthPresent, whatever its
#   IAM policy: stolen long-term access keys alone, even of an administrator, cannot register
#   a first key. A further key has routes of its own (/registration/step-up/*), where the
#   step-up assertion is the proof.
# - IAM Identity Center's sessions carry no MFA key (the MFA is at Identity Center's sign-in,
#   which AWS does not pass on), so they are exempt by their role's full ARN: only AWS can
#   make roles under /aws-reserved/sso.amazonaws.com/, and aws:PrincipalArn of a role session
#   is its role's ARN, path included.
#
# Resources are written ``execute-api:/v1/METHOD/path``, the form API Gateway expands to this
# API's own ARN when it stores the policy (naming the API's id in its own policy would be a
# circular reference in the template). Tests pass the expanded prefix instead and evaluate the
# document with tapgate's audit evaluator and the IAM oracle.

INVOKE = "execute-api:Invoke"
THIS_API = "execute-api:/"  # API Gateway puts this API's ARN (with its id) in its place


def route_arn(route: Route, *, api: str = THIS_API) -> str:
    """The execute-api resource of one route under ``api``; path parameters become ``*``."""
    path = "/".join("*" if part.startswith("{") else part for part in route.path.split("/"))
    return f"{api}{STAGE}/{route.method}{path}"


def api_resource_policy(
    *, partition: str, account: str, api: str = THIS_API, routes: tuple[Route, ...] = ROUTES
) -> dict[str, Any]:
    """The API's resource policy; ``partition`` and ``account`` name Identity Center's roles."""

    def arns(chosen: list[Route]) -> list[str]:
        return [route_arn(r, api=api) for r in chosen]

    public = [r for r in routes if r.auth is Auth.PUBLIC]
    first_key = [r for r in routes if r.needs_mfa]
    identity_center = f"arn:{partition}:iam::{account}:role{IDENTITY_CENTER_ROLE_PATH}*"
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "UnsignedRoutesForAnyone",
                "Effect": "Allow",
                "Principal": "*",
                "Action": INVOKE,
                "Resource": arns(public),
            },
            {
                "Sid": "FirstKeyRoutesOnlyWithMfa",
                "Effect": "Deny",
                "Principal": "*",
                "Action": INVOKE,
                "Resource": arns(first_key),
                "Condition": {
                    "BoolIfExists": {"aws:MultiFactorAuthPresent": "false"},
                    "ArnNotLike": {"aws:PrincipalArn": identity_center},
                },
            },
        ],
    }


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
