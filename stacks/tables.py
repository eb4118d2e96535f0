"""The three DynamoDB tables, the same shapes local mode creates."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.encryption import WHY_NO_KEY_FOR_TABLES
from stacks.nag import acknowledge, acknowledge_checkov

CREDENTIAL_ID_INDEX = "byCredentialId"
TTL_ATTRIBUTE = "expiresAt"


def _string_key(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


def _pitr() -> dynamodb.PointInTimeRecoverySpecification:
    return dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True)


class TapgateTables(Construct):
    """Credentials (durable), ceremonies (minutes-lived) and the audit trail.

    Every access pattern is a key lookup or a per-user query, so on-demand billing fits and
    nothing needs a scan. ``encryption_key``: a customer-managed key for all three (None:
    DynamoDB's AWS owned key).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, encryption_key: kms.IKey | None = None
    ) -> None:
        super().__init__(scope, construct_id)
        encryption = dynamodb.TableEncryption.CUSTOMER_MANAGED if encryption_key else None
        # Registered keys cannot be re-created: losing this table locks every user out.
        self.credentials = dynamodb.Table(
            self,
            "Credentials",
            encryption=encryption,
            encryption_key=encryption_key,
            partition_key=_string_key("userName"),
            sort_key=_string_key("credentialId"),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=_pitr(),
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.credentials.add_global_secondary_index(
            index_name=CREDENTIAL_ID_INDEX,
            partition_key=_string_key("credentialId"),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        self.ceremonies = dynamodb.Table(
            self,
            "Ceremonies",
            encryption=encryption,
            encryption_key=encryption_key,
            partition_key=_string_key("ceremonyId"),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=TTL_ATTRIBUTE,
            removal_policy=RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.ceremonies,
            "AwsSolutions-DDB3",
            "Ceremony items are single-use challenges that live for minutes; a backup of "
            "them has no value, and restoring one must never make a challenge answerable.",
        )
        # The security team's evidence: expires by TTL after the retention period, kept on
        # stack deletion, recoverable.
        self.audit = dynamodb.Table(
            self,
            "Audit",
            encryption=encryption,
            encryption_key=encryption_key,
            partition_key=_string_key("userName"),
            sort_key=_string_key("at"),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=TTL_ATTRIBUTE,
            point_in_time_recovery_specification=_pitr(),
            removal_policy=RemovalPolicy.RETAIN,
        )
        if encryption_key is None:
            for table in (self.credentials, self.ceremonies, self.audit):
                acknowledge_checkov(table, "CKV_AWS_119", WHY_NO_KEY_FOR_TABLES)
