"""Numeric and shape limits that more than one deployable enforces or relies on."""

from __future__ import annotations

# Role sessions. The broker's AssumeRole runs in a role session, so it is role chaining,
# which STS caps at one hour whatever the role's MaxSessionDuration says; one hour is also
# IAM's smallest MaxSessionDuration. 900 s is STS's smallest DurationSeconds.
MIN_SESSION_SECONDS = 900
MAX_SESSION_SECONDS = 3600

# Defaults of the broker's configuration (the stack sets them; the broker falls back to
# them when a variable is unset).
CEREMONY_TTL_SECONDS = 300  # a begun ceremony (its challenge) lives five minutes
ENROLLMENT_TTL_SECONDS = 900  # an enrollment link lives fifteen minutes
AUDIT_RETENTION_DAYS = 400  # audit records expire by TTL after this

# Request bodies (the broker refuses larger or deeper ones; the local gateway reads no more).
MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 16

# A ceremony id as the options call returns it; the gateway's body model and the broker
# both refuse anything else.
CEREMONY_ID_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"

# A key's nickname: the JSON field is refused above NICKNAME_FIELD_MAX_LENGTH characters
# before it is normalized; the stored nickname (NFC, trimmed) is at most NICKNAME_MAX_LENGTH.
NICKNAME_FIELD_MAX_LENGTH = 256
NICKNAME_MAX_LENGTH = 64

# Keys per user: the default cap and the most a deployment may allow. A registration
# ceremony keeps a snapshot of the user's keys; with at most MAX_KEYS_PER_USER_LIMIT keys of
# at most ~2.7 KB each it stays far below DynamoDB's 400 KB item limit.
DEFAULT_MAX_KEYS_PER_USER = 20
MAX_KEYS_PER_USER_LIMIT = 100

# A credential id is stored base64url (4 characters per 3 bytes) as a DynamoDB sort key, whose
# limit is 1,024 bytes: 768 raw bytes is the most that fits (WebAuthn allows 1,023).
MAX_CREDENTIAL_ID_BYTES = 768

# An admin action's reason (recorded in the audit trail): 1..ADMIN_REASON_MAX_LENGTH characters
# once NFC-normalized and trimmed, no control or invisible characters.
ADMIN_REASON_MAX_LENGTH = 256
# The inventory's "unused for N days": 1..REPORT_UNUSED_DAYS_MAX (ten years), default 90.
REPORT_UNUSED_DAYS_DEFAULT = 90
REPORT_UNUSED_DAYS_MAX = 3650
# An authenticator model's AAGUID as FIDO metadata writes it (a role's ``aaguids``), and how
# many models one role may name (the list travels in the broker's environment).
AAGUID_PATTERN = r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"
MAX_ROLE_AAGUIDS = 32
# Browser sign-in for the CLI (RFC 8252 + PKCE, RFC 7636). The page sends the browser to
# http://127.0.0.1:PORT/callback with a single-use code that lives CODE_TTL_SECONDS; the
# CLI exchanges it with the PKCE verifier. Only 127.0.0.1 and an unprivileged port are a
# target (the CLI listens on a random one), so a link cannot send a code anywhere else.
CODE_TTL_SECONDS = 60
CODE_BYTES = 32  # a code is 32 random bytes, base64url: 43 characters
CODE_PATTERN = r"^[A-Za-z0-9_-]{43}$"
CODE_VERIFIER_PATTERN = r"^[A-Za-z0-9._~-]{43,128}$"  # RFC 7636 section 4.1
CODE_CHALLENGE_PATTERN = r"^[A-Za-z0-9_-]{43}$"  # base64url(SHA-256(verifier)), unpadded
CODE_CHALLENGE_METHOD = "S256"  # the only one: "plain" would put the verifier in the URL
LOOPBACK_HOST = "127.0.0.1"
LOOPBACK_PORT_MIN = 1024
LOOPBACK_PORT_MAX = 65535
LOOPBACK_CALLBACK_PATH = "/callback"
CLI_STATE_PATTERN = r"^[A-Za-z0-9_-]{16,128}$"  # opaque to the broker; the page checks shape
# A role ARN in a request body (``roleArn``), as the broker and the API document accept it.
# ASCII classes spelled out: the same pattern serves Python's ``re`` and JSON Schema's regex.
ROLE_ARN_FIELD_PATTERN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]{1,512}$"

# A purpose of an authentication ceremony: a sign-in, or a key list or removal.
PURPOSES = ("sign-in", "manage")
