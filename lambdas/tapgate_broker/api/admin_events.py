"""``GET /v1/admin/events``: the audit trail, page by page (the use case: ``core/events``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import Response

from tapgate_broker.api.kit import RouteKit, json_response
from tapgate_broker.core.errors import BadRequestError
from tapgate_contract import routes as v1

if TYPE_CHECKING:
    from tapgate_broker.core.models import AuditEvent


def add_event_routes(kit: RouteKit) -> None:
    app = kit.app

    @app.route(v1.ADMIN_EVENTS.resolver_path, v1.ADMIN_EVENTS.method)
    def admin_events() -> Response:
        who = kit.signed_caller()
        page = kit.get_broker().events(who, query_parameters(app.current_event.raw_event))
        answer: dict[str, Any] = {"events": [event_document(e) for e in page.events]}
        if page.next_token is not None:
            answer["next"] = page.next_token
        return json_response(200, answer)


def query_parameters(raw_event: dict[str, Any]) -> dict[str, str]:
    """Each parameter once: a repeated one is ambiguous, so refused."""
    multi = raw_event.get("multiValueQueryStringParameters") or {}
    single = raw_event.get("queryStringParameters") or {}
    for name, values in multi.items():
        if isinstance(values, list) and len(values) > 1:
            raise BadRequestError(f"query parameter {str(name)[:32]!r} given more than once")
    return {str(k): str(v) for k, v in single.items() if v is not None}


def event_document(event: AuditEvent) -> dict[str, Any]:
    """One event in the contract's field names (tapgate_contract.audit_events.FIELDS)."""
    return {
        "at": event.at,
        "user": event.user,
        "kind": event.kind,
        "outcome": event.outcome,
        "reason": event.reason,
        "roleArn": event.role_arn,
        "sessionSeconds": event.session_seconds,
        "credentialId": event.credential_id,
        "nickname": event.nickname,
        "callerArn": event.caller_arn,
        "sourceIp": event.source_ip,
        "userAgent": event.user_agent,
        "details": dict(event.details),
    }
