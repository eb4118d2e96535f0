"""The broker Lambda and its role: verifies ceremonies, assumes gated roles.

The role starts with no permissions; the stack grants exactly the table actions and the STS
actions on gated roles the broker needs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from aws_cdk import AssetHashType, Aws, BundlingOptions, DockerImage, Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.bundling import (
    LAMBDA_PLATFORM,
    LAMBDA_PYTHON_VERSION,
    LocalPipBundling,
    asset_hash,
)
from stacks.nag import acknowledge
from stacks.policies import GATED_ROLE_TAG

LAMBDA_SOURCE = Path(__file__).resolve().parent.parent / "lambdas"
HANDLER = "tapgate_broker.handler.handler"
# What the container build would remove (the local one goes by each package's RECORD).
RUNTIME_PROVIDED_PATHS = (
    "boto3*",
    "botocore*",
    "s3transfer*",
    "jmespath*",
    "urllib3*",
    "dateutil",
    "python_dateutil-*",
    "six.py",
    "six-*",
)

# Exactly what the adapters call (TransactWriteItems needs the item actions it contains).
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
# A role session counts as a user only once GetRole confirmed its role's RoleId and path.
IAM_ACTIONS = ("iam:GetRole",)
_ROLE_PATTERN = re.compile(r"arn:(?P<partition>[^:]+):iam::(?P<account>[^:]+):role/(?P<rest>.+)")


class Broker(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="tapgate broker: verifies WebAuthn ceremonies, assumes gated roles",
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.ARM_64,
            handler=HANDLER,
            code=_code(),
            role=self.role,
            memory_size=512,
            timeout=Duration.seconds(15),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            environment={
                "POWERTOOLS_SERVICE_NAME": "tapgate",
                "POWERTOOLS_METRICS_NAMESPACE": "tapgate",
                "POWERTOOLS_LOG_LEVEL": "INFO",
                # Responses carry session credentials: never put them in traces.
                "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
            },
            description="tapgate broker (WebAuthn ceremonies -> STS AssumeRole)",
        )
        self.log_group.grant_write(self.role)
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray tracing (PutTraceSegments/PutTelemetryRecords) has no resource-level "
            "permissions; this is CDK's standard tracing grant and covers nothing else.",
        )
        acknowledge(
            self.function,
            "AwsSolutions-L1",
            "The runtime is pinned to Python 3.12 on purpose: the bundle pip-installs wheels "
            "for exactly this version (--python-version), so a runtime bump is a reviewed "
            "change to the bundling and lambdas/requirements.txt together.",
        )

    def grant_tables(
        self,
        *,
        credentials: dynamodb.ITable,
        credential_index: str,
        ceremonies: dynamodb.ITable,
        audit: dynamodb.ITable,
    ) -> None:
        # Explicit statements rather than table.grant(): that would add <table>/index/*.
        self._allow(CREDENTIALS_ACTIONS, credentials.table_arn)
        # Query on the credential-id index (discoverable sign-in), by its exact ARN.
        self._allow(("dynamodb:Query",), f"{credentials.table_arn}/index/{credential_index}")
        self._allow(CEREMONIES_ACTIONS, ceremonies.table_arn)
        self._allow(AUDIT_ACTIONS, audit.table_arn)

    def _allow(self, actions: Sequence[str], resource: str) -> None:
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(actions), resources=[resource])
        )

    def allow_get_role(self, role_patterns: Sequence[str]) -> None:
        """iam:GetRole on the identity roles and admin roles only, in this account: the
        broker reads a role session's role to confirm its RoleId and path. GetRole on any
        other role is denied, which the broker takes as "not an identity role"."""
        resources = [_in_this_account(pattern) for pattern in role_patterns]
        if not resources:
            return
        statement = iam.PolicyStatement(actions=list(IAM_ACTIONS), resources=resources)
        self.role.add_to_principal_policy(statement)
        for pattern in role_patterns:
            if "*" in pattern or "?" in pattern:
                acknowledge(
                    self.role,
                    f"AwsSolutions-IAM5[Resource::{_nag_form(pattern)}]",
                    "iam:GetRole (read-only) on the configured identity-role pattern, by "
                    "default IAM Identity Center's path /aws-reserved/sso.amazonaws.com/, "
                    "where the roles' names are generated per permission set.",
                )

    def allow_assume(self, role_arns: Sequence[str]) -> None:
        """sts:AssumeRole/TagSession/SetSourceIdentity on these roles only, and only while
        they carry the gated-role tag: no wildcard resource."""
        if not role_arns:
            return
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=list(STS_ACTIONS),
                resources=list(role_arns),
                conditions={"StringEquals": {f"aws:ResourceTag/{GATED_ROLE_TAG}": "true"}},
            )
        )


def _in_this_account(pattern: str) -> str:
    """An identity-role ARN pattern with a wildcard partition or account made this stack's."""
    match = _ROLE_PATTERN.fullmatch(pattern)
    if match is None:
        raise ValueError(f"not a role ARN pattern: {pattern!r}")
    partition = Aws.PARTITION if match.group("partition") == "*" else match.group("partition")
    account = Aws.ACCOUNT_ID if match.group("account") == "*" else match.group("account")
    return f"arn:{partition}:iam::{account}:role/{match.group('rest')}"


def _nag_form(pattern: str) -> str:
    """How cdk-nag names the resource ``_in_this_account`` makes of ``pattern``."""
    match = _ROLE_PATTERN.fullmatch(pattern)
    assert match is not None  # noqa: S101  (_in_this_account checked it)
    partition = "<AWS::Partition>" if match.group("partition") == "*" else match.group("partition")
    account = "<AWS::AccountId>" if match.group("account") == "*" else match.group("account")
    return f"arn:{partition}:iam::{account}:role/{match.group('rest')}"


def _code() -> lambda_.Code:
    """The asset; unit tests skip its bundling with the aws:cdk:bundling-stacks context."""
    removed = " ".join(f"/asset-output/{name}" for name in RUNTIME_PROVIDED_PATHS)
    return lambda_.Code.from_asset(
        str(LAMBDA_SOURCE),
        exclude=["**/__pycache__", "**/*.pyc"],
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=asset_hash(LAMBDA_SOURCE),
        bundling=BundlingOptions(
            # Docker is never used: LocalPipBundling always succeeds or raises. The image
            # and command document the equivalent container build.
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.12"),
            local=LocalPipBundling(LAMBDA_SOURCE),
            command=[
                "bash",
                "-c",
                "pip install -r requirements.txt -t /asset-output "
                f"--platform {LAMBDA_PLATFORM} --only-binary=:all: --no-compile "
                f"--python-version {LAMBDA_PYTHON_VERSION} && rm -rf {removed} "
                "/asset-output/bin && cp -r tapgate_broker /asset-output/",
            ],
        ),
    )
