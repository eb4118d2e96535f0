"""IAM principal ARNs as the broker reads them: IAM users, role sessions, role entries.

One place for the patterns the caller's identity (``api/identity``) and the admin check
(``core/enrollment``) both need, so a role entry in configuration means the same thing
to both.
"""

from __future__ import annotations

import re

# IAM Identity Center's roles: their session name is the user's, set by AWS.
DEFAULT_IDENTITY_ROLES = ("AWSReservedSSO_*",)

# Use with ``fullmatch``: ``$`` would accept a trailing newline.
IAM_USER = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):user/(?:[^/\s]+/)*"
    r"(?P<name>[\w+=,.@-]{1,64})",
    re.ASCII,
)
ROLE_SESSION = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):sts::(?P<account>\d{12}):assumed-role/"
    r"(?P<role>[\w+=,.@-]+)/(?P<name>[\w+=,.@-]{1,64})",
    re.ASCII,
)
ROLE_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):role/(?:[^\s]+/)?(?P<name>[^/\s]+)",
    re.ASCII,
)


def is_session_of(session: re.Match[str], role_arn: str) -> bool:
    """Whether a ``ROLE_SESSION`` match is a session of the role ``role_arn``.

    A session ARN names the role without its path, so partition, account and name match.
    """
    role = ROLE_ARN.fullmatch(role_arn)
    return (
        role is not None
        and all(session.group(part) == role.group(part) for part in ("partition", "account"))
        and session.group("role") == role.group("name")
    )
