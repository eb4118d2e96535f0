"""Who counts as a tapgate user: the user-name rule and the identity roles.

A user name becomes the STS ``SourceIdentity`` (and part of the role session name) of every
session tapgate issues, so it is exactly what STS accepts there: 2 to 64 characters of ASCII
letters, digits and ``+=,.@_-``, matched in full (a ``$`` anchor would let a trailing newline
through), never starting with ``aws:``.

Anyone who can assume a role chooses its session name, so the broker takes a session name
as a user name only for *identity roles*, named by their full ARN with path (a session ARN
carries no path, so a role name alone could be matched by a role anyone made). IAM Identity
Center's roles are the default: they live under ``/aws-reserved/sso.amazonaws.com/`` (plus a
region segment when Identity Center lives outside us-east-1), a path only AWS creates roles
in, and AWS sets their session name to the signed-in user's.

Patterns here are for ``re.fullmatch`` (Python) and carry no anchors.
"""

from __future__ import annotations

USER_NAME_MIN = 2
USER_NAME_MAX = 64
USER_NAME_PATTERN = rf"[\w+=,.@-]{{{USER_NAME_MIN},{USER_NAME_MAX}}}"  # with re.ASCII

# `*` spans path segments, as in IAM's ArnLike.
IDENTITY_CENTER_ROLE_PATH = "/aws-reserved/sso.amazonaws.com/"
IDENTITY_CENTER_ROLES = f"arn:*:iam::*:role{IDENTITY_CENTER_ROLE_PATH}*"
DEFAULT_IDENTITY_ROLES = (IDENTITY_CENTER_ROLES,)
# A configured identity role: a role ARN (path included) or such an ARN with * and ?.
IDENTITY_ROLE_ENTRY_PATTERN = (
    r"arn:(?:aws[a-z-]*|\*):iam::(?:\d{12}|\*):role/[\w+=,.@/*?-]{1,512}"  # with re.ASCII
)
