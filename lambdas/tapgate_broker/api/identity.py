"""The caller's base identity, as API Gateway's AWS_IAM authorizer reports it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tapgate_broker.core.errors import ForbiddenError
from tapgate_broker.core.models import Caller

_USER = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:user/(?:[^/]+/)*(?P<name>[\w+=,.@-]{1,64})$")
_SESSION = re.compile(
    r"^arn:aws[a-z-]*:sts::\d{12}:assumed-role/[\w+=,.@-]+/(?P<name>[\w+=,.@-]{1,64})$"
)
_FEDERATED = re.compile(r"^arn:aws[a-z-]*:sts::\d{12}:federated-user/(?P<name>[\w+=,.@-]{1,64})$")


def caller_from_event(event: Mapping[str, Any]) -> Caller:
    """An IAM user is its user name; an assumed-role (SSO) session is its session name.

    Unsigned requests give a Caller without a user (only passkey routes accept it).
    """
    context = event.get("requestContext") or {}
    identity = context.get("identity") or {}
    source_ip = str(identity.get("sourceIp") or "")
    user_agent = str(identity.get("userAgent") or "")
    arn = identity.get("userArn")
    if not arn:
        return Caller(user_name=None, arn=None, source_ip=source_ip, user_agent=user_agent)
    return Caller(
        user_name=user_name_from_arn(str(arn)),
        arn=str(arn),
        source_ip=source_ip,
        user_agent=user_agent,
    )


def user_name_from_arn(arn: str) -> str:
    for pattern in (_USER, _SESSION, _FEDERATED):
        match = pattern.match(arn)
        if match:
            return match.group("name")
    raise ForbiddenError(
        "tapgate needs an IAM user or a role session as the base identity.",
        reason=f"unsupported principal {arn}",
    )
