"""The three DynamoDB tables, built from the contract's specs (``tapgate_contract.tables``),
which local mode creates its tables from too."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.encryption import WHY_NO_KEY_FOR_TABLES
from stacks.nag import acknowledge, acknowledge_checkov
from tapgate_contract.tables import AUDIT, BILLING_MODE, CEREMONIES, CREDENTIALS, TableSpec


def _string_key(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


def _table(
    scope: Construct,
    construct_id: str,
    spec: TableSpec,
    *,
    removal_policy: RemovalPolicy,
    encryption_key: kms.IKey | None,
    deletion_protection: bool | None = None,
) -> dynamodb.Table:
    table = dynamodb.Table(
        scope,
        construct_id,
        encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED if encryption_key else None,
        encryption_key=encryption_key,
        partition_key=_string_key(spec.partition_key),
        sort_key=_string_key(spec.sort_key) if spec.sort_key else None,
        billing_mode=dynamodb.BillingMode(BILLING_MODE),
        time_to_live_attribute=spec.ttl_attribute,
        point_in_time_recovery_specification=(
            dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True)
            if spec.point_in_time_recovery
            else None
        ),
        deletion_protection=deletion_protection,
        removal_policy=removal_policy,
    )
    for index in spec.indexes:
        table.add_global_secondary_index(
            index_name=index.name,
            partition_key=_string_key(index.partition_key),
            sort_key=_string_key(index.sort_key) if index.sort_key else None,
            projection_type=dynamodb.ProjectionType(index.projection),
        )
    return table


class TapgateTables(Construct):
    """Credentials (durable), ceremonies (minutes-lived) and the audit trail.

    Every access pattern is a key lookup or a per-user query, so on-demand billing fits and
    nothing needs a scan. What only a deployment has (retention on stack deletion, deletion
    protection, the encryption key) is decided here. ``encryption_key``: a customer-managed
    key for all three (None: DynamoDB's AWS owned key).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, encryption_key: kms.IKey | None = None
    ) -> None:
        super().__init__(scope, construct_id)
        # Registered keys cannot be re-created: losing this table locks every user out.
        self.credentials = _table(
            self,
            "Credentials",
            CREDENTIALS,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
            encryption_key=encryption_key,
        )
        self.ceremonies = _table(
            self,
            "Ceremonies",
            CEREMONIES,
            removal_policy=RemovalPolicy.DESTROY,
            encryption_key=encryption_key,
        )
        acknowledge(
            self.ceremonies,
            "AwsSolutions-DDB3",
            "Ceremony items are single-use challenges that live for minutes; a backup of "
            "them has no value, and restoring one must never make a challenge answerable.",
        )
        # The security team's evidence: expires by TTL after the retention period, kept on
        # stack deletion, recoverable.
        self.audit = _table(
            self, "Audit", AUDIT, removal_policy=RemovalPolicy.RETAIN, encryption_key=encryption_key
        )
        if encryption_key is None:
            for table in (self.credentials, self.ceremonies, self.audit):
                acknowledge_checkov(table, "CKV_AWS_119", WHY_NO_KEY_FOR_TABLES)
