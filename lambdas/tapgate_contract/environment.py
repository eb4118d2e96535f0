"""The broker Lambda's environment variables: the stack (and local mode) set them, the
broker's settings read them."""

from __future__ import annotations

CREDENTIALS_TABLE = "TAPGATE_CREDENTIALS_TABLE"
CEREMONIES_TABLE = "TAPGATE_CEREMONIES_TABLE"
AUDIT_TABLE = "TAPGATE_AUDIT_TABLE"
RP_ID = "TAPGATE_RP_ID"
RP_NAME = "TAPGATE_RP_NAME"
ORIGINS = "TAPGATE_ORIGINS"  # JSON list of origins; the first is the page's
# JSON list of {"arn", "name", "maxSessionSeconds", "userVerification", "requireSignCounter"}
ROLES = "TAPGATE_ROLES"
CEREMONY_TTL_SECONDS = "TAPGATE_CEREMONY_TTL_SECONDS"
AUDIT_RETENTION_DAYS = "TAPGATE_AUDIT_RETENTION_DAYS"
ADMINS = "TAPGATE_ADMINS"  # JSON list of admin IAM user names and IAM role ARNs
ENROLLMENT_TTL_SECONDS = "TAPGATE_ENROLLMENT_TTL_SECONDS"  # enrollment token lifetime
FEDERATION_URL = "TAPGATE_FEDERATION_URL"  # local mode only: the federation stand-in
IDENTITY_ROLES = "TAPGATE_IDENTITY_ROLES"  # JSON list: role ARNs (with path) or ARN patterns
MAX_KEYS_PER_USER = "TAPGATE_MAX_KEYS_PER_USER"  # key cap per user

ALL = (
    CREDENTIALS_TABLE,
    CEREMONIES_TABLE,
    AUDIT_TABLE,
    RP_ID,
    RP_NAME,
    ORIGINS,
    ROLES,
    CEREMONY_TTL_SECONDS,
    AUDIT_RETENTION_DAYS,
    ADMINS,
    ENROLLMENT_TTL_SECONDS,
    FEDERATION_URL,
    IDENTITY_ROLES,
    MAX_KEYS_PER_USER,
)
REQUIRED = (CREDENTIALS_TABLE, CEREMONIES_TABLE, AUDIT_TABLE, RP_ID, ORIGINS, ROLES)
# Names the deployed stack never sets.
LOCAL_ONLY = frozenset({FEDERATION_URL})
