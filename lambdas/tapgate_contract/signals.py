"""What the broker tells the world, named once: CloudWatch metrics and EventBridge events.

The broker emits the metrics with Powertools (namespace and service dimension below) and
puts the events on the default event bus; the stack alarms on the metrics and grants the
events (``policies.broker_statements``); tests/infrastructure/test_monitoring.py checks the
names against what the handler emits.
"""

from __future__ import annotations

# Powertools Metrics(namespace=..., service=...): every metric carries the dimension
# service=<SERVICE>; an alarm on the metric without it would watch a metric nobody emits.
METRIC_NAMESPACE = "tapgate"
SERVICE = "tapgate"
SERVICE_DIMENSION = "service"

# Counted by the broker (value 1 each): per request, and, from its event emitter
# (adapters/event_bus.py), a sign counter that did not advance (a possible cloned key,
# alarmed on the first one) and an event EventBridge did not take (the request still
# succeeds: the audit table has the record).
COUNTER_REGRESSION = "CounterRegression"
EVENT_EMISSION_FAILED = "EventEmissionFailed"
AUTHENTICATION_SUCCEEDED = "AuthenticationSucceeded"
AUTHENTICATION_FAILED = "AuthenticationFailed"
REGISTRATION_SUCCEEDED = "RegistrationSucceeded"
REGISTRATION_FAILED = "RegistrationFailed"
CREDENTIAL_REVOKED = "CredentialRevoked"
ENROLLMENT_ISSUED = "EnrollmentIssued"
BROKER_METRICS = (
    AUTHENTICATION_SUCCEEDED,
    AUTHENTICATION_FAILED,
    REGISTRATION_SUCCEEDED,
    REGISTRATION_FAILED,
    CREDENTIAL_REVOKED,
    ENROLLMENT_ISSUED,
    COUNTER_REGRESSION,
    EVENT_EMISSION_FAILED,
)
PLANNED_BROKER_METRICS: tuple[str, ...] = ()
# Ceremonies the broker refused: the refused-ceremony spike alarm adds these up.
REFUSED_CEREMONY_METRICS = (AUTHENTICATION_FAILED, REGISTRATION_FAILED)

# Counted by the stack itself, from the API's access log (same namespace, no dimension):
# requests answered 429 by API Gateway's throttling or the broker.
API_THROTTLED = "ApiThrottled"

# EventBridge: the broker puts events on the account's default bus with this source and one
# of these detail types, and may put no others (its IAM policy says so).
EVENT_BUS = "default"
EVENT_SOURCE = "dev.tapgate"  # reverse-DNS of tapgate.dev, as EventBridge recommends
CREDENTIAL_REGISTERED_EVENT = "Credential Registered"
CREDENTIAL_REVOKED_EVENT = "Credential Revoked"
CEREMONY_REFUSED_EVENT = "Ceremony Refused"
COUNTER_REGRESSION_EVENT = "Counter Regression"
ADMIN_ACTION_EVENT = "Admin Action"
EVENT_DETAIL_TYPES = (
    CREDENTIAL_REGISTERED_EVENT,
    CREDENTIAL_REVOKED_EVENT,
    CEREMONY_REFUSED_EVENT,
    COUNTER_REGRESSION_EVENT,
    ADMIN_ACTION_EVENT,
)
