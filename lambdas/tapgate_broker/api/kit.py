"""What every route group shares: request parsing, the caller, JSON answers, metrics."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.metrics import Metrics, MetricUnit

from tapgate_broker.api import requests
from tapgate_broker.api.identity import caller_from_event
from tapgate_broker.api.problems import NO_STORE
from tapgate_broker.core.errors import BadRequestError, ForbiddenError, TapgateError
from tapgate_broker.core.models import (
    Caller,
    IssuedCredentials,
    KeyAssurance,
    RoleConfig,
    StoredCredential,
)

if TYPE_CHECKING:  # the Broker's module brings fido2: loaded with the Broker (handler.py)
    from tapgate_broker.core.service import Broker


@dataclass(frozen=True)
class RouteKit:
    """What every route group needs: the resolver, the broker, request parsing, metrics."""

    app: Any
    get_broker: Callable[[], Broker]
    metrics: Metrics | None

    def caller(self) -> Caller:
        return caller_from_event(
            self.app.current_event.raw_event, identify=self.get_broker().identify
        )

    def anonymous(self) -> Caller:
        """The request facts without an identity: unsigned routes never trust one."""
        context = self.app.current_event.raw_event.get("requestContext") or {}
        identity = context.get("identity") or {}
        return Caller(
            user_name=None,
            arn=None,
            source_ip=str(identity.get("sourceIp") or ""),
            user_agent=str(identity.get("userAgent") or ""),
        )

    def signed_caller(self) -> Caller:
        who = self.caller()
        if who.user_name is None:
            raise requests_forbidden()
        return who

    def header(self, name: str) -> str | None:
        value = self.app.current_event.headers.get(name)
        return str(value) if value is not None else None

    def body(self, *, required: bool = True) -> dict[str, Any]:
        event = self.app.current_event
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

    def authentication_options(self, caller: Caller) -> Response:
        """Request options for a sign-in or manage ceremony (body ``{roleArn?, purpose?}``)."""
        payload = self.body(required=False)
        # Only an absent (or null) purpose means a sign-in: "" is refused like any other word.
        purpose = requests.optional_string(payload, "purpose", max_length=16)
        result = self.get_broker().authentication_options(
            caller,
            role_arn=requests.role_arn(payload, required=False),
            purpose="sign-in" if purpose is None else purpose,
        )
        return json_response(
            200, {"ceremonyId": result.ceremony_id, "publicKey": result.public_key}
        )

    def verify_authentication(self, caller: Caller, payload: dict[str, Any]) -> Any:
        """``authentication_verify`` for a sign-in body, counted as a metric either way."""
        try:
            result = self.get_broker().authentication_verify(
                caller,
                ceremony_id=requests.required_ceremony_id(payload),
                credential=requests.required_object(payload, "credential"),
                role_arn=str(requests.role_arn(payload, required=True)),
                duration_seconds=requests.optional_int(payload, "durationSeconds"),
            )
        except TapgateError:
            self.count("AuthenticationFailed")
            raise
        self.count("AuthenticationSucceeded")
        return result

    def count(self, name: str) -> None:
        if self.metrics is not None:
            self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def credential_summary(c: StoredCredential) -> dict[str, Any]:
    from fido2.utils import websafe_encode  # noqa: PLC0415  (loaded with the Broker)

    return {
        "credentialId": websafe_encode(c.credential_id),
        "nickname": c.nickname,
        "createdAt": c.created_at,
        "lastUsedAt": c.last_used_at,
        "signCount": c.sign_count,
        "transports": list(c.transports),
        "backupEligible": c.backup_eligible,
        **assurance_summary(c.key_assurance),
    }


def assurance_summary(a: KeyAssurance) -> dict[str, Any]:
    """A key's level, its model's name from the metadata and its AAGUID (attested only)."""
    return {
        "assurance": a.level,
        "assuranceReason": a.reason,
        "authenticator": a.authenticator or None,
        # What the client claims is not shown: only an attestation proves a model.
        "aaguid": a.aaguid or None,
    }


def role_requirement(r: RoleConfig) -> dict[str, Any]:
    """What a role requires of a key (GET /v1/roles, GET /v1/config)."""
    return {"assurance": r.assurance, "aaguids": list(r.aaguids)}


def requests_forbidden() -> TapgateError:
    return ForbiddenError("This route needs a signed (SigV4) request.")


def credentials_document(issued: IssuedCredentials) -> dict[str, Any]:
    """The credential_process JSON (plus RoleArn and SourceIdentity)."""
    return {
        "Version": 1,
        "AccessKeyId": issued.access_key_id,
        "SecretAccessKey": issued.secret_access_key,
        "SessionToken": issued.session_token,
        "Expiration": issued.expiration,
        "RoleArn": issued.role_arn,
        "SourceIdentity": issued.source_identity,
    }


def iso_time(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def json_response(status: int, body: dict[str, Any]) -> Response:
    return Response(
        status_code=status, content_type="application/json", body=body, headers=dict(NO_STORE)
    )
