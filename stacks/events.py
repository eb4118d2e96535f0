"""The broker's permission to put its events on the account's default EventBridge bus.

Least privilege: ``events:PutEvents`` on the default bus only, and only for events whose
source is tapgate's and whose detail type is one of tapgate's (stacks/signals.py): the broker
cannot pose as another application or an AWS service on the bus a SIEM subscribes to.
"""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_iam as iam

from stacks import signals


def event_bus_arn(name: str = signals.EVENT_BUS) -> str:
    return f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{Aws.ACCOUNT_ID}:event-bus/{name}"


def allow_put_events(role: iam.IRole) -> None:
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["events:PutEvents"],
            resources=[event_bus_arn()],
            conditions={
                "StringEquals": {
                    "events:source": signals.EVENT_SOURCE,
                    "events:detail-type": list(signals.EVENT_DETAIL_TYPES),
                }
            },
        )
    )
