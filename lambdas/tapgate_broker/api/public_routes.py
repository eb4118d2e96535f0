"""The unsigned routes: enrollment-token registration and discoverable passkeys.

API Gateway lets these through without IAM authorization, so nothing here trusts a
request identity: the enrollment routes are authenticated by the Bearer token, the
passkey routes by the WebAuthn assertion itself (user verification required).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response

from tapgate_broker.api import requests
from tapgate_broker.api.kit import (
    RouteKit,
    credential_summary,
    credentials_document,
    json_response,
)
from tapgate_broker.api.problems import NO_STORE
from tapgate_broker.core import code_exchange
from tapgate_broker.core.errors import TapgateError
from tapgate_contract import routes as v1
from tapgate_contract.limits import NICKNAME_FIELD_MAX_LENGTH


def add_public_routes(kit: RouteKit) -> None:
    app, get_broker, body, count = kit.app, kit.get_broker, kit.body, kit.count

    def bearer_token() -> str:
        return requests.bearer_token(kit.header("authorization"))

    @app.route(v1.ENROLLMENT_OPTIONS.resolver_path, v1.ENROLLMENT_OPTIONS.method)
    def enrollment_options() -> Response:
        token = bearer_token()
        payload = body(required=False)
        result = get_broker().enrollment_options(
            kit.anonymous(),
            token=token,
            nickname=requests.optional_string(
                payload, "nickname", max_length=NICKNAME_FIELD_MAX_LENGTH
            ),
        )
        return json_response(
            200,
            {
                "ceremonyId": result.ceremony_id,
                "publicKey": result.public_key,
                "userName": result.user_name,
            },
        )

    @app.route(v1.ENROLLMENT_VERIFY.resolver_path, v1.ENROLLMENT_VERIFY.method)
    def enrollment_verify() -> Response:
        token = bearer_token()
        payload = body()
        try:
            stored = get_broker().enrollment_verify(
                kit.anonymous(),
                token=token,
                ceremony_id=requests.required_ceremony_id(payload),
                credential=requests.required_object(payload, "credential"),
                nickname=requests.optional_string(
                    payload, "nickname", max_length=NICKNAME_FIELD_MAX_LENGTH
                ),
            )
        except TapgateError:
            count("RegistrationFailed")
            raise
        count("RegistrationSucceeded")
        return json_response(201, {"credential": credential_summary(stored)})

    @app.route(v1.PASSKEY_OPTIONS.resolver_path, v1.PASSKEY_OPTIONS.method)
    def passkey_options() -> Response:
        return kit.authentication_options(kit.anonymous())

    @app.route(v1.PASSKEY_VERIFY.resolver_path, v1.PASSKEY_VERIFY.method)
    def passkey_verify() -> Response:
        payload = body()
        want_console = requests.optional_bool(payload, "console")
        result = kit.verify_authentication(kit.anonymous(), payload)
        answer: dict[str, Any] = credentials_document(result.credentials)
        if want_console:
            answer["consoleUrl"] = get_broker().console_url(result.credentials)
        return json_response(200, answer)

    @app.route(v1.PASSKEY_CREDENTIALS_LIST.resolver_path, v1.PASSKEY_CREDENTIALS_LIST.method)
    def passkey_list_credentials() -> Response:
        payload = body()
        listing = get_broker().passkey_credentials(
            kit.anonymous(),
            ceremony_id=requests.required_ceremony_id(payload),
            credential=requests.required_object(payload, "credential"),
        )
        return json_response(
            200,
            {
                "userName": listing.user_name,
                "credentials": [credential_summary(c) for c in listing.credentials],
            },
        )

    @app.route(v1.PASSKEY_CREDENTIAL_DELETE.resolver_path, v1.PASSKEY_CREDENTIAL_DELETE.method)
    def passkey_delete_credential(credential_id: str) -> Response:
        payload = body()
        get_broker().delete_credential(
            kit.anonymous(),
            credential_id=credential_id,
            ceremony_id=requests.required_ceremony_id(payload),
            credential=requests.required_object(payload, "credential"),
        )
        count("CredentialRevoked")
        return Response(status_code=204, headers=dict(NO_STORE), body="")

    @app.route(v1.PASSKEY_CODE.resolver_path, v1.PASSKEY_CODE.method)
    def passkey_code() -> Response:
        payload = body()
        request = code_exchange.code_request(
            challenge=payload.get("codeChallenge"),
            method=payload.get("codeChallengeMethod"),
            port=payload.get("redirectPort"),
        )
        try:
            issued = get_broker().browser_sign_in.issue_code(
                kit.anonymous(),
                ceremony_id=requests.required_ceremony_id(payload),
                credential=requests.required_object(payload, "credential"),
                role_arn=str(requests.role_arn(payload, required=True)),
                request=request,
            )
        except TapgateError:
            count("AuthenticationFailed")
            raise
        return json_response(
            200,
            {
                "code": issued.code,
                "redirectUri": issued.redirect_uri,
                "expiresIn": issued.expires_in,
            },
        )

    @app.route(v1.PASSKEY_TOKEN.resolver_path, v1.PASSKEY_TOKEN.method)
    def passkey_token() -> Response:
        payload = body()
        code = code_exchange.check_code(payload.get("code"))
        verifier = code_exchange.check_verifier(payload.get("codeVerifier"))
        port = code_exchange.check_port(payload.get("redirectPort"))
        duration = requests.optional_int(payload, "durationSeconds")
        try:
            issued, _ = get_broker().browser_sign_in.redeem(
                kit.anonymous(),
                code=code,
                verifier=verifier,
                port=port,
                duration_seconds=duration,
            )
        except TapgateError:
            count("AuthenticationFailed")
            raise
        count("AuthenticationSucceeded")
        return json_response(200, credentials_document(issued))
