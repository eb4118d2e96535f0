"""One error root for the broker; each subclass maps to one HTTP status.

``detail`` is safe to show to the caller. ``reason`` is for logs and audit
records only (it may say which check failed); it never reaches the client.
"""

from __future__ import annotations

from tapgate_contract.audit_events import COUNTER_REGRESSION


class TapgateError(Exception):
    status = 500
    title = "Internal error"
    type_slug = "internal"

    def __init__(self, detail: str, *, reason: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.reason = reason or detail

    @property
    def audit_facts(self) -> dict[str, str]:
        """Facts for the audit record's details beside ``reason`` (never for the client)."""
        return {}


class BadRequestError(TapgateError):
    status = 400
    title = "Bad request"
    type_slug = "bad-request"


class CeremonyFailedError(TapgateError):
    """A WebAuthn ceremony failed. One generic message whatever the cause."""

    status = 401
    title = "Authentication failed"
    type_slug = "ceremony-failed"
    GENERIC = "The security key ceremony could not be verified."

    def __init__(self, reason: str) -> None:
        super().__init__(self.GENERIC, reason=reason)


class CounterRegressionError(CeremonyFailedError):
    """The key's sign counter did not advance: two authenticators may share one key (a
    clone). The audit reason is exactly ``counter-regression``; the counters go with it."""

    def __init__(self, *, stored: int, received: int) -> None:
        super().__init__(COUNTER_REGRESSION)
        self.stored = stored
        self.received = received

    @property
    def audit_facts(self) -> dict[str, str]:
        return {"storedCounter": str(self.stored), "receivedCounter": str(self.received)}


class EnrollmentTokenInvalidError(TapgateError):
    """Missing, malformed, unknown, expired or used enrollment token: one message for all."""

    status = 401
    title = "Enrollment link not valid"
    type_slug = "enrollment-token-invalid"
    GENERIC = "This enrollment link has expired or was already used; ask for a new one."

    def __init__(self, reason: str) -> None:
        super().__init__(self.GENERIC, reason=reason)


class ForbiddenError(TapgateError):
    status = 403
    title = "Forbidden"
    type_slug = "forbidden"


class AuthenticatorNotAllowedError(ForbiddenError):
    """The key's assurance level (or model) is below what the role requires."""

    title = "Authenticator not allowed"
    type_slug = "authenticator-not-allowed"


class NotFoundError(TapgateError):
    status = 404
    title = "Not found"
    type_slug = "not-found"


class ConflictError(TapgateError):
    status = 409
    title = "Conflict"
    type_slug = "conflict"


class KeySetChangedError(ConflictError):
    """The user's keys changed since the ceremony began (or the key cap is reached)."""

    GENERIC = "Your security keys changed since this ceremony began; start again."

    def __init__(self, reason: str, *, detail: str | None = None) -> None:
        super().__init__(detail or self.GENERIC, reason=reason)


class PayloadTooLargeError(TapgateError):
    status = 413
    title = "Payload too large"
    type_slug = "payload-too-large"


class ThrottledError(TapgateError):
    status = 429
    title = "Too many requests"
    type_slug = "throttled"

    def __init__(self, detail: str, *, retry_after: int = 1, reason: str | None = None) -> None:
        super().__init__(detail, reason=reason)
        self.retry_after = retry_after


class DependencyError(TapgateError):
    """An AWS dependency failed or throttled; the client may retry."""

    status = 503
    title = "Service unavailable"
    type_slug = "dependency-unavailable"

    def __init__(self, detail: str, *, retry_after: int = 2, reason: str | None = None) -> None:
        super().__init__(detail, reason=reason)
        self.retry_after = retry_after
