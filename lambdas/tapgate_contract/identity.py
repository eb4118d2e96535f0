"""Whose role sessions count as users by default.

Anyone who can assume a role chooses its session name, so the broker takes a session name
as a user name only for *identity roles*. IAM Identity Center's roles are the default: AWS
sets their session name to the signed-in user's.
"""

from __future__ import annotations

DEFAULT_IDENTITY_ROLES = ("AWSReservedSSO_*",)
