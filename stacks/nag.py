"""cdk-nag 3 acknowledgments: one finding at a time, always with a reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge ``finding`` (``AwsSolutions-IAM5[Resource::*]`` style) on ``construct``."""
    if len(reason) < 20:
        raise ValueError(f"acknowledging {finding} needs a real reason")
    Validations.of(construct).acknowledge(Acknowledgment(id=finding, reason=reason))
