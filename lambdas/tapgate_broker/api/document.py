"""``GET /v1/openapi.json``: HTTP API v1's OpenAPI document (``tapgate_contract.openapi``).

The document is built on the first request for it and kept for the life of the execution
environment: no other route's cold path imports or builds it.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from aws_lambda_powertools.event_handler import Response

from tapgate_contract import routes as v1


def add_document_route(app: Any) -> None:
    """Register the document's route on a Powertools resolver."""

    @app.route(v1.OPENAPI_DOCUMENT.resolver_path, v1.OPENAPI_DOCUMENT.method)
    def openapi_document() -> Response:
        return Response(
            status_code=200,
            content_type="application/json",
            body=_document_json(),
            headers={"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"},
        )


@functools.cache
def _document_json() -> str:
    from tapgate_contract.openapi import document  # noqa: PLC0415  (see the module docstring)

    return json.dumps(document(), separators=(",", ":"))
