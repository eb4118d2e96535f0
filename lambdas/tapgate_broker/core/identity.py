"""Who a signed caller is: an IAM user, or a session of a confirmed identity role.

An IAM user is its user name. A role session's name is chosen by whoever assumes the role,
and its ARN (``arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION``) does not carry the role's
path, so anyone allowed to create a role can make ``/attacker/AWSReservedSSO_Fake``, assume
it as a victim's name and look like an Identity Center user. A role session therefore counts
as a user only when what the caller cannot choose confirms its role:

- ``iam:GetRole`` on the role's name, in the broker's account, returns a role whose RoleId
  is the one in the caller's principal id (``AROA…:SESSION``, which API Gateway's AWS_IAM
  authorizer reports as ``requestContext.identity.caller``), and
- that role's full ARN, path included, is a configured identity role (an ARN, or an ARN
  pattern with ``*``/``?``; by default IAM Identity Center's roles, which live under
  ``/aws-reserved/sso.amazonaws.com/``, a path only AWS can create roles in) or an admin
  role ARN.

Anything else is refused (403) rather than guessed.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass

from tapgate_broker.core import user_names
from tapgate_broker.core.errors import ForbiddenError
from tapgate_broker.core.ports import RoleDirectory
from tapgate_broker.core.principals import IAM_USER, ROLE_ARN, ROLE_SESSION
from tapgate_broker.core.user_names import is_user_name
from tapgate_contract.identity import (  # noqa: F401  (re-exported for settings and tests)
    DEFAULT_IDENTITY_ROLES,
    IDENTITY_CENTER_ROLES,
    IDENTITY_ROLE_ENTRY_PATTERN,
)

IDENTITY_ROLE_ENTRY = re.compile(IDENTITY_ROLE_ENTRY_PATTERN, re.ASCII)
_FEDERATED = re.compile(r"arn:aws[a-z-]*:sts::\d{12}:federated-user/[\w+=,.@-]{1,64}", re.ASCII)
_ROLE_ID = re.compile(r"AROA[A-Z0-9]{8,128}", re.ASCII)


@dataclass(frozen=True)
class Principal:
    """A caller as tapgate knows it: the user name, and a role session's confirmed role."""

    user_name: str
    role_arn: str | None = None  # full ARN, path included; None for an IAM user


def identify(
    arn: str,
    principal_id: str | None,
    *,
    identity_roles: Sequence[str],
    roles: RoleDirectory,
) -> Principal:
    """The principal behind a verified caller ARN and principal id, or ForbiddenError."""
    user = IAM_USER.fullmatch(arn)
    if user:
        return Principal(_usable(user.group("name"), what="IAM user name", arn=arn))
    session = ROLE_SESSION.fullmatch(arn)
    if session:
        role_arn = _confirmed_role(session, principal_id, roles=roles, arn=arn)
        if not any(fnmatch.fnmatchcase(role_arn, entry) for entry in identity_roles):
            raise ForbiddenError(
                f"Sessions of role {session.group('role')} are not accepted as a tapgate "
                "identity; an admin can add the role's ARN to identityRoles.",
                reason=f"role session of {role_arn}, not an identity role",
            )
        name = _usable(session.group("name"), what="role session name", arn=arn)
        return Principal(name, role_arn=role_arn)
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


def _confirmed_role(
    session: re.Match[str], principal_id: str | None, *, roles: RoleDirectory, arn: str
) -> str:
    """The full ARN of the session's role, confirmed by its RoleId."""
    role_id, _, session_name = (principal_id or "").partition(":")
    if not _ROLE_ID.fullmatch(role_id) or session_name != session.group("name"):
        raise ForbiddenError(
            "tapgate could not confirm your role session.",
            reason=f"principal id {principal_id!r} does not fit {arn}",
        )
    found = roles.role(session.group("role"), role_id=role_id)
    role = ROLE_ARN.fullmatch(found.arn) if found is not None else None
    if (
        found is None
        or role is None
        or found.role_id != role_id
        or role.group("partition") != session.group("partition")
        or role.group("account") != session.group("account")
    ):
        raise ForbiddenError(
            f"Sessions of role {session.group('role')} are not accepted as a tapgate "
            "identity; an admin can add the role's ARN to identityRoles.",
            reason=f"role of {arn} not confirmed (GetRole: {found})",
        )
    return found.arn


def _usable(name: str, *, what: str, arn: str) -> str:
    """The name, if it can be a tapgate user name; a clear 403 now rather than at sign-in."""
    if not is_user_name(name):
        raise ForbiddenError(
            f"Your {what} cannot be a tapgate user name: it must be {user_names.RULE}.",
            reason=f"unusable user name in {arn}",
        )
    return name
