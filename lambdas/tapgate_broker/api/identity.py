"""The caller's base identity, as API Gateway's AWS_IAM authorizer reports it.

``requestContext.identity`` carries the verified ``userArn`` and ``caller`` (the principal
id: ``AIDA…`` for an IAM user, ``AROA…:SESSION`` for a role session). What they mean, and
which role sessions count as a user, is decided in ``core/identity`` (it may look the role
up); this module only reads the event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tapgate_broker.core.identity import Principal
from tapgate_broker.core.models import Caller

Identify = Callable[[str, str | None], Principal]


def caller_from_event(event: Mapping[str, Any], *, identify: Identify) -> Caller:
    """Unsigned requests give a Caller without a user (only open routes accept it)."""
    context = event.get("requestContext") or {}
    identity = context.get("identity") or {}
    source_ip = str(identity.get("sourceIp") or "")
    user_agent = str(identity.get("userAgent") or "")
    arn = identity.get("userArn")
    if not arn:
        return Caller(user_name=None, arn=None, source_ip=source_ip, user_agent=user_agent)
    principal_id = identity.get("caller")
    principal = identify(str(arn), str(principal_id) if principal_id else None)
    return Caller(
        user_name=principal.user_name,
        arn=str(arn),
        role_arn=principal.role_arn,
        source_ip=source_ip,
        user_agent=user_agent,
    )
