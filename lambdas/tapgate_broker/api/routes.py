"""HTTP API v1 routes on Powertools' resolver. Thin: parse, call the Broker, shape JSON."""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFound
from aws_lambda_powertools.metrics import Metrics, MetricUnit
from fido2.utils import websafe_encode

from tapgate_broker.api import requests
from tapgate_broker.api.identity import caller_from_event
from tapgate_broker.api.problems import NO_STORE, internal_error, problem, problem_response
from tapgate_broker.core.errors import BadRequestError, ForbiddenError, TapgateError
from tapgate_broker.core.models import Caller, StoredCredential
from tapgate_broker.core.service import Broker

logger = logging.getLogger(__name__)


def build_app(get_broker: Callable[[], Broker], *, metrics: Metrics | None = None) -> Any:
    """The resolver with every v1 route. ``get_broker`` is called lazily per request."""
    app = APIGatewayRestResolver(strip_prefixes=["/v1"])

    def caller() -> Caller:
        return caller_from_event(app.current_event.raw_event)

    def signed_caller() -> Caller:
        who = caller()
        if who.user_name is None:
            raise requests_forbidden()
        return who

    def body(*, required: bool = True) -> dict[str, Any]:
        event = app.current_event
        raw: str | bytes | None = event.body
        if event.is_base64_encoded:
            # Not Powertools' decoded_body: it assumes valid base64 holding UTF-8.
            try:
                raw = base64.b64decode(event.body or "", validate=True)
            except binascii.Error as exc:
                raise BadRequestError("request body is not valid base64") from exc
        return requests.parse_json_body(
            raw, content_type=event.headers.get("content-type"), required=required
        )

    def count(name: str) -> None:
        if metrics is not None:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)

    @app.post("/registration/options")
    def registration_options() -> Response:
        who = signed_caller()
        payload = body(required=False)
        result = get_broker().registration_options(
            who, nickname=requests.optional_string(payload, "nickname", max_length=256)
        )
        answer: dict[str, Any] = {"ceremonyId": result.ceremony_id, "publicKey": result.public_key}
        if result.step_up is not None:
            answer["stepUp"] = result.step_up
        return _json(200, answer)

    @app.post("/registration/verify")
    def registration_verify() -> Response:
        who = signed_caller()
        payload = body()
        try:
            stored = get_broker().registration_verify(
                who,
                ceremony_id=requests.required_ceremony_id(payload),
                credential=requests.required_object(payload, "credential"),
                nickname=requests.optional_string(payload, "nickname", max_length=256),
                step_up=requests.optional_object(payload, "stepUp"),
            )
        except TapgateError:
            count("RegistrationFailed")
            raise
        count("RegistrationSucceeded")
        return _json(201, {"credential": credential_summary(stored)})

    @app.post("/authentication/options")
    def authentication_options() -> Response:
        who = caller()
        if who.user_name is None:
            raise requests_forbidden()  # passkey sign-in arrives with the web issue
        payload = body(required=False)
        purpose = requests.optional_string(payload, "purpose", max_length=16) or "sign-in"
        result = get_broker().authentication_options(
            who, role_arn=requests.role_arn(payload, required=False), purpose=purpose
        )
        return _json(200, {"ceremonyId": result.ceremony_id, "publicKey": result.public_key})

    @app.post("/authentication/verify")
    def authentication_verify() -> Response:
        who = caller()
        if who.user_name is None:
            raise requests_forbidden()
        payload = body()
        try:
            result = get_broker().authentication_verify(
                who,
                ceremony_id=requests.required_ceremony_id(payload),
                credential=requests.required_object(payload, "credential"),
                role_arn=str(requests.role_arn(payload, required=True)),
                duration_seconds=requests.optional_int(payload, "durationSeconds"),
            )
        except TapgateError:
            count("AuthenticationFailed")
            raise
        count("AuthenticationSucceeded")
        issued = result.credentials
        return _json(
            200,
            {
                "Version": 1,
                "AccessKeyId": issued.access_key_id,
                "SecretAccessKey": issued.secret_access_key,
                "SessionToken": issued.session_token,
                "Expiration": issued.expiration,
                "RoleArn": issued.role_arn,
                "SourceIdentity": issued.source_identity,
            },
        )

    @app.get("/credentials")
    def list_credentials() -> Response:
        who = signed_caller()
        stored = get_broker().list_credentials(who)
        return _json(200, {"credentials": [credential_summary(c) for c in stored]})

    @app.delete("/credentials/<credential_id>")
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

    @app.get("/roles")
    def roles() -> Response:
        signed_caller()
        return _json(
            200,
            {
                "roles": [
                    {
                        "arn": r.arn,
                        "maxSessionSeconds": r.max_session_seconds,
                        "userVerification": r.user_verification.value,
                    }
                    for r in get_broker().roles
                ]
            },
        )

    @app.get("/config")
    def config() -> Response:
        broker = get_broker()
        return _json(
            200,
            {"rpId": broker.rp_id, "roles": [{"arn": r.arn, "name": r.name} for r in broker.roles]},
        )

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

    return app


def credential_summary(c: StoredCredential) -> dict[str, Any]:
    return {
        "credentialId": websafe_encode(c.credential_id),
        "nickname": c.nickname,
        "aaguid": c.aaguid,
        "createdAt": c.created_at,
        "lastUsedAt": c.last_used_at,
        "signCount": c.sign_count,
        "transports": list(c.transports),
        "backupEligible": c.backup_eligible,
    }


def requests_forbidden() -> TapgateError:
    return ForbiddenError("This route needs a signed (SigV4) request.")


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(
        status_code=status, content_type="application/json", body=body, headers=dict(NO_STORE)
    )
