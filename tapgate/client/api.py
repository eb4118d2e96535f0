"""Calls to the tapgate HTTP API v1, signed with SigV4 like API Gateway's AWS_IAM authorizer.

Signing uses botocore's ``SigV4Auth`` on an ``AWSRequest`` (service
``execute-api``); the base identity comes from botocore's standard credential
chain for the chosen profile. Transport is urllib: one request per call, no
retries (a ceremony must not be replayed behind the user's back).
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from tapgate.client.errors import (
    ApiError,
    ApiProblemError,
    ApiResponseError,
    ApiUnreachableError,
    BaseIdentityError,
    NotTapgateApiError,
)
from tapgate_contract import routes as v1

SERVICE = "execute-api"
MAX_RESPONSE_BYTES = 1024 * 1024
NESTING_GUARD = "TAPGATE_RESOLVING_BASE_IDENTITY"
_EXECUTE_API_HOST = re.compile(
    r"^[a-z0-9]+\.execute-api\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com(?:\.cn)?$"
)


def region_from_api_url(api_url: str) -> str | None:
    """The region in an ``{id}.execute-api.{region}.amazonaws.com`` URL, else None."""
    host = urllib.parse.urlsplit(api_url).hostname or ""
    match = _EXECUTE_API_HOST.match(host)
    return match.group("region") if match else None


def load_base_credentials(*, profile: str | None, region: str | None) -> tuple[Any, str | None]:
    """Frozen credentials of the base identity and the profile's region (botocore chain).

    A profile whose ``credential_process`` is tapgate itself would make the chain run
    tapgate again, forever; an environment marker stops that at the first nesting.
    """
    if os.environ.get(NESTING_GUARD):
        raise BaseIdentityError(
            "the base identity's profile runs tapgate itself; "
            "pass --profile with a profile that has ordinary AWS credentials"
        )
    import botocore.exceptions  # noqa: PLC0415
    import botocore.session  # noqa: PLC0415

    os.environ[NESTING_GUARD] = "1"
    try:
        session = botocore.session.Session(profile=profile)
        resolved = session.get_credentials()
        frozen = resolved.get_frozen_credentials() if resolved is not None else None
        session_region = region or session.get_config_variable("region")
    except botocore.exceptions.BotoCoreError as exc:
        raise BaseIdentityError(f"cannot load the base AWS credentials: {exc}") from exc
    finally:
        os.environ.pop(NESTING_GUARD, None)
    if frozen is None or not frozen.access_key:
        where = f"profile {profile!r}" if profile else "the default credential chain"
        raise BaseIdentityError(f"no AWS credentials found in {where} to sign requests with")
    return frozen, session_region


class TapgateApi:
    """The v1 routes. ``credentials`` are botocore credentials (access key, secret, token)."""

    def __init__(
        self,
        *,
        api_url: str,
        region: str,
        credentials: Any,
        timeout: float = 30,
        user_agent: str = "tapgate-cli",
        unreachable_message: str | None = None,
    ) -> None:
        """``unreachable_message``: what to say instead when nothing answers at all (local
        mode knows why: it is not running)."""
        scheme = urllib.parse.urlsplit(api_url).scheme
        if scheme not in ("https", "http"):
            raise ApiUnreachableError(f"the API URL must be http(s), not {api_url!r}")
        self.api_url = api_url.rstrip("/")
        self.region = region
        self._credentials = credentials
        self._timeout = timeout
        self._user_agent = user_agent
        self._unreachable_message = unreachable_message
        self._is_tapgate: bool | None = None  # checked once, when an answer looks wrong

    # -- routes ------------------------------------------------------------------

    def registration_options(self, *, nickname: str | None, further_key: bool) -> dict[str, Any]:
        """Creation options: on the step-up route for a further key (the step-up touch is the
        proof), on the first-key route (the API admits only MFA sessions) otherwise."""
        route = v1.REGISTRATION_STEP_UP_OPTIONS if further_key else v1.REGISTRATION_OPTIONS
        body = {"nickname": nickname} if nickname else {}
        return self.call(route.method, route.url_path, body)

    def registration_verify(
        self,
        *,
        ceremony_id: str,
        credential: Mapping[str, Any],
        nickname: str | None,
        step_up: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """Finishes on the route family that began the ceremony: step-up when ``step_up``."""
        body: dict[str, Any] = {"ceremonyId": ceremony_id, "credential": dict(credential)}
        if nickname:
            body["nickname"] = nickname
        route = v1.REGISTRATION_VERIFY
        if step_up is not None:
            body["stepUp"] = dict(step_up)
            route = v1.REGISTRATION_STEP_UP_VERIFY
        return self.call(route.method, route.url_path, body)

    def authentication_options(
        self, *, role_arn: str | None, purpose: str = "sign-in"
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"purpose": purpose}
        if role_arn is not None:
            body["roleArn"] = role_arn
        return self.call(v1.AUTHENTICATION_OPTIONS.method, v1.AUTHENTICATION_OPTIONS.url_path, body)

    def authentication_verify(
        self,
        *,
        ceremony_id: str,
        credential: Mapping[str, Any],
        role_arn: str,
        duration_seconds: int | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ceremonyId": ceremony_id,
            "credential": dict(credential),
            "roleArn": role_arn,
        }
        if duration_seconds is not None:
            body["durationSeconds"] = duration_seconds
        return self.call(v1.AUTHENTICATION_VERIFY.method, v1.AUTHENTICATION_VERIFY.url_path, body)

    def list_credentials(self) -> list[dict[str, Any]]:
        answer = self.call(v1.CREDENTIALS.method, v1.CREDENTIALS.url_path)
        items = answer.get("credentials")
        if not isinstance(items, list):
            raise ApiResponseError("the API's credential list has no 'credentials' array")
        return [item for item in items if isinstance(item, dict)]

    def delete_credential(
        self, credential_id: str, *, ceremony_id: str, credential: Mapping[str, Any]
    ) -> None:
        path = v1.CREDENTIAL_DELETE.url(credentialId=credential_id)
        body = {"ceremonyId": ceremony_id, "credential": dict(credential)}
        self.call(v1.CREDENTIAL_DELETE.method, path, body)

    def create_enrollment(self, *, user_name: str | None) -> dict[str, Any]:
        """A one-time enrollment link (``{"token", "url", "expiresAt", "userName"}``)."""
        answer = self.call(
            v1.ENROLLMENTS.method,
            v1.ENROLLMENTS.url_path,
            {"userName": user_name} if user_name else {},
        )
        if not all(isinstance(answer.get(k), str) for k in ("url", "expiresAt", "userName")):
            raise ApiResponseError("the API's enrollment answer lacks url, expiresAt or userName")
        return answer

    # -- admin routes (the broker answers 403 to anyone not in its admins list) ----------

    def admin_options(self) -> dict[str, Any]:
        """Request options for the admin's own keys: the approval of one admin action."""
        return self.call(v1.ADMIN_OPTIONS.method, v1.ADMIN_OPTIONS.url_path, {})

    def admin_list_credentials(self, user_name: str) -> list[dict[str, Any]]:
        route = v1.ADMIN_USER_CREDENTIALS
        items = self.call(route.method, route.url(userName=user_name)).get("credentials")
        if not isinstance(items, list):
            raise ApiResponseError("the API's credential list has no 'credentials' array")
        return [item for item in items if isinstance(item, dict)]

    def admin_revoke(
        self,
        user_name: str,
        credential_id: str | None,
        *,
        ceremony_id: str,
        credential: Mapping[str, Any],
        reason: str,
    ) -> list[str]:
        """Revoke one key, or all keys (``credential_id=None``); the ids revoked."""
        if credential_id is None:
            route = v1.ADMIN_USER_CREDENTIALS_REVOKE
            path = route.url(userName=user_name)
        else:
            route = v1.ADMIN_USER_CREDENTIAL_REVOKE
            path = route.url(userName=user_name, credentialId=credential_id)
        body = {"ceremonyId": ceremony_id, "credential": dict(credential), "reason": reason}
        revoked = self.call(route.method, path, body).get("revoked")
        if not isinstance(revoked, list):
            raise ApiResponseError("the API's revocation answer has no 'revoked' array")
        return [str(item) for item in revoked]

    def admin_report(self, *, unused_days: int) -> dict[str, Any]:
        query = urllib.parse.urlencode({"unusedDays": unused_days})
        return self.call(v1.ADMIN_REPORT.method, f"{v1.ADMIN_REPORT.url_path}?{query}")

    def roles(self) -> list[dict[str, Any]]:
        items = self.call(v1.ROLES.method, v1.ROLES.url_path).get("roles")
        if not isinstance(items, list):
            raise ApiResponseError("the API's role list has no 'roles' array")
        return [item for item in items if isinstance(item, dict)]

    def events(self, query: Mapping[str, str]) -> dict[str, Any]:
        """One page of the audit trail (``{"events": [...], "next"?: token}``)."""
        path = v1.ADMIN_EVENTS.url_path
        if query:
            path += "?" + urllib.parse.urlencode(sorted(query.items()))
        answer = self.call(v1.ADMIN_EVENTS.method, path)
        if not isinstance(answer.get("events"), list):
            raise ApiResponseError("the API's event list has no 'events' array")
        return answer

    def exchange_code(
        self, *, code: str, verifier: str, port: int, duration_seconds: int | None
    ) -> dict[str, Any]:
        """Browser sign-in: a code and its PKCE verifier for the role's credentials. Unsigned:
        the verifier is the proof (tapgate.browser_sign_in)."""
        body: dict[str, Any] = {"code": code, "codeVerifier": verifier, "redirectPort": port}
        if duration_seconds is not None:
            body["durationSeconds"] = duration_seconds
        data = json.dumps(body).encode()
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": self._user_agent,
        }
        try:
            return self._send(
                v1.PASSKEY_TOKEN.method, self.api_url + v1.PASSKEY_TOKEN.url_path, headers, data
            )
        except ApiProblemError as exc:
            if exc.status in (403, 404, 405):
                self.check_is_tapgate()
            raise
        except ApiResponseError:
            self.check_is_tapgate()
            raise

    # -- transport ---------------------------------------------------------------

    def call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A signed request; the JSON object answered (empty for 204)."""
        from botocore.auth import SigV4Auth  # noqa: PLC0415
        from botocore.awsrequest import AWSRequest  # noqa: PLC0415

        url = self.api_url + path
        data = json.dumps(dict(body)).encode() if body is not None else b""
        headers = {"Accept": "application/json", "User-Agent": self._user_agent}
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = AWSRequest(method=method, url=url, data=data, headers=headers)
        SigV4Auth(self._credentials, SERVICE, self.region).add_auth(request)
        try:
            return self._send(method, url, dict(request.headers.items()), data)
        except ApiProblemError as exc:
            if exc.status in (403, 404, 405):  # also what any other site says to a stranger
                self.check_is_tapgate()
            raise
        except ApiResponseError:
            self.check_is_tapgate()
            raise

    def check_is_tapgate(self) -> None:
        """NotTapgateApiError unless ``GET /v1/config`` (unsigned) answers tapgate's shape,
        ``{"rpId": "...", "roles": [...]}``: a wrong ``--api-url`` named as such, rather
        than as a refusal it never made."""
        if self._is_tapgate is None:
            try:
                config = self._send(
                    "GET", self.api_url + v1.CONFIG.url_path, {"Accept": "application/json"}, b""
                )
            except ApiError:
                config = {}
            self._is_tapgate = isinstance(config.get("rpId"), str) and isinstance(
                config.get("roles"), list
            )
        if not self._is_tapgate:
            raise NotTapgateApiError(
                f"{self.api_url} does not answer like a tapgate API (GET /v1/config); check "
                "--api-url: the API's base URL, such as https://ID.execute-api.REGION.amazonaws.com"
            )

    def _send(
        self, method: str, url: str, headers: Mapping[str, str], data: bytes
    ) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310  (scheme checked in __init__)
            url, data=data or None, headers=dict(headers), method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                status = response.status
                raw = response.read(MAX_RESPONSE_BYTES)
        except urllib.error.HTTPError as exc:
            raise _problem(exc) from exc
        except ValueError as exc:  # http.client.InvalidURL and urllib's own URL errors
            raise ApiUnreachableError(f"not a usable API URL {url!r}: {exc}") from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if self._unreachable_message and isinstance(reason, ConnectionRefusedError):
                raise ApiUnreachableError(self._unreachable_message) from exc
            raise ApiUnreachableError(f"cannot reach the tapgate API at {url}: {reason}") from exc
        if status == 204 or not raw.strip():
            return {}
        try:
            answer = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiResponseError(f"the tapgate API answered {status} without JSON") from exc
        if not isinstance(answer, dict):
            raise ApiResponseError(f"the tapgate API answered {status} with JSON that is no object")
        return answer


def _problem(error: urllib.error.HTTPError) -> ApiProblemError:
    try:
        document = json.loads(error.read(MAX_RESPONSE_BYTES) or b"null")
    except (ValueError, UnicodeDecodeError, OSError):
        document = None
    if not isinstance(document, dict):
        document = {}
    title = document.get("title")
    detail = document.get("detail")
    return ApiProblemError(
        status=error.code,
        title=_one_line(title) if isinstance(title, str) else (error.reason or "error"),
        detail=_one_line(detail) if isinstance(detail, str) else "",
    )


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
