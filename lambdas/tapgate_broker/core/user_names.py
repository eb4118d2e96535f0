"""What a tapgate user name is: one definition, checked at every way in.

A user name becomes the STS ``SourceIdentity`` (and part of the role session name) of every
session tapgate issues, so it is exactly what STS accepts there: 2 to 64 characters of ASCII
letters, digits and ``+=,.@_-``, matched in full (a ``$`` anchor would let a trailing newline
through), and never starting with ``aws:`` (STS reserves that prefix; the colon is outside
the alphabet anyway). IAM user names may be a single character: such a user is refused with
a clear 403 at the first request rather than at every later sign-in.

The ways in: an IAM user's name, an identity role's session name, the ``userName`` of an
enrollment link, and the user an enrollment token belongs to.
"""

from __future__ import annotations

import re

from tapgate_contract.identity import USER_NAME_MAX, USER_NAME_MIN, USER_NAME_PATTERN

_USER_NAME = re.compile(USER_NAME_PATTERN, re.ASCII)
RULE = (
    f"{USER_NAME_MIN}-{USER_NAME_MAX} characters of letters, digits and +=,.@_- "
    "(what STS accepts as a SourceIdentity)"
)


def is_user_name(value: object) -> bool:
    """Whether ``value`` is a usable tapgate user name (an STS SourceIdentity)."""
    return (
        isinstance(value, str)
        and _USER_NAME.fullmatch(value) is not None
        and not value.lower().startswith("aws:")
    )
