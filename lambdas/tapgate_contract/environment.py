"""The broker Lambda's environment variables: the stack (and local mode) set them, the
broker's settings read them."""

from __future__ import annotations

CREDENTIALS_TABLE = "TAPGATE_CREDENTIALS_TABLE"
CEREMONIES_TABLE = "TAPGATE_CEREMONIES_TABLE"
AUDIT_TABLE = "TAPGATE_AUDIT_TABLE"
RP_ID = "TAPGATE_RP_ID"
RP_NAME = "TAPGATE_RP_NAME"
ORIGINS = "TAPGATE_ORIGINS"  # JSON list of origins; the first is the page's
# JSON list of {"arn", "name", "maxSessionSeconds", "userVerification", "requireSignCounter",
# "assurance", "aaguids"}
ROLES = "TAPGATE_ROLES"
CEREMONY_TTL_SECONDS = "TAPGATE_CEREMONY_TTL_SECONDS"
AUDIT_RETENTION_DAYS = "TAPGATE_AUDIT_RETENTION_DAYS"
ADMINS = "TAPGATE_ADMINS"  # JSON list of admin IAM user names and IAM role ARNs
ENROLLMENT_TTL_SECONDS = "TAPGATE_ENROLLMENT_TTL_SECONDS"  # enrollment token lifetime
FEDERATION_URL = "TAPGATE_FEDERATION_URL"  # local mode only: the federation stand-in
IDENTITY_ROLES = "TAPGATE_IDENTITY_ROLES"  # JSON list: role ARNs (with path) or ARN patterns
MAX_KEYS_PER_USER = "TAPGATE_MAX_KEYS_PER_USER"  # key cap per user
# FIDO metadata (MDS3): the bucket and object key of the verified blob (the refresh function
# writes it, the broker reads it), the blob's download URL (refresh only) and the trust root
# (PEM; unset: the FIDO Alliance's, shipped with the code).
METADATA_BUCKET = "TAPGATE_METADATA_BUCKET"
METADATA_KEY = "TAPGATE_METADATA_KEY"
METADATA_URL = "TAPGATE_METADATA_URL"
METADATA_ROOT = "TAPGATE_METADATA_ROOT"
METADATA_FILE = "TAPGATE_METADATA_FILE"  # local mode only: the blob as a file path
METADATA_OBJECT_KEY = "mds3/blob.jwt"  # the blob's key in the metadata bucket

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
    METADATA_BUCKET,
    METADATA_KEY,
    METADATA_ROOT,
    METADATA_FILE,
)
REQUIRED = (CREDENTIALS_TABLE, CEREMONIES_TABLE, AUDIT_TABLE, RP_ID, ORIGINS, ROLES)
# Names the deployed stack never sets.
LOCAL_ONLY = frozenset({FEDERATION_URL, METADATA_FILE})
# Names the stack sets only when it deploys the metadata refresh (stacks/config.py).
METADATA_ONLY = frozenset({METADATA_BUCKET, METADATA_KEY, METADATA_ROOT})
