"""The three DynamoDB tables, built from the contract's specs (``tapgate_contract.tables``),
which local mode creates its tables from too."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from stacks.nag import acknowledge
from tapgate_contract.tables import AUDIT, BILLING_MODE, CEREMONIES, CREDENTIALS, TableSpec


def _string_key(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


def _table(
    scope: Construct,
    construct_id: str,
    spec: TableSpec,
    *,
    removal_policy: RemovalPolicy,
    deletion_protection: bool | None = None,
) -> dynamodb.Table:
    table = dynamodb.Table(
        scope,
        construct_id,
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
            projection_type=dynamodb.ProjectionType(index.projection),
        )
    return table


class TapgateTables(Construct):
    """Credentials (durable), ceremonies (minutes-lived) and the audit trail.

    Every access pattern is a key lookup or a per-user query, so on-demand billing fits and
    nothing needs a scan. What only a deployment has (retention on stack deletion, deletion
    protection) is decided here.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        # Registered keys cannot be re-created: losing this table locks every user out.
        self.credentials = _table(
            self,
            "Credentials",
            CREDENTIALS,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.ceremonies = _table(
            self, "Ceremonies", CEREMONIES, removal_policy=RemovalPolicy.DESTROY
        )
        acknowledge(
            self.ceremonies,
            "AwsSolutions-DDB3",
            "Ceremony items are single-use challenges that live for minutes; a backup of "
            "them has no value, and restoring one must never make a challenge answerable.",
        )
        # The security team's evidence: expires by TTL after the retention period, kept on
        # stack deletion, recoverable.
        self.audit = _table(self, "Audit", AUDIT, removal_policy=RemovalPolicy.RETAIN)
