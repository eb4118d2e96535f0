"""Encryption at rest with a customer-managed KMS key, when cdk.json asks for one (``kmsKey``).

``kmsKey: "create"``: the stack creates a key, rotated yearly and retained on ``cdk destroy``
(the retained tables and log groups stay readable only with it). A key ARN: the stack uses
that key, whose key policy the operator keeps (docs/deploy.md). Absent: each service's AWS
owned key encrypts, and the scanners' customer-managed-key checks are acknowledged saying so.

``DataEncryption.key`` is the one key for the tables, every log group of the stack, and any
later store (e.g. a metadata bucket): constructs take it from the stack.
"""

from __future__ import annotations

import jsii
from aws_cdk import AspectPriority, Aspects, Aws, IAspect, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from stacks.config import CREATE_KMS_KEY
from stacks.nag import acknowledge_checkov

# What a principal needs to use a DynamoDB table encrypted with a customer-managed key (the
# AWS managed aws/dynamodb key's policy, without CreateGrant, which only the table's creator
# needs). Allowed only through DynamoDB (kms:ViaService).
DYNAMODB_KEY_ACTIONS = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)
# What reading and writing S3 objects encrypted with SSE-KMS needs, through S3 only.
S3_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
# CloudWatch Logs' documented key-policy actions for encrypting log groups.
LOGS_KEY_ACTIONS = (
    "kms:Encrypt*",
    "kms:Decrypt*",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:Describe*",
)
WHY_NO_KEY_FOR_LOGS = (
    "cdk.json sets no kmsKey: CloudWatch Logs encrypts this log group with its own AWS owned "
    "key. Set kmsKey to 'create' or a key ARN for a customer-managed key."
)
WHY_NO_KEY_FOR_TABLES = (
    "cdk.json sets no kmsKey: DynamoDB encrypts this table with its AWS owned key. Set kmsKey "
    "to 'create' or a key ARN for a customer-managed key."
)


class DataEncryption(Construct):
    """The customer-managed key (or none) for everything the stack stores."""

    def __init__(self, scope: Construct, construct_id: str, *, kms_key: str | None) -> None:
        super().__init__(scope, construct_id)
        self.key: kms.IKey | None = None
        if kms_key == CREATE_KMS_KEY:
            created = kms.Key(
                self,
                "Key",
                description="tapgate: encrypts the tables and log groups of the tapgate stack",
                enable_key_rotation=True,
                removal_policy=RemovalPolicy.RETAIN,
            )
            created.add_to_resource_policy(_logs_may_use_key())
            self.key = created
        elif kms_key is not None:
            self.key = kms.Key.from_key_arn(self, "Key", kms_key)

    def encrypt_log_groups(self, scope: IConstruct) -> None:
        """Every log group under ``scope`` (now or added later) uses the key; without a key,
        each one carries the acknowledgment instead."""
        Aspects.of(scope).add(_EncryptLogGroups(self.key), priority=AspectPriority.MUTATING)

    def grant_table_use(self, role: iam.IRole) -> None:
        """Let ``role`` read and write tables encrypted with the key, through DynamoDB only."""
        if self.key is None:
            return
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=list(DYNAMODB_KEY_ACTIONS),
                resources=[self.key.key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": f"dynamodb.{Aws.REGION}.amazonaws.com"}
                },
            )
        )

    def grant_object_use(self, role: iam.IRole) -> None:
        """Let ``role`` read and write S3 objects encrypted with the key, through S3 only."""
        if self.key is None:
            return
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=list(S3_KEY_ACTIONS),
                resources=[self.key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{Aws.REGION}.amazonaws.com"}},
            )
        )


def _logs_may_use_key() -> iam.PolicyStatement:
    """CloudWatch Logs in this region may use the key for this account's log groups."""
    return iam.PolicyStatement(
        principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
        actions=list(LOGS_KEY_ACTIONS),
        resources=["*"],  # in a key policy, "*" is the key itself
        conditions={
            "ArnLike": {
                "kms:EncryptionContext:aws:logs:arn": (
                    f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:*"
                )
            }
        },
    )


@jsii.implements(IAspect)
class _EncryptLogGroups:
    def __init__(self, key: kms.IKey | None) -> None:
        self._key = key

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, logs.CfnLogGroup):
            return
        if self._key is None:
            acknowledge_checkov(node, "CKV_AWS_158", WHY_NO_KEY_FOR_LOGS)
        elif node.kms_key_id is None:
            node.kms_key_id = self._key.key_arn
