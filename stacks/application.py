"""Build the CDK app: read and validate context, compose the stack, run cdk-nag on synth."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Annotations, App, Validations
from cdk_nag import AwsSolutionsChecks

from stacks.config import config_from_context, placeholder_rp_id_warning
from stacks.tapgate_stack import TapgateStack

STACK_NAME = "Tapgate"


def build_app(
    *, context: Mapping[str, Any] | None = None, outdir: str | None = None
) -> tuple[App, TapgateStack]:
    """The app and its one stack. Raises ``ConfigError`` naming the bad context key.

    cdk-nag's AwsSolutions pack is a validation plugin: a synth with an unacknowledged
    finding fails.
    """
    app = App(context=dict(context) if context is not None else None, outdir=outdir)
    config = config_from_context(app.node.try_get_context)
    stack = TapgateStack(
        app,
        STACK_NAME,
        config=config,
        description="tapgate: FIDO2/WebAuthn MFA for AWS (API Gateway, Lambda, DynamoDB)",
    )
    warning = placeholder_rp_id_warning(config.rp_id)
    if warning is not None:  # shown by every `cdk synth` and `cdk deploy`; --strict fails
        Annotations.of(stack).add_warning_v2("tapgate:placeholder-rp-id", warning)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack
