"""Enrollment tokens and who may issue them.

A token is 256 random bits (``secrets.token_urlsafe(32)``). Only its SHA-256
is stored: the token has full entropy, so a fast hash is enough to make a
leaked table useless, and lookups stay one GetItem. Admins are named in
configuration either as an IAM user name (matches that IAM user only, never a
role session that happens to carry the same name) or as an IAM role ARN, path
included (matches any session of that role, once its RoleId confirmed it).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable

from tapgate_broker.core import user_names
from tapgate_broker.core.errors import BadRequestError, EnrollmentTokenInvalidError
from tapgate_broker.core.principals import IAM_USER, ROLE_ARN
from tapgate_broker.core.user_names import is_user_name

TOKEN_BYTES = 32
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
_BEARER = re.compile(r"Bearer[ ]+(?P<token>\S+)[ ]*", re.IGNORECASE)


def new_token() -> tuple[str, str]:
    """A fresh token and its hash."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def token_from_authorization(header: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header; anything else is refused."""
    if not header:
        raise EnrollmentTokenInvalidError("no Authorization: Bearer header")
    match = _BEARER.fullmatch(header)
    if match is None:
        raise EnrollmentTokenInvalidError("Authorization is not a Bearer token")
    token = match.group("token")
    if not _TOKEN.fullmatch(token):
        raise EnrollmentTokenInvalidError("malformed enrollment token")
    return token


def check_user_name(value: object) -> str:
    if not is_user_name(value):
        raise BadRequestError(f"userName must be {user_names.RULE}")
    assert isinstance(value, str)  # noqa: S101  (is_user_name checked it)
    return value


def is_admin(caller_arn: str | None, admins: Iterable[str], *, role_arn: str | None) -> bool:
    """Whether the verified caller is one of the configured admins.

    ``role_arn`` is a role session's role as ``core/identity`` confirmed it (full ARN, path
    included): a role entry must equal it. A user-name entry matches that IAM user only.
    """
    if not caller_arn:
        return False
    user = IAM_USER.fullmatch(caller_arn) if role_arn is None else None
    for entry in admins:
        if ROLE_ARN.fullmatch(entry):
            if role_arn is not None and role_arn == entry:
                return True
        elif user is not None and user.group("name") == entry:
            return True
    return False
