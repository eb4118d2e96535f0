"""The one place that maps errors to RFC 9457 problem documents."""

from __future__ import annotations

import json

from aws_lambda_powertools.event_handler import Response

from tapgate_broker.core.errors import DependencyError, TapgateError, ThrottledError
from tapgate_contract.problems import PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE

NO_STORE = {"Cache-Control": "no-store"}


def problem_response(error: TapgateError) -> Response:
    headers = dict(NO_STORE)
    if isinstance(error, DependencyError | ThrottledError):
        headers["Retry-After"] = str(error.retry_after)
    return problem(
        status=error.status,
        title=error.title,
        detail=error.detail,
        slug=error.type_slug,
        headers=headers,
    )


def problem(
    *, status: int, title: str, detail: str, slug: str, headers: dict[str, str] | None = None
) -> Response:
    body = {
        "type": PROBLEM_TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    return Response(
        status_code=status,
        content_type=PROBLEM_CONTENT_TYPE,
        body=json.dumps(body),
        headers={**NO_STORE, **(headers or {})},
    )


def internal_error() -> Response:
    return problem(
        status=500,
        title="Internal error",
        detail="Something went wrong on our side; it has been logged.",
        slug="internal",
    )
