"""Gated roles: usable only through tapgate, only with a verified WebAuthn assertion.

Two layers, both plain IAM so a security team can audit them where they audit everything else:

* the **gating policy** denies every action unless the session carries
  ``tapgate-mfa=webauthn`` (an absent tag is denied, like ``aws:MultiFactorAuthPresent``);
* the **trust policy** trusts only the broker role, requires the tapgate session tags as
  request tags, allows no other tag keys, and lists who may obtain the role
  (``sts:SourceIdentity`` values or patterns).

``GatedRole`` is importable by other CDK apps: pass the broker role ARN from tapgate's
``BrokerRoleArn`` output and list the role in tapgate's ``externalRoles`` context.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Duration, Tags
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.nag import acknowledge
from stacks.policies import (
    GATED_ROLE_TAG,
    MFA_TAG,
    MFA_TAG_VALUE,
    SESSION_TAG_KEYS,
    UV_TAG,
    gating_policy_document,
)

MAX_SESSION_SECONDS = 3600


def trust_conditions(
    *, allowed_source_identities: Sequence[str], require_user_verification: bool
) -> dict[str, dict[str, dict[str, Any]]]:
    """The conditions of each trust statement, keyed by action."""
    if not allowed_source_identities:
        raise ValueError("a gated role needs at least one allowed SourceIdentity")
    identities = list(allowed_source_identities)
    uv_values: str | list[str] = "true" if require_user_verification else ["true", "false"]
    return {
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


def trust_policy_json(
    *,
    broker_role_arn: str,
    allowed_source_identities: Sequence[str],
    require_user_verification: bool = False,
) -> dict[str, Any]:
    """The trust policy as JSON: for docs and for retrofitting a role outside CDK."""
    conditions = trust_conditions(
        allowed_source_identities=allowed_source_identities,
        require_user_verification=require_user_verification,
    )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": broker_role_arn},
                "Action": action,
                "Condition": condition,
            }
            for action, condition in conditions.items()
        ],
    }


class GatedRole(Construct):
    """An IAM role that only the tapgate broker can hand out, with WebAuthn session tags.

    ``gating_policy``: tapgate's managed gating policy; when omitted (another CDK app), the
    same deny statement is attached inline so the role is never usable without the tag.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        broker_role_arn: str,
        allowed_source_identities: Sequence[str],
        role_name: str | None = None,
        managed_policies: Sequence[iam.IManagedPolicy] = (),
        gating_policy: iam.IManagedPolicy | None = None,
        max_session_seconds: int = MAX_SESSION_SECONDS,
        user_verification: str = "preferred",
        description: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if not 900 <= max_session_seconds <= MAX_SESSION_SECONDS:
            raise ValueError("max_session_seconds must be 900..3600 (role chaining limit)")
        conditions = trust_conditions(
            allowed_source_identities=allowed_source_identities,
            require_user_verification=user_verification == "required",
        )
        broker = iam.ArnPrincipal(broker_role_arn)
        inline: dict[str, iam.PolicyDocument] = {}
        if gating_policy is None:
            inline["TapgateGating"] = iam.PolicyDocument.from_json(gating_policy_document())
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            description=description or "Usable only through tapgate with a WebAuthn assertion",
            assumed_by=iam.PrincipalWithConditions(broker, conditions["sts:AssumeRole"]),
            managed_policies=[*managed_policies, *([gating_policy] if gating_policy else [])],
            inline_policies=inline or None,
            # IAM's minimum, and STS caps chained sessions at one hour anyway; a shorter
            # per-role limit is the broker's DurationSeconds (TAPGATE_ROLES).
            max_session_duration=Duration.seconds(MAX_SESSION_SECONDS),
        )
        assert self.role.assume_role_policy is not None  # noqa: S101 - set by assumed_by
        for action in ("sts:TagSession", "sts:SetSourceIdentity"):
            self.role.assume_role_policy.add_statements(
                iam.PolicyStatement(
                    principals=[broker], actions=[action], conditions=conditions[action]
                )
            )
        # The broker may act only on roles carrying this tag (on top of its ARN list).
        Tags.of(self.role).add(GATED_ROLE_TAG, "true")
        self.role_arn = self.role.role_arn
        self.max_session_seconds = max_session_seconds
        self.user_verification = user_verification


def acknowledge_aws_managed_policies(role: GatedRole, policy_arns: Sequence[str]) -> None:
    """cdk-nag's IAM4 on each AWS managed policy the operator chose for a gated role."""
    for arn in policy_arns:
        if ":iam::aws:policy/" in arn:
            acknowledge(
                role,
                f"AwsSolutions-IAM4[Policy::{arn}]",
                "The operator chose this AWS managed policy for the gated role in cdk.json; "
                "the gating policy denies all of it without WebAuthn.",
            )
