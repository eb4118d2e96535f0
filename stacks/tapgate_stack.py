"""The tapgate stack: tables, broker, API, gating policies and gated roles, wired together."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks import broker_env
from stacks.api import TapgateApi
from stacks.broker import Broker
from stacks.config import TapgateConfig
from stacks.gated_roles import GatedRole
from stacks.nag import acknowledge
from stacks.policies import gating_policy_document, self_service_policy_document
from stacks.tables import CREDENTIAL_ID_INDEX, TapgateTables

CEREMONY_TTL_SECONDS = 300
AUDIT_RETENTION_DAYS = 400
ENROLLMENT_TTL_SECONDS = 900


class TapgateStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: TapgateConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        tables = TapgateTables(self, "Tables")

        self.gating_policy = iam.ManagedPolicy(
            self,
            "GatingPolicy",
            description="tapgate: deny every action unless the session carries "
            "tapgate-mfa=webauthn. Attach to any role you gate.",
            document=iam.PolicyDocument.from_json(gating_policy_document()),
        )

        # The roles' trust policies refer to the broker role and the broker's environment
        # lists the roles: the broker comes first, its environment last.
        self.broker = Broker(self, "Broker")
        self.gated_roles = [
            GatedRole(
                self,
                f"GatedRole{spec.name}",
                broker_role_arn=self.broker.role.role_arn,
                allowed_source_identities=spec.allowed_source_identities,
                role_name=spec.name,
                managed_policies=[
                    iam.ManagedPolicy.from_managed_policy_arn(self, f"{spec.name}Policy{i}", arn)
                    for i, arn in enumerate(spec.managed_policy_arns)
                ],
                gating_policy=self.gating_policy,
                max_session_seconds=spec.max_session_seconds,
                user_verification=spec.user_verification,
            )
            for spec in config.gated_roles
        ]
        for role, spec in zip(self.gated_roles, config.gated_roles, strict=True):
            for arn in spec.managed_policy_arns:
                if ":iam::aws:policy/" in arn:
                    acknowledge(
                        role,
                        f"AwsSolutions-IAM4[Policy::{arn}]",
                        "The operator chose this AWS managed policy for the gated role in "
                        "cdk.json; the gating policy denies all of it without WebAuthn.",
                    )
        roles_json = [
            {
                "arn": role.role_arn,
                "name": spec.name,
                "maxSessionSeconds": spec.max_session_seconds,
                "userVerification": spec.user_verification,
                "requireSignCounter": spec.require_sign_counter,
            }
            for role, spec in zip(self.gated_roles, config.gated_roles, strict=True)
        ] + [
            {
                "arn": ext.arn,
                "name": ext.name,
                "maxSessionSeconds": ext.max_session_seconds,
                "userVerification": ext.user_verification,
                "requireSignCounter": ext.require_sign_counter,
            }
            for ext in config.external_roles
        ]
        for name, value in self._environment(tables, roles=roles_json).items():
            self.broker.function.add_environment(name, value)
        self.broker.grant_tables(
            credentials=tables.credentials,
            credential_index=CREDENTIAL_ID_INDEX,
            ceremonies=tables.ceremonies,
            audit=tables.audit,
        )
        self.broker.allow_get_role(
            list(config.identity_roles) + [a for a in config.admins if ":role/" in a]
        )
        self.broker.allow_assume(
            [r.role_arn for r in self.gated_roles] + [e.arn for e in config.external_roles]
        )

        self.api = TapgateApi(
            self,
            "Api",
            function=self.broker.function,
            throttling=config.throttling,
            custom_domain=config.custom_domain,
        )
        self.self_service_policy = iam.ManagedPolicy(
            self,
            "SelfServicePolicy",
            description="tapgate: lets a user call the tapgate API; registering a first key "
            "needs an MFA session. Attach to your users or their SSO permission set.",
            document=iam.PolicyDocument.from_json(
                self_service_policy_document(api_id=self.api.rest_api.rest_api_id)
            ),
        )
        api_logical_id = self.get_logical_id(self.api.rest_api.node.default_child)  # type: ignore[arg-type]
        acknowledge(
            self.self_service_policy,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:"
            f"<AWS::AccountId>:<{api_logical_id}>/v1/DELETE/credentials/*]",
            "The wildcard is the credential id path parameter; the broker lets a caller "
            "delete only their own keys, and only after a fresh assertion.",
        )
        self._outputs()

    def _environment(self, tables: TapgateTables, *, roles: list[dict[str, Any]]) -> dict:
        config = self.config
        return {
            broker_env.CREDENTIALS_TABLE: tables.credentials.table_name,
            broker_env.CEREMONIES_TABLE: tables.ceremonies.table_name,
            broker_env.AUDIT_TABLE: tables.audit.table_name,
            broker_env.RP_ID: config.rp_id,
            broker_env.RP_NAME: config.rp_name,
            broker_env.ORIGINS: self.to_json_string(list(config.allowed_origins)),
            broker_env.ROLES: self.to_json_string(roles),
            broker_env.CEREMONY_TTL_SECONDS: str(CEREMONY_TTL_SECONDS),
            broker_env.AUDIT_RETENTION_DAYS: str(AUDIT_RETENTION_DAYS),
            broker_env.ADMINS: self.to_json_string(list(config.admins)),
            broker_env.ENROLLMENT_TTL_SECONDS: str(ENROLLMENT_TTL_SECONDS),
            broker_env.IDENTITY_ROLES: self.to_json_string(list(config.identity_roles)),
            broker_env.MAX_KEYS_PER_USER: str(config.max_keys_per_user),
        }

    def _outputs(self) -> None:
        CfnOutput(
            self,
            "ApiUrl",
            value=self.api.url,
            description="tapgate API base URL without the stage (clients append /v1/...)",
        )
        CfnOutput(self, "PageUrl", value=self.api.page_url, description="The tapgate web page")
        CfnOutput(
            self,
            "RpId",
            value=self.config.rp_id,
            description="WebAuthn relying-party ID; keys are bound to it for life",
        )
        CfnOutput(
            self,
            "GatingPolicyArn",
            value=self.gating_policy.managed_policy_arn,
            description="Attach to a role to require tapgate's WebAuthn session tag",
        )
        CfnOutput(
            self,
            "SelfServicePolicyArn",
            value=self.self_service_policy.managed_policy_arn,
            description="Attach to users who may use tapgate",
        )
        CfnOutput(
            self,
            "BrokerRoleArn",
            value=self.broker.role.role_arn,
            description="The only principal a gated role's trust policy may trust",
        )
        for role, spec in zip(self.gated_roles, self.config.gated_roles, strict=True):
            CfnOutput(self, f"GatedRoleArn{spec.name}", value=role.role_arn)
        if self.api.domain is not None:
            CfnOutput(
                self,
                "CustomDomainTarget",
                value=self.api.domain.domain_name_alias_domain_name,
                description="Point a CNAME/alias record for the custom domain here",
            )
