"""HTTP API v1 routes on Powertools' resolver. Thin: parse, call the Broker, shape JSON.

``build_app`` wires five groups: the SigV4 routes here, the admin routes (``admin_routes``,
``admin_events``), the unsigned enrollment-token and passkey routes (``public_routes``), the
web page (``pages``) and the OpenAPI document (``document``), then one error map.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFound
from aws_lambda_powertools.metrics import Metrics

from tapgate_broker.api import requests
from tapgate_broker.api.admin_events import add_event_routes
from tapgate_broker.api.admin_routes import add_admin_routes
from tapgate_broker.api.document import add_document_route
from tapgate_broker.api.kit import (
    RouteKit,
    credential_summary,
    credentials_document,
    iso_time,
    json_response,
    role_requirement,
)
from tapgate_broker.api.pages import add_page_routes
from tapgate_broker.api.problems import NO_STORE, internal_error, problem, problem_response
from tapgate_broker.api.public_routes import add_public_routes
from tapgate_broker.core.errors import TapgateError
from tapgate_contract import routes as v1
from tapgate_contract.limits import NICKNAME_FIELD_MAX_LENGTH

if TYPE_CHECKING:  # the Broker's module brings fido2: loaded with the Broker (handler.py)
    from tapgate_broker.core.models import Via
    from tapgate_broker.core.service import Broker

logger = logging.getLogger(__name__)


def build_app(get_broker: Callable[[], Broker], *, metrics: Metrics | None = None) -> Any:
    """The resolver with every v1 route. ``get_broker`` is called lazily per request."""
    app = APIGatewayRestResolver(strip_prefixes=[v1.STAGE_PREFIX])
    kit = RouteKit(app=app, get_broker=get_broker, metrics=metrics)
    add_signed_routes(kit)
    add_admin_routes(kit)
    add_public_routes(kit)
    add_event_routes(kit)
    add_page_routes(app)
    add_document_route(app)
    add_error_handlers(app)
    return app


def add_signed_routes(kit: RouteKit) -> None:
    """The SigV4 (AWS_IAM) routes: the caller's base identity comes from API Gateway."""
    app, get_broker = kit.app, kit.get_broker
    signed_caller, body, count = kit.signed_caller, kit.body, kit.count

    def begin_registration(via: Via) -> Response:
        who = signed_caller()
        payload = body(required=False)
        result = get_broker().registration_options(
            who,
            nickname=requests.optional_string(
                payload, "nickname", max_length=NICKNAME_FIELD_MAX_LENGTH
            ),
            via=via,
        )
        answer: dict[str, Any] = {"ceremonyId": result.ceremony_id, "publicKey": result.public_key}
        if result.step_up is not None:
            answer["stepUp"] = result.step_up
        return json_response(200, answer)

    def finish_registration(via: Via) -> Response:
        who = signed_caller()
        payload = body()
        try:
            stored = get_broker().registration_verify(
                who,
                ceremony_id=requests.required_ceremony_id(payload),
                credential=requests.required_object(payload, "credential"),
                nickname=requests.optional_string(
                    payload, "nickname", max_length=NICKNAME_FIELD_MAX_LENGTH
                ),
                step_up=requests.optional_object(payload, "stepUp"),
                via=via,
            )
        except TapgateError:
            count("RegistrationFailed")
            raise
        count("RegistrationSucceeded")
        return json_response(201, {"credential": credential_summary(stored)})

    # A first key, or any key: the API's resource policy admits only MFA sessions here.
    @app.route(v1.REGISTRATION_OPTIONS.resolver_path, v1.REGISTRATION_OPTIONS.method)
    def registration_options() -> Response:
        return begin_registration(_via("SIGV4"))

    @app.route(v1.REGISTRATION_VERIFY.resolver_path, v1.REGISTRATION_VERIFY.method)
    def registration_verify() -> Response:
        return finish_registration(_via("SIGV4"))

    # A further key: the step-up assertion is the proof, so no MFA session is needed.
    @app.route(
        v1.REGISTRATION_STEP_UP_OPTIONS.resolver_path, v1.REGISTRATION_STEP_UP_OPTIONS.method
    )
    def step_up_registration_options() -> Response:
        return begin_registration(_via("SIGV4_STEP_UP"))

    @app.route(v1.REGISTRATION_STEP_UP_VERIFY.resolver_path, v1.REGISTRATION_STEP_UP_VERIFY.method)
    def step_up_registration_verify() -> Response:
        return finish_registration(_via("SIGV4_STEP_UP"))

    @app.route(v1.AUTHENTICATION_OPTIONS.resolver_path, v1.AUTHENTICATION_OPTIONS.method)
    def authentication_options() -> Response:
        return kit.authentication_options(signed_caller())

    @app.route(v1.AUTHENTICATION_VERIFY.resolver_path, v1.AUTHENTICATION_VERIFY.method)
    def authentication_verify() -> Response:
        who = signed_caller()
        result = kit.verify_authentication(who, body())
        return json_response(200, credentials_document(result.credentials))

    @app.route(v1.CREDENTIALS.resolver_path, v1.CREDENTIALS.method)
    def list_credentials() -> Response:
        who = signed_caller()
        stored = get_broker().list_credentials(who)
        return json_response(200, {"credentials": [credential_summary(c) for c in stored]})

    @app.route(v1.CREDENTIAL_DELETE.resolver_path, v1.CREDENTIAL_DELETE.method)
    def delete_credential(credential_id: str) -> Response:
        who = signed_caller()
        payload = body()
        get_broker().delete_credential(
            who,
            credential_id=credential_id,
            ceremony_id=requests.required_ceremony_id(payload),
            credential=requests.required_object(payload, "credential"),
        )
        count("CredentialRevoked")
        return Response(status_code=204, headers=dict(NO_STORE), body="")

    @app.route(v1.ROLES.resolver_path, v1.ROLES.method)
    def roles() -> Response:
        signed_caller()
        return json_response(
            200,
            {
                "roles": [
                    {
                        "arn": r.arn,
                        "maxSessionSeconds": r.max_session_seconds,
                        "userVerification": r.user_verification.value,
                        **role_requirement(r),
                    }
                    for r in get_broker().roles
                ]
            },
        )

    @app.route(v1.ENROLLMENTS.resolver_path, v1.ENROLLMENTS.method)
    def create_enrollment() -> Response:
        who = signed_caller()
        payload = body(required=False)
        broker = get_broker()
        issued = broker.create_enrollment(
            who, user_name=requests.optional_string(payload, "userName", max_length=64)
        )
        count("EnrollmentIssued")
        return json_response(
            201,
            {
                "token": issued.token,
                "url": broker.enrollment_url(issued),
                "expiresAt": iso_time(issued.expires_at),
                "userName": issued.user_name,
            },
        )

    @app.route(v1.CONFIG.resolver_path, v1.CONFIG.method)
    def config() -> Response:
        broker = get_broker()
        return json_response(
            200,
            {
                "rpId": broker.rp_id,
                "roles": [
                    {"arn": r.arn, "name": r.name, **role_requirement(r)} for r in broker.roles
                ],
            },
        )


def _via(name: str) -> Via:
    """A route family (core.models.Via), imported with the first request (handler.py)."""
    from tapgate_broker.core.models import Via  # noqa: PLC0415

    return Via[name]


def add_error_handlers(app: Any) -> None:
    @app.exception_handler(TapgateError)
    def on_domain_error(error: TapgateError) -> Response:
        level = logging.WARNING if error.status in (401, 403, 503) else logging.INFO
        logger.log(
            level,
            "request refused",
            extra={"status": error.status, "error": type(error).__name__, "reason": error.reason},
        )
        return problem_response(error)

    @app.not_found
    def on_not_found(_: RouteNotFound) -> Response:
        return problem(status=404, title="Not found", detail="No such route.", slug="not-found")

    @app.exception_handler(Exception)
    def on_unexpected(error: Exception) -> Response:
        # A bug. Log it whole for us; the caller gets a generic problem, never a trace.
        logger.exception("unhandled error", exc_info=error)
        return internal_error()
