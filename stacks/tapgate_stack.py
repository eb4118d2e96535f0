"""The tapgate stack: tables, broker, API, gating policies and gated roles, wired together."""

from __future__ import annotations

import re
from typing import Any

from aws_cdk import Aws, CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.api import BrokerRestApi
from stacks.broker import BrokerFunction
from stacks.broker import _code as broker_code
from stacks.config import TapgateConfig
from stacks.encryption import DataEncryption
from stacks.gated_roles import GatedRole, acknowledge_aws_managed_policies
from stacks.member_account import member_role_arn
from stacks.metadata import MetadataRefresh
from stacks.monitoring import Monitoring
from stacks.nag import acknowledge, acknowledge_checkov
from stacks.tables import TapgateTables
from tapgate_contract import environment, limits, routes
from tapgate_contract.policies import (
    broker_metadata_statements,
    broker_statements,
    event_bus_arn,
    gating_policy,
    identity_role_resource,
    self_service_policy,
)
from tapgate_contract.tables import CREDENTIAL_ID_INDEX


class TapgateStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: TapgateConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        # The customer-managed key (or None) for everything the stack stores; later stores
        # (e.g. a metadata bucket) take it from here.
        self.encryption = DataEncryption(self, "Encryption", kms_key=config.kms_key)
        self.encryption_key = self.encryption.key
        self.encryption.encrypt_log_groups(self)
        tables = TapgateTables(self, "Tables", encryption_key=self.encryption_key)

        self.gating_policy = iam.ManagedPolicy(
            self,
            "GatingPolicy",
            description="tapgate: deny every action unless the session carries "
            "tapgate-mfa=webauthn. Attach to any role you gate.",
            document=iam.PolicyDocument.from_json(gating_policy()),
        )

        # The roles' trust policies refer to the broker role and the broker's environment
        # lists the roles: the broker comes first, its environment last.
        self.broker = BrokerFunction(
            self,
            "Broker",
            reserved_concurrency=config.reserved_concurrency,
            snap_start=config.snap_start,
        )
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
                assurance=spec.assurance,
            )
            for spec in config.gated_roles
        ]
        for role, spec in zip(self.gated_roles, config.gated_roles, strict=True):
            acknowledge_aws_managed_policies(role, spec.managed_policy_arns)
        roles_json = [
            {
                "arn": role.role_arn,
                "name": spec.name,
                "maxSessionSeconds": spec.max_session_seconds,
                "userVerification": spec.user_verification,
                "requireSignCounter": spec.require_sign_counter,
                "assurance": spec.assurance,
                "aaguids": list(spec.aaguids),
            }
            for role, spec in zip(self.gated_roles, config.gated_roles, strict=True)
        ] + [
            {
                "arn": ext.arn,
                "name": ext.name,
                "maxSessionSeconds": ext.max_session_seconds,
                "userVerification": ext.user_verification,
                "requireSignCounter": ext.require_sign_counter,
                "assurance": ext.assurance,
                "aaguids": list(ext.aaguids),
            }
            for ext in config.external_roles
        ]
        member_roles = [
            {
                "arn": member_role_arn(account=account, role_name=spec.name),
                "name": name,
                "maxSessionSeconds": spec.max_session_seconds,
                "userVerification": spec.user_verification,
                "assurance": spec.assurance,
                "aaguids": list(spec.aaguids),
            }
            for account, spec, name in (
                config.member_account.offered_roles() if config.member_account else ()
            )
        ]
        roles_json += member_roles
        for name, value in self._environment(tables, roles=roles_json).items():
            self.broker.function.add_environment(name, value)
        # Identity roles (and admin roles, whose sessions are identities too): GetRole on them.
        identity_role_patterns = list(config.identity_roles) + [
            a for a in config.admins if ":role/" in a
        ]
        self.broker.acknowledge_identity_role_patterns(identity_role_patterns)
        self.broker.add_statements(
            broker_statements(
                credentials_table_arn=tables.credentials.table_arn,
                ceremonies_table_arn=tables.ceremonies.table_arn,
                audit_table_arn=tables.audit.table_arn,
                event_bus_arn=event_bus_arn(
                    partition=Aws.PARTITION, region=Aws.REGION, account=Aws.ACCOUNT_ID
                ),
                identity_role_arns=[
                    identity_role_resource(p, partition=Aws.PARTITION, account=Aws.ACCOUNT_ID)
                    for p in identity_role_patterns
                ],
                gated_role_arns=[r.role_arn for r in self.gated_roles]
                + [e.arn for e in config.external_roles]
                + [r["arn"] for r in member_roles],
            )
        )
        self.encryption.grant_table_use(self.broker.role)
        if config.organization_id is not None:
            self.broker.allow_assume_in_organization(config.organization_id)

        self.api = BrokerRestApi(
            self,
            "Api",
            function=self.broker.entry,
            throttling=config.throttling,
            custom_domain=config.custom_domain,
        )
        self.self_service_policy = iam.ManagedPolicy(
            self,
            "SelfServicePolicy",
            description="tapgate: lets a user call the tapgate API; registering a first key "
            "needs an MFA session. Attach to your users or their SSO permission set.",
            document=iam.PolicyDocument.from_json(
                self_service_policy(
                    partition=Aws.PARTITION,
                    region=Aws.REGION,
                    account=Aws.ACCOUNT_ID,
                    api_id=self.api.rest_api.rest_api_id,
                )
            ),
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            function=self.broker.function,
            rest_api=self.api.rest_api,
            access_logs=self.api.access_logs,
            tables=(tables.credentials, tables.ceremonies, tables.audit),
            credential_index=(tables.credentials, CREDENTIAL_ID_INDEX),
            config=config.alarms,
        )
        api_logical_id = self.get_logical_id(self.api.rest_api.node.default_child)  # type: ignore[arg-type]
        # Each wildcard is a route's path parameter (a credential id, a user name).
        for route in routes.ROUTES:
            if route.auth is not routes.Auth.SIGV4 or "{" not in route.path:
                continue
            pattern = re.sub(r"\{[^}]+\}", "*", route.path)
            acknowledge(
                self.self_service_policy,
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:"
                f"<AWS::AccountId>:<{api_logical_id}>/v1/{route.method}{pattern}]",
                "The wildcard is the route's path parameter (a credential id or a user name); "
                "the broker lets a caller delete only their own keys after a fresh assertion, "
                "and answers 403 on the admin routes to anyone not in the admins list.",
            )
        self.metadata = self._metadata()
        self._outputs()

    def _metadata(self) -> MetadataRefresh | None:
        """FIDO metadata kept fresh, when the configuration asks for it (stacks/config.py)."""
        if self.config.metadata is None:
            return None
        metadata = MetadataRefresh(
            self,
            "Metadata",
            code=broker_code(),
            blob_url=self.config.metadata.blob_url,
            root_pem=self.config.metadata.root_pem,
            encryption_key=self.encryption_key,
            alarm_topic=self.monitoring.topic,
        )
        self.encryption.grant_object_use(metadata.role)
        # The broker reads the verified blob (registration, sign-in with a certified key).
        self.broker.add_statements(
            broker_metadata_statements(
                bucket_arn=metadata.bucket.bucket_arn,
                object_key=environment.METADATA_OBJECT_KEY,
                kms_key_arn=self.encryption_key.key_arn if self.encryption_key else None,
                region=Aws.REGION,
            )
        )
        for name, value in {
            environment.METADATA_BUCKET: metadata.bucket.bucket_name,
            environment.METADATA_KEY: environment.METADATA_OBJECT_KEY,
            **(
                {environment.METADATA_ROOT: self.config.metadata.root_pem}
                if self.config.metadata.root_pem is not None
                else {}
            ),
        }.items():
            self.broker.function.add_environment(name, value)
        if self.config.metadata.root_pem is not None:
            acknowledge_checkov(
                self.broker.function,
                "CKV_AWS_45",
                "checkov's secret scanner matches the PEM armour of metadataRoot: a public CA "
                "certificate that the metadata blob's signature chain must reach, not a key.",
            )
        CfnOutput(
            self,
            "MetadataBucketName",
            value=metadata.bucket.bucket_name,
            description="Where the verified FIDO MDS3 metadata blob is kept",
        )
        return metadata

    def _environment(self, tables: TapgateTables, *, roles: list[dict[str, Any]]) -> dict:
        config = self.config
        return {
            environment.CREDENTIALS_TABLE: tables.credentials.table_name,
            environment.CEREMONIES_TABLE: tables.ceremonies.table_name,
            environment.AUDIT_TABLE: tables.audit.table_name,
            environment.RP_ID: config.rp_id,
            environment.RP_NAME: config.rp_name,
            environment.ORIGINS: self.to_json_string(list(config.allowed_origins)),
            environment.ROLES: self.to_json_string(roles),
            environment.CEREMONY_TTL_SECONDS: str(limits.CEREMONY_TTL_SECONDS),
            environment.AUDIT_RETENTION_DAYS: str(limits.AUDIT_RETENTION_DAYS),
            environment.ADMINS: self.to_json_string(list(config.admins)),
            environment.ENROLLMENT_TTL_SECONDS: str(limits.ENROLLMENT_TTL_SECONDS),
            environment.IDENTITY_ROLES: self.to_json_string(list(config.identity_roles)),
            environment.MAX_KEYS_PER_USER: str(config.max_keys_per_user),
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
        if self.encryption_key is not None:
            CfnOutput(
                self,
                "KmsKeyArn",
                value=self.encryption_key.key_arn,
                description="The customer-managed key of the tables and log groups",
            )
        if self.api.domain is not None:
            CfnOutput(
                self,
                "CustomDomainTarget",
                value=self.api.domain.domain_name_alias_domain_name,
                description="Point a CNAME/alias record for the custom domain here",
            )
