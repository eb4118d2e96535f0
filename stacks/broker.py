"""The broker Lambda and its role: verifies ceremonies, assumes gated roles.

The role starts with no permissions; the stack adds the contract's broker statements
(``tapgate_contract.policies.broker_statements``: exactly the table actions and the STS
actions on gated roles the broker needs), the same ones local mode gives its broker role.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aws_cdk import AssetHashType, Aws, BundlingOptions, DockerImage, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.bundling import (
    DEPLOYED_PACKAGES,
    LAMBDA_PLATFORM,
    LAMBDA_PYTHON_VERSION,
    LocalPipBundling,
    asset_hash,
)
from stacks.nag import acknowledge, acknowledge_cfn_lint, acknowledge_checkov
from tapgate_contract.policies import (
    LAMBDA_SERVICE,
    broker_organization_statement,
    identity_role_resource,
)

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


class BrokerFunction(Construct):
    """The broker Lambda function, its role and log group (what runs in it is
    ``tapgate_broker``). ``entry`` is what API Gateway invokes: the function, or with
    ``snap_start`` its ``live`` alias on the current published version (SnapStart snapshots
    published versions only). ``reserved_concurrency``: executions reserved for (and the most
    allowed to) the broker; None leaves it to the account's unreserved pool."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        reserved_concurrency: int | None = None,
        snap_start: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(LAMBDA_SERVICE),
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
            reserved_concurrent_executions=reserved_concurrency,
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
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if snap_start else None,
            # A superseded version's snapshot is charged while the version exists.
            current_version_options=(
                lambda_.VersionOptions(removal_policy=RemovalPolicy.DESTROY) if snap_start else None
            ),
        )
        self.entry: lambda_.IFunction = self.function
        if snap_start:
            # current_version hashes the function's final configuration at synth (the
            # environment the stack adds later included): a changed function publishes a
            # new version, and with it a new snapshot.
            self.entry = lambda_.Alias(
                self, "Live", alias_name="live", version=self.function.current_version
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
        self._acknowledge_scanner_findings(reserved_concurrency=reserved_concurrency)

    def _acknowledge_scanner_findings(self, *, reserved_concurrency: int | None) -> None:
        """checkov's and cfn-lint's findings on the function that are so by design."""
        acknowledge_checkov(
            self.function,
            "CKV_AWS_116",
            "API Gateway invokes the broker synchronously and gets every error as the "
            "response; a dead-letter queue only receives failed asynchronous invocations.",
        )
        acknowledge_checkov(
            self.function,
            "CKV_AWS_117",
            "The broker only calls AWS APIs (DynamoDB, STS, X-Ray) over TLS with SigV4 and "
            "reaches no private network; a VPC would add NAT or endpoints and nothing to guard.",
        )
        acknowledge_checkov(
            self.function,
            "CKV_AWS_173",
            "The environment holds no secret: table names, the RP ID, origins and role ARNs, "
            "the metadata bucket and at most a public CA certificate, which are in the "
            "template and the outputs as well. Lambda encrypts it at rest.",
        )
        if reserved_concurrency is None:
            acknowledge_checkov(
                self.function,
                "CKV_AWS_115",
                "cdk.json sets no reservedConcurrency (an account whose concurrency quota is "
                "below 100 plus the reservation cannot reserve any); API Gateway's stage "
                "throttling and the web ACL bound the invocations.",
            )
        acknowledge_cfn_lint(
            self.function,
            "W3005",
            "CDK's Function depends on its role and the role's policy so that the policy "
            "exists before the first invocation; the role half repeats the Role GetAtt.",
        )

    def add_statements(self, statements: Sequence[dict[str, Any]]) -> None:
        """Add policy statements (JSON, as the contract's builders make them) to the role."""
        for statement in statements:
            self.role.add_to_principal_policy(iam.PolicyStatement.from_json(statement))

    def allow_assume_in_organization(self, organization_id: str) -> None:
        """The STS actions on any tagged gated role of the organization (cdk.json
        ``organizationId``; the contract's builder says what and why)."""
        self.add_statements(
            [
                broker_organization_statement(
                    partition=Aws.PARTITION, organization_id=organization_id
                )
            ]
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/*]",
            "cdk.json's organizationId: any role, but only in that organization "
            "(aws:ResourceOrgID) and only while tagged tapgate-gated=true; a role's own trust "
            "policy must also trust the broker role.",
        )

    def acknowledge_identity_role_patterns(self, role_patterns: Sequence[str]) -> None:
        """cdk-nag's IAM5 on each identity-role pattern the broker may GetRole (the
        contract's ``broker_statements`` grants it)."""
        for pattern in role_patterns:
            if "*" in pattern or "?" in pattern:
                nag_form = identity_role_resource(
                    pattern, partition="<AWS::Partition>", account="<AWS::AccountId>"
                )
                acknowledge(
                    self.role,
                    f"AwsSolutions-IAM5[Resource::{nag_form}]",
                    "iam:GetRole (read-only) on the configured identity-role pattern, by "
                    "default IAM Identity Center's path /aws-reserved/sso.amazonaws.com/, "
                    "where the roles' names are generated per permission set.",
                )


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
                f"/asset-output/bin && cp -r {' '.join(DEPLOYED_PACKAGES)} /asset-output/",
            ],
        ),
    )
