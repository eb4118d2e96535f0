"""Build the CDK app: read and validate context, compose the stack, run cdk-nag on synth."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Annotations, App, Validations
from cdk_nag import AwsSolutionsChecks

from stacks.config import config_from_context, placeholder_rp_id_warning
from stacks.member_account import MemberAccountStack
from stacks.tapgate_stack import TapgateStack

STACK_NAME = "Tapgate"
# Synthesized when cdk.json has memberAccount: a template for CloudFormation StackSets.
MEMBER_STACK_NAME = "TapgateMemberAccount"


def build_app(
    *, context: Mapping[str, Any] | None = None, outdir: str | None = None
) -> tuple[App, TapgateStack]:
    """The app and the tapgate stack. Raises ``ConfigError`` naming the bad context key.

    With ``memberAccount`` in the context, the app also holds the member-account stack
    (``MEMBER_STACK_NAME``), deployed separately into other accounts. cdk-nag's AwsSolutions
    pack is a validation plugin on the whole app: a synth with an unacknowledged finding in
    either stack fails.
    """
    app = App(context=dict(context) if context is not None else None, outdir=outdir)
    config = config_from_context(app.node.try_get_context)
    stack = TapgateStack(
        app,
        STACK_NAME,
        config=config,
        description="tapgate: FIDO2/WebAuthn MFA for AWS (API Gateway, Lambda, DynamoDB)",
    )
    if config.member_account is not None:
        MemberAccountStack(
            app,
            MEMBER_STACK_NAME,
            roles=config.member_account.roles,
            description="tapgate: gated roles of a member account, trusting the tapgate "
            "broker role (for CloudFormation StackSets)",
        )
    warning = placeholder_rp_id_warning(config.rp_id)
    if warning is not None:  # shown by every `cdk synth` and `cdk deploy`; --strict fails
        Annotations.of(stack).add_warning_v2("tapgate:placeholder-rp-id", warning)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack
