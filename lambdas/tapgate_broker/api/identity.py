"""The caller's base identity, as API Gateway's AWS_IAM authorizer reports it.

An IAM user is its user name. A role session is its session name, but only for roles
listed as identity roles (by default IAM Identity Center's ``AWSReservedSSO_*``): the
session name of any other role is whatever its caller chose when assuming it, so
accepting it would let anyone who can assume some role act as any tapgate user.
Federated-user sessions (``GetFederationToken``) are refused for the same reason.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from typing import Any

from tapgate_broker.core import user_names
from tapgate_broker.core.errors import ForbiddenError
from tapgate_broker.core.models import Caller
from tapgate_broker.core.principals import (
    DEFAULT_IDENTITY_ROLES,
    IAM_USER,
    ROLE_ARN,
    ROLE_SESSION,
    is_session_of,
)
from tapgate_broker.core.user_names import is_user_name

_FEDERATED = re.compile(r"arn:aws[a-z-]*:sts::\d{12}:federated-user/[\w+=,.@-]{1,64}", re.ASCII)


def caller_from_event(
    event: Mapping[str, Any], *, identity_roles: Sequence[str] = DEFAULT_IDENTITY_ROLES
) -> Caller:
    """Unsigned requests give a Caller without a user (only open routes accept it)."""
    context = event.get("requestContext") or {}
    identity = context.get("identity") or {}
    source_ip = str(identity.get("sourceIp") or "")
    user_agent = str(identity.get("userAgent") or "")
    arn = identity.get("userArn")
    if not arn:
        return Caller(user_name=None, arn=None, source_ip=source_ip, user_agent=user_agent)
    return Caller(
        user_name=user_name_from_arn(str(arn), identity_roles=identity_roles),
        arn=str(arn),
        source_ip=source_ip,
        user_agent=user_agent,
    )


def user_name_from_arn(arn: str, *, identity_roles: Sequence[str] = DEFAULT_IDENTITY_ROLES) -> str:
    user = IAM_USER.fullmatch(arn)
    if user:
        return _usable(user.group("name"), what="IAM user name", arn=arn)
    session = ROLE_SESSION.fullmatch(arn)
    if session:
        if not any(_role_matches(entry, session) for entry in identity_roles):
            raise ForbiddenError(
                f"Sessions of role {session.group('role')} are not accepted as a tapgate "
                "identity; an admin can add the role to identityRoles.",
                reason=f"role session of a role that is not an identity role: {arn}",
            )
        return _usable(session.group("name"), what="role session name", arn=arn)
    if _FEDERATED.fullmatch(arn):
        raise ForbiddenError(
            "Federated-user sessions are not accepted as a tapgate identity (their name is "
            "chosen by whoever created them); use an IAM user or an identity role.",
            reason=f"federated user {arn}",
        )
    raise ForbiddenError(
        "tapgate needs an IAM user or a role session as the base identity.",
        reason=f"unsupported principal {arn}",
    )


def _usable(name: str, *, what: str, arn: str) -> str:
    """The name, if it can be a tapgate user name; a clear 403 now rather than at sign-in."""
    if not is_user_name(name):
        raise ForbiddenError(
            f"Your {what} cannot be a tapgate user name: it must be {user_names.RULE}.",
            reason=f"unusable user name in {arn}",
        )
    return name


def _role_matches(entry: str, session: re.Match[str]) -> bool:
    """An identity-role entry: a role ARN (exact role) or a role-name glob pattern."""
    if ROLE_ARN.fullmatch(entry):
        return is_session_of(session, entry)
    return fnmatch.fnmatchcase(session.group("role"), entry)
