"""A Python Lambda function as tapgate deploys them, defined once.

arm64, the Python version the bundle is built for (stacks/bundling.py), X-Ray tracing, a role
of its own that starts with no permissions, and a log group kept a year (and on stack
deletion); the cdk-nag findings every such function raises are acknowledged here, once.
The broker's construct predates this and still spells the same out (stacks/broker.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.bundling import LAMBDA_PYTHON_VERSION
from stacks.nag import acknowledge, acknowledge_cfn_lint, acknowledge_checkov
from tapgate_contract.policies import LAMBDA_SERVICE

RUNTIME = lambda_.Runtime(f"python{LAMBDA_PYTHON_VERSION}", lambda_.RuntimeFamily.PYTHON)


class PythonFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        code: lambda_.Code,
        description: str,
        role_description: str,
        memory_size: int,
        timeout: Duration,
        environment: Mapping[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(LAMBDA_SERVICE),
            description=role_description,
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
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=handler,
            code=code,
            role=self.role,
            memory_size=memory_size,
            timeout=timeout,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            environment=dict(environment),
            description=description,
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
            f"Python {LAMBDA_PYTHON_VERSION} on purpose: the code asset's wheels are bundled for "
            "exactly this version (stacks/bundling.py), so a runtime bump is a reviewed change "
            "to the bundling and lambdas/requirements.txt together.",
        )
        self._acknowledge_scanner_findings()

    def _acknowledge_scanner_findings(self) -> None:
        """checkov's and cfn-lint's findings on a scheduled maintenance function, by design."""
        acknowledge_checkov(
            self.function,
            "CKV_AWS_115",
            "A scheduled job invoked once a day by EventBridge: reserving concurrency for it "
            "would take executions from the account's pool (new accounts may have 10) to bound "
            "what the schedule already bounds.",
        )
        acknowledge_checkov(
            self.function,
            "CKV_AWS_116",
            "EventBridge retries a failed run itself and the function's Errors alarm reports "
            "it; the next daily run repeats the work, which is idempotent.",
        )
        acknowledge_checkov(
            self.function,
            "CKV_AWS_117",
            "The function calls public HTTPS endpoints and AWS APIs only; a VPC would add NAT "
            "and endpoints and nothing to guard.",
        )
        acknowledge_checkov(
            self.function,
            "CKV_AWS_173",
            "The environment holds no secret (a bucket name, an object key, a public URL and "
            "at most a public CA certificate); Lambda encrypts it at rest.",
        )
        acknowledge_checkov(
            self.function,
            "CKV_AWS_45",
            "checkov's secret scanner matches the PEM armour of metadataRoot: a public CA "
            "certificate that the blob's signature chain must reach, not a private key.",
        )
        acknowledge_cfn_lint(
            self.function,
            "W3005",
            "CDK's Function depends on its role and the role's policy so that the policy "
            "exists before the first invocation; the role half repeats the Role GetAtt.",
        )
