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
# The assurance level of the key used: one of ASSURANCE_LEVELS (docs/deploy.md).
ASSURANCE_TAG = "tapgate-assurance"
SESSION_TAG_KEYS = (MFA_TAG, UV_TAG, CREDENTIAL_TAG, ASSURANCE_TAG)

# A key's assurance levels, weakest first (the broker's core.assurance.AssuranceLevel), and
# what a gated role may require (cdk.json ``gatedRoles[i].assurance``): "any" takes them all.
ASSURANCE_LEVELS = ("synced", "device-bound", "certified")
ANY_ASSURANCE = "any"
ROLE_ASSURANCE = (ANY_ASSURANCE, "device-bound", "certified")

GATED_ROLE_TAG = "tapgate-gated"
GATED_ROLE_TAG_VALUE = "true"


def uv_tag_value(user_verified: bool) -> str:
    """The ``tapgate-uv`` session tag's value."""
    return "true" if user_verified else "false"


def acceptable_assurance(required: str) -> tuple[str, ...]:
    """The ``tapgate-assurance`` values a role requiring ``required`` accepts: that level
    and the stronger ones (every level for ``any``)."""
    if required == ANY_ASSURANCE:
        return ASSURANCE_LEVELS
    if required not in ASSURANCE_LEVELS:
        raise ValueError(f"unknown assurance requirement {required!r}; one of {ROLE_ASSURANCE}")
    return ASSURANCE_LEVELS[ASSURANCE_LEVELS.index(required) :]
