"""The admin routes (``/v1/admin/...``, SigV4): any user's keys, revocations, the inventory.

Thin like the other groups: the caller is checked as an admin first (403 before anything
else is read), then the body is parsed and ``core/admin`` does the work.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response

from tapgate_broker.api import requests
from tapgate_broker.api.kit import RouteKit, credential_summary, json_response
from tapgate_broker.core.errors import BadRequestError
from tapgate_contract import limits
from tapgate_contract import routes as v1


def add_admin_routes(kit: RouteKit) -> None:
    app, get_broker = kit.app, kit.get_broker

    def admin_caller() -> Any:
        who = kit.signed_caller()
        get_broker().admin.require_admin(who)
        return who

    @app.route(v1.ADMIN_OPTIONS.resolver_path, v1.ADMIN_OPTIONS.method)
    def admin_options() -> Response:
        who = admin_caller()
        kit.body(required=False)
        result = get_broker().admin.begin(who)
        return json_response(
            200, {"ceremonyId": result.ceremony_id, "publicKey": result.public_key}
        )

    @app.route(v1.ADMIN_USER_CREDENTIALS.resolver_path, v1.ADMIN_USER_CREDENTIALS.method)
    def admin_list_credentials(user_name: str) -> Response:
        who = admin_caller()
        stored = get_broker().admin.list_keys(who, user_name=user_name)
        return json_response(
            200, {"userName": user_name, "credentials": [credential_summary(c) for c in stored]}
        )

    def revoke(who: Any, user_name: str, credential_id: bytes | None) -> Response:
        payload = kit.body()
        revoked = get_broker().admin.revoke(
            who,
            user_name=user_name,
            credential_id=credential_id,
            reason=payload.get("reason"),
            ceremony_id=requests.required_ceremony_id(payload),
            credential=requests.required_object(payload, "credential"),
        )
        for _ in revoked:
            kit.count("CredentialRevoked")
        from fido2.utils import websafe_encode  # noqa: PLC0415  (loaded with the Broker)

        return json_response(
            200, {"userName": user_name, "revoked": [websafe_encode(c) for c in revoked]}
        )

    @app.route(
        v1.ADMIN_USER_CREDENTIALS_REVOKE.resolver_path, v1.ADMIN_USER_CREDENTIALS_REVOKE.method
    )
    def admin_revoke_all(user_name: str) -> Response:
        who = admin_caller()
        return revoke(who, user_name, None)

    @app.route(
        v1.ADMIN_USER_CREDENTIAL_REVOKE.resolver_path, v1.ADMIN_USER_CREDENTIAL_REVOKE.method
    )
    def admin_revoke_one(user_name: str, credential_id: str) -> Response:
        who = admin_caller()
        from tapgate_broker.core.credential_ids import decode_credential_id  # noqa: PLC0415

        return revoke(who, user_name, decode_credential_id(credential_id))

    @app.route(v1.ADMIN_REPORT.resolver_path, v1.ADMIN_REPORT.method)
    def admin_report() -> Response:
        who = admin_caller()
        from tapgate_broker.core.admin import report_document  # noqa: PLC0415

        query = app.current_event.query_string_parameters or {}
        report = get_broker().admin.report(who, unused_days=_unused_days(query.get("unusedDays")))
        return json_response(200, report_document(report))


def _unused_days(value: str | None) -> int:
    if value is None:
        return limits.REPORT_UNUSED_DAYS_DEFAULT
    if not value.isascii() or not value.isdigit() or len(value) > 5:
        raise BadRequestError(
            f"unusedDays must be a whole number of days, 1 to {limits.REPORT_UNUSED_DAYS_MAX}"
        )
    return int(value)
