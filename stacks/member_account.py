"""What a platform team deploys into each member account: gated roles that trust the tapgate
broker role in the tapgate account.

Made for CloudFormation StackSets: one template for every account, with the broker role's ARN
as its one parameter. No lookups, no assets, no CDK bootstrap in the member accounts (the
bootstrapless synthesizer leaves out the bootstrap-version rule), no account or region in the
template. The roles are cdk.json's ``memberAccount.roles``, built by the same ``GatedRole``
construct, trust conditions and gating policy as the tapgate stack's own gated roles; their
customer-managed policies are named, so each account's own policy of that name is attached.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Aws, BootstraplessSynthesizer, CfnOutput, CfnParameter, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.config import MemberRoleConfig
from stacks.gated_roles import GatedRole, acknowledge_aws_managed_policies
from tapgate_contract.policies import gating_policy as gating_policy_document

BROKER_ROLE_ARN_PARAMETER = "BrokerRoleArn"
# An IAM role ARN in any partition: the tapgate stack's BrokerRoleArn output.
BROKER_ROLE_ARN_PATTERN = r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$"


def member_role_arn(*, account: str, role_name: str) -> str:
    """A member-account role's ARN (the stack creates its roles at the root path)."""
    return f"arn:{Aws.PARTITION}:iam::{account}:role/{role_name}"


class MemberAccountStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        roles: Sequence[MemberRoleConfig],
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            synthesizer=BootstraplessSynthesizer(),
            analytics_reporting=False,
            **kwargs,
        )
        if not roles:
            raise ValueError("a member-account stack needs at least one gated role")
        broker_role_arn = CfnParameter(
            self,
            BROKER_ROLE_ARN_PARAMETER,
            type="String",
            description="The tapgate stack's BrokerRoleArn output (the tapgate account's "
            "broker role), the only principal the gated roles trust",
            allowed_pattern=BROKER_ROLE_ARN_PATTERN,
            constraint_description="an IAM role ARN, arn:aws:iam::ACCOUNT:role/NAME",
        )
        self.gating_policy = iam.ManagedPolicy(
            self,
            "GatingPolicy",
            description="tapgate: deny every action unless the session carries "
            "tapgate-mfa=webauthn. Attach to any role you gate in this account.",
            document=iam.PolicyDocument.from_json(gating_policy_document()),
        )
        self.gated_roles: list[GatedRole] = []
        for spec in roles:
            managed = [
                *(
                    iam.ManagedPolicy.from_managed_policy_arn(self, f"{spec.name}Policy{i}", arn)
                    for i, arn in enumerate(spec.managed_policy_arns)
                ),
                *(
                    iam.ManagedPolicy.from_managed_policy_name(
                        self, f"{spec.name}NamedPolicy{i}", name
                    )
                    for i, name in enumerate(spec.managed_policy_names)
                ),
            ]
            role = GatedRole(
                self,
                f"GatedRole{spec.name}",
                broker_role_arn=broker_role_arn.value_as_string,
                allowed_source_identities=spec.allowed_source_identities,
                role_name=spec.name,
                managed_policies=managed,
                gating_policy=self.gating_policy,
                max_session_seconds=spec.max_session_seconds,
                user_verification=spec.user_verification,
                assurance=spec.assurance,
            )
            acknowledge_aws_managed_policies(role, spec.managed_policy_arns)
            self.gated_roles.append(role)
            CfnOutput(self, f"GatedRoleArn{spec.name}", value=role.role_arn)
        CfnOutput(
            self,
            "GatingPolicyArn",
            value=self.gating_policy.managed_policy_arn,
            description="Attach to a role of this account to require tapgate's WebAuthn tag",
        )
