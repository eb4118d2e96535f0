"""Turn boto3/botocore failures into domain errors, in one place for all adapters."""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError

from tapgate_broker.core.errors import DependencyError

logger = logging.getLogger(__name__)

TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "TransactionConflictException",
        "TransactionInProgressException",
        "LimitExceededException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def dependency_error(exc: ClientError | BotoCoreError, *, service: str) -> DependencyError:
    """A 503 for the client. Transient failures are expected; anything else is logged loudly."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code not in TRANSIENT_CODES and not (isinstance(status, int) and status >= 500):
            logger.error("unexpected %s error %s", service, code, exc_info=exc)
        reason = f"{service}: {code or status}"
    else:
        reason = f"{service}: {type(exc).__name__}"
    return DependencyError(
        f"A dependency ({service}) is unavailable; retry shortly.", retry_after=2, reason=reason
    )
