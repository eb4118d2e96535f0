"""Scanner acknowledgments: one finding at a time, always with a reason.

cdk-nag 3's go through ``Validations``. checkov's and cfn-lint's are written into the
resource's template metadata (``Metadata.checkov.skip``, ``Metadata.cfn-lint``), where a
security team that runs those scanners on the synthesized template finds them, each with its
reason. A cdk-nag rule that checkov checks under an id of its own (``CHECKOV_EQUIVALENTS``)
is acknowledged in both by one call, with the one reason.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, CfnResource, Validations
from constructs import IConstruct

MIN_REASON_LENGTH = 20

# cdk-nag rule -> the checkov checks that test exactly the same property.
CHECKOV_EQUIVALENTS: dict[str, tuple[str, ...]] = {
    # "The API does not implement authorization" / "no open access to back-end resources"
    "AwsSolutions-APIG4": ("CKV_AWS_59",),
    # "The DynamoDB table does not have Point-in-time Recovery enabled"
    "AwsSolutions-DDB3": ("CKV_AWS_28",),
    # "The S3 Bucket has server access logs disabled"
    "AwsSolutions-S1": ("CKV_AWS_18",),
}


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge ``finding`` (``AwsSolutions-IAM5[Resource::*]`` style) on ``construct``,
    and its checkov equivalents on the construct's template resource."""
    _check_reason(finding, reason)
    Validations.of(construct).acknowledge(Acknowledgment(id=finding, reason=reason))
    for check_id in CHECKOV_EQUIVALENTS.get(finding.split("[", 1)[0], ()):
        acknowledge_checkov(construct, check_id, reason)


def acknowledge_checkov(construct: IConstruct, check_id: str, reason: str) -> None:
    """Skip checkov's ``check_id`` (``CKV_AWS_116``) on the construct's template resource."""
    _check_reason(check_id, reason)
    resource = template_resource(construct)
    metadata: dict[str, Any] = dict(resource.get_metadata("checkov") or {})
    skips = [s for s in metadata.get("skip", []) if s["id"] != check_id]
    metadata["skip"] = [*skips, {"id": check_id, "comment": reason}]
    resource.add_metadata("checkov", metadata)


def acknowledge_cfn_lint(construct: IConstruct, rule: str, reason: str) -> None:
    """Ignore cfn-lint's ``rule`` (``W3005``) on the construct's template resource; the
    reason sits next to cfn-lint's own ``config`` (which it reads) under ``reasons``."""
    _check_reason(rule, reason)
    resource = template_resource(construct)
    metadata: dict[str, Any] = dict(resource.get_metadata("cfn-lint") or {})
    config = dict(metadata.get("config", {}))
    config["ignore_checks"] = sorted({*config.get("ignore_checks", []), rule})
    metadata["config"] = config
    metadata["reasons"] = {**metadata.get("reasons", {}), rule: reason}
    resource.add_metadata("cfn-lint", metadata)


def template_resource(construct: IConstruct) -> CfnResource:
    """The CloudFormation resource a construct stands for: itself, or an L2's default child.
    Refuses a construct that is not one resource (metadata would land nowhere)."""
    if isinstance(construct, CfnResource):
        return construct
    child = construct.node.default_child
    if isinstance(child, CfnResource):
        return child
    raise ValueError(f"{construct.node.path} is not a single template resource")


def _check_reason(finding: str, reason: str) -> None:
    if len(reason) < MIN_REASON_LENGTH:
        raise ValueError(f"acknowledging {finding} needs a real reason")
