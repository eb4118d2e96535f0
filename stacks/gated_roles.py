"""Gated roles: usable only through tapgate, only with a verified WebAuthn assertion.

Two layers, both plain IAM so a security team can audit them where they audit everything else:

* the **gating policy** denies every action unless the session carries
  ``tapgate-mfa=webauthn`` (an absent tag is denied, like ``aws:MultiFactorAuthPresent``);
* the **trust policy** trusts only the broker role, requires the tapgate session tags as
  request tags, allows no other tag keys, and lists who may obtain the role
  (``sts:SourceIdentity`` values or patterns).

Both documents come from the contract (``tapgate_contract.policies``), which local mode
builds its gated role from too; ``gated_role_trust_policy`` there gives the trust policy as
JSON for a role retrofitted outside CDK.

``GatedRole`` is importable by other CDK apps: pass the broker role ARN from tapgate's
``BrokerRoleArn`` output and list the role in tapgate's ``externalRoles`` context.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, Tags
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.nag import acknowledge
from tapgate_contract.limits import MAX_SESSION_SECONDS, MIN_SESSION_SECONDS
from tapgate_contract.policies import gated_role_tags, gated_role_trust_statements
from tapgate_contract.policies import gating_policy as gating_policy_document
from tapgate_contract.tags import ANY_ASSURANCE


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
        assurance: str = ANY_ASSURANCE,
        description: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if not MIN_SESSION_SECONDS <= max_session_seconds <= MAX_SESSION_SECONDS:
            raise ValueError(
                f"max_session_seconds must be {MIN_SESSION_SECONDS}..{MAX_SESSION_SECONDS} "
                "(role chaining limit)"
            )
        # The contract's trust statements: AssumeRole (the role's assumed_by) first.
        assume, *others = gated_role_trust_statements(
            broker_role_arn=broker_role_arn,
            allowed_source_identities=allowed_source_identities,
            require_user_verification=user_verification == "required",
            assurance=assurance,
        )
        if assume["Action"] != "sts:AssumeRole":
            raise ValueError("the contract's first trust statement must be sts:AssumeRole")
        inline: dict[str, iam.PolicyDocument] = {}
        if gating_policy is None:
            inline["TapgateGating"] = iam.PolicyDocument.from_json(gating_policy_document())
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            description=description or "Usable only through tapgate with a WebAuthn assertion",
            assumed_by=iam.PrincipalWithConditions(
                iam.ArnPrincipal(assume["Principal"]["AWS"]), assume["Condition"]
            ),
            managed_policies=[*managed_policies, *([gating_policy] if gating_policy else [])],
            inline_policies=inline or None,
            # IAM's minimum, and STS caps chained sessions at one hour anyway; a shorter
            # per-role limit is the broker's DurationSeconds (TAPGATE_ROLES).
            max_session_duration=Duration.seconds(MAX_SESSION_SECONDS),
        )
        assert self.role.assume_role_policy is not None  # noqa: S101 - set by assumed_by
        for statement in others:
            self.role.assume_role_policy.add_statements(iam.PolicyStatement.from_json(statement))
        # The broker may act only on roles carrying this tag (on top of its ARN list).
        for key, value in gated_role_tags().items():
            Tags.of(self.role).add(key, value)
        self.role_arn = self.role.role_arn
        self.max_session_seconds = max_session_seconds
        self.user_verification = user_verification
        self.assurance = assurance


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
