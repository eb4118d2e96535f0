"""The tags tapgate's IAM enforcement turns on.

The broker's ``sts:AssumeRole`` sets the session tags; a gated role's trust policy requires
them and allows no others, and the gating policy denies every action without
``tapgate-mfa=webauthn``. The broker may assume only roles that carry the gated-role tag.
"""

from __future__ import annotations

MFA_TAG = "tapgate-mfa"
MFA_TAG_VALUE = "webauthn"
UV_TAG = "tapgate-uv"  # "true" when the authenticator verified the user (PIN, biometric)
CREDENTIAL_TAG = "tapgate-credential"  # a short, non-secret label of the key used
SESSION_TAG_KEYS = (MFA_TAG, UV_TAG, CREDENTIAL_TAG)

GATED_ROLE_TAG = "tapgate-gated"
GATED_ROLE_TAG_VALUE = "true"


def uv_tag_value(user_verified: bool) -> str:
    """The ``tapgate-uv`` session tag's value."""
    return "true" if user_verified else "false"
