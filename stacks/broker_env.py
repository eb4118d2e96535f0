"""Environment variable names the stack sets on the broker Lambda.

These must equal the ENV_* constants in lambdas/tapgate_broker/settings.py. The stack may not
import Lambda code (the two are deployed and versioned separately), so the names are repeated
here once and tests/infrastructure/test_broker_env.py checks both sides agree.
"""

from __future__ import annotations

CREDENTIALS_TABLE = "TAPGATE_CREDENTIALS_TABLE"
CEREMONIES_TABLE = "TAPGATE_CEREMONIES_TABLE"
AUDIT_TABLE = "TAPGATE_AUDIT_TABLE"
RP_ID = "TAPGATE_RP_ID"
RP_NAME = "TAPGATE_RP_NAME"
ORIGINS = "TAPGATE_ORIGINS"  # JSON list of origins
# JSON list of {"arn", "name", "maxSessionSeconds", "userVerification", "requireSignCounter"}
ROLES = "TAPGATE_ROLES"
CEREMONY_TTL_SECONDS = "TAPGATE_CEREMONY_TTL_SECONDS"
AUDIT_RETENTION_DAYS = "TAPGATE_AUDIT_RETENTION_DAYS"
ADMINS = "TAPGATE_ADMINS"  # JSON list of admin IAM user names and IAM role ARNs
ALLOW_LOCALHOST_HTTP = "TAPGATE_ALLOW_LOCALHOST_HTTP"  # local mode only; never set by the stack
ENROLLMENT_TTL_SECONDS = "TAPGATE_ENROLLMENT_TTL_SECONDS"
FEDERATION_URL = "TAPGATE_FEDERATION_URL"  # local mode only: the federation stand-in
IDENTITY_ROLES = "TAPGATE_IDENTITY_ROLES"  # JSON list: role-name globs or role ARNs
MAX_KEYS_PER_USER = "TAPGATE_MAX_KEYS_PER_USER"  # key cap per user

# Names the deployed stack never sets (local mode only).
LOCAL_ONLY = frozenset({ALLOW_LOCALHOST_HTTP, FEDERATION_URL})

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
    ALLOW_LOCALHOST_HTTP,
    ENROLLMENT_TTL_SECONDS,
    FEDERATION_URL,
    IDENTITY_ROLES,
    MAX_KEYS_PER_USER,
)
