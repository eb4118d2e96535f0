"""The three DynamoDB tables, the same shapes local mode creates."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from stacks.nag import acknowledge

CREDENTIAL_ID_INDEX = "byCredentialId"
TTL_ATTRIBUTE = "expiresAt"


def _string_key(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


def _pitr() -> dynamodb.PointInTimeRecoverySpecification:
    return dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True)


class TapgateTables(Construct):
    """Credentials (durable), ceremonies (minutes-lived) and the audit trail.

    Every access pattern is a key lookup or a per-user query, so on-demand billing fits and
    nothing needs a scan.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        # Registered keys cannot be re-created: losing this table locks every user out.
        self.credentials = dynamodb.Table(
            self,
            "Credentials",
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
            partition_key=_string_key("userName"),
            sort_key=_string_key("at"),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=TTL_ATTRIBUTE,
            point_in_time_recovery_specification=_pitr(),
            removal_policy=RemovalPolicy.RETAIN,
        )
