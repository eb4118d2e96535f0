"""The audit trail's vocabulary: what an audit event says and how the events route is asked.

The broker writes these words into the audit table and answers them on ``GET
/v1/admin/events``; the CLI (``tapgate events``) sends the query parameters and prints the
fields; EventBridge details carry the same field names.
"""

from __future__ import annotations

# Outcomes: a ceremony or action was done, or refused (with a reason).
OK = "ok"
REFUSED = "refused"
OUTCOMES = (OK, REFUSED)
# How the audit table spells them: the words it has held since the first release, kept so
# that one filter finds a whole retention period's records.
STORED_OUTCOMES = {OK: "success", REFUSED: "failure"}

# Kinds the broker records today. Admin actions add their own; a kind is any word of
# KIND_PATTERN, so a filter on a kind this list does not name yet is still well formed.
REGISTER = "register"
AUTHENTICATE = "authenticate"
REVOKE = "revoke"
LIST_KEYS = "list-keys"
ENROLLMENT_ISSUED = "enrollment-issued"
EVENTS_QUERY = "events-query"  # reading the audit trail is itself audited
KINDS = (REGISTER, AUTHENTICATE, REVOKE, LIST_KEYS, ENROLLMENT_ISSUED, EVENTS_QUERY)
KIND_PATTERN = r"^[a-z][a-z-]{0,31}$"

# The detail an admin action's records carry (its value names the action: revoke,
# revoke-all, ...): such a record also raises the EventBridge event "Admin Action".
ADMIN_ACTION = "adminAction"
ADMIN_REASON = "adminReason"  # the reason an admin gave for the action

# The reason of a refused assertion whose sign counter did not advance: a possible clone.
COUNTER_REGRESSION = "counter-regression"

# One event as the events route answers it (JSON object keys), in the CLI's column order.
# Only these leave the broker: the audit table holds no secret, and nothing else is copied.
FIELDS = (
    "at",
    "user",
    "kind",
    "outcome",
    "reason",
    "roleArn",
    "sessionSeconds",
    "credentialId",
    "nickname",
    "callerArn",
    "sourceIp",
    "userAgent",
    "details",  # kind-specific facts (string to string): issuedBy, via, counters, query
)

# GET /v1/admin/events: query parameters. ``since`` and ``until`` are ISO 8601 UTC times
# (``2026-12-02T20:00:00Z``); the CLI also takes ``2h``/``3d`` and sends the time.
QUERY_PARAMETERS = ("user", "role", "since", "until", "kind", "outcome", "limit", "next")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
DEFAULT_WINDOW_SECONDS = 24 * 3600  # ``since`` when absent: the last day
MAX_PARAMETER_LENGTH = 2048  # any one parameter, the page token included
