"""The broker Lambda and its role: verifies ceremonies, assumes gated roles.

The role starts with no permissions; the stack adds the contract's broker statements
(``tapgate_contract.policies.broker_statements``: exactly the table actions and the STS
actions on gated roles the broker needs), the same ones local mode gives its broker role.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aws_cdk import AssetHashType, BundlingOptions, DockerImage, Duration, RemovalPolicy
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
from stacks.nag import acknowledge
from tapgate_contract.policies import LAMBDA_SERVICE

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
    ``tapgate_broker``)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
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

    def add_statements(self, statements: Sequence[dict[str, Any]]) -> None:
        """Add policy statements (JSON, as the contract's builders make them) to the role."""
        for statement in statements:
            self.role.add_to_principal_policy(iam.PolicyStatement.from_json(statement))


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
