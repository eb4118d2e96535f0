"""Check an incoming SigV4-signed request the way API Gateway's AWS_IAM authorizer does.

The signature is recomputed with botocore's own ``SigV4Auth`` over a request rebuilt
from exactly the headers the caller listed in ``SignedHeaders``, so the canonical
form is the one every AWS SDK produces. The secret behind an access key id comes
from an injected ``secret_lookup`` (local mode reads moto's IAM and STS backends),
and the clock is injected so skew checks are testable.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

SERVICE = "execute-api"
ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW_SECONDS = 300

_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+"
    r"Credential=(?P<credential>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<signed_headers>[^,\s]+)\s*,\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})\s*$"
)
_SCOPE_DATE = re.compile(r"^\d{8}$")
_REGION = re.compile(r"^[a-z0-9-]{1,32}$")
_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:(?:iam|sts)::(?P<account>\d{12}):")


class SecretRecord(NamedTuple):
    """What ``secret_lookup`` knows about an access key id."""

    secret_access_key: str
    principal_arn: str
    session_token: str | None = None
    # what API Gateway reports as identity.caller: AIDA… (IAM user), AROA…:SESSION (role)
    principal_id: str | None = None


SecretLookup = Callable[[str], "SecretRecord | None"]
Clock = Callable[[], float]


class SigV4Error(Exception):
    """The request is not authenticated. ``reason`` is for logs; API Gateway says less."""

    title = "Forbidden"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MissingSignatureError(SigV4Error):
    """No SigV4 Authorization header at all (API Gateway: "Missing Authentication Token")."""

    title = "Missing Authentication Token"


class InvalidSignatureError(SigV4Error):
    """A signature is present but malformed, stale, unknown or wrong."""

    title = "Invalid signature"


@dataclass(frozen=True)
class SigV4Identity:
    """The authenticated caller, in the terms of API Gateway's ``requestContext.identity``."""

    access_key_id: str
    principal_arn: str
    user_name: str
    account_id: str | None
    principal_id: str | None = None  # identity.caller and identity.user


class _SignedHeadersAuth(SigV4Auth):
    """SigV4Auth that canonicalizes exactly the headers the caller chose to sign."""

    def __init__(
        self, credentials: Credentials, region_name: str, signed: list[tuple[str, str]]
    ) -> None:
        super().__init__(credentials, SERVICE, region_name)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        headers = HTTPHeaders()
        for name, value in self._signed:
            headers[name] = value
        return headers


def verify_request(
    *,
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    secret_lookup: SecretLookup,
    clock: Clock = time.time,
    region: str | None = None,
    max_skew_seconds: int = MAX_SKEW_SECONDS,
) -> SigV4Identity:
    """Authenticate one request or raise a ``SigV4Error`` saying why not.

    ``target`` is the raw request target (path and query as sent on the request
    line); ``headers`` are all received headers, repeated names kept. ``region``,
    when given, must be the region in the credential scope.
    """
    received: dict[str, list[str]] = {}
    for name, value in headers:
        received.setdefault(name.lower(), []).append(value)

    authorization = received.get("authorization")
    if not authorization:
        raise MissingSignatureError("no Authorization header")
    if len(authorization) != 1:
        raise InvalidSignatureError("more than one Authorization header")
    if not authorization[0].startswith(ALGORITHM):
        raise MissingSignatureError("Authorization header is not AWS4-HMAC-SHA256")
    match = _AUTHORIZATION.match(authorization[0].strip())
    if match is None:
        raise InvalidSignatureError("malformed Authorization header")

    access_key_id, scope_date, scope_region, scope_service = _split_credential(
        match.group("credential")
    )
    if scope_service != SERVICE:
        raise InvalidSignatureError(f"credential scope names service {scope_service!r}")
    if region is not None and scope_region != region:
        raise InvalidSignatureError(f"credential scope names region {scope_region!r}")

    signed_names = match.group("signed_headers").split(";")
    if signed_names != sorted(set(signed_names)) or any(n != n.lower() for n in signed_names):
        raise InvalidSignatureError("SignedHeaders must be lower-case, sorted and unique")
    for required in ("host", "x-amz-date"):
        if required not in signed_names:
            raise InvalidSignatureError(f"SignedHeaders must include {required}")
    signed: list[tuple[str, str]] = []
    for name in signed_names:
        values = received.get(name)
        if values is None:
            raise InvalidSignatureError(f"signed header {name} is missing from the request")
        signed.extend((name, value) for value in values)

    amz_date = received["x-amz-date"]
    if len(amz_date) != 1:
        raise InvalidSignatureError("more than one X-Amz-Date header")
    timestamp = amz_date[0].strip()
    signed_at = _parse_timestamp(timestamp)
    if timestamp[:8] != scope_date:
        raise InvalidSignatureError("credential scope date differs from X-Amz-Date")
    skew = abs(clock() - signed_at)
    if skew > max_skew_seconds:
        raise InvalidSignatureError(
            f"X-Amz-Date is {int(skew)} s away from now (at most {max_skew_seconds} s allowed)"
        )

    body_hash = hashlib.sha256(body).hexdigest()
    declared_hash = received.get("x-amz-content-sha256")
    if declared_hash is not None and not (
        len(declared_hash) == 1 and hmac.compare_digest(declared_hash[0].strip(), body_hash)
    ):
        raise InvalidSignatureError("X-Amz-Content-SHA256 does not match the body")

    record = secret_lookup(access_key_id)
    if record is None:
        raise InvalidSignatureError("unknown access key id")
    secret_access_key, principal_arn, session_token, principal_id = record
    presented_token = received.get("x-amz-security-token")
    if session_token is not None:
        if presented_token is None or len(presented_token) != 1:
            raise InvalidSignatureError("temporary credentials without X-Amz-Security-Token")
        if not hmac.compare_digest(presented_token[0].encode(), session_token.encode()):
            raise InvalidSignatureError("X-Amz-Security-Token does not match the access key")
    elif presented_token is not None:
        raise InvalidSignatureError("X-Amz-Security-Token sent with a long-term access key")

    expected = _signature(
        method=method,
        target=target,
        host=received["host"][0],
        body=body,
        signed=signed,
        timestamp=timestamp,
        region=scope_region,
        credentials=Credentials(access_key_id, secret_access_key, session_token),
    )
    if not hmac.compare_digest(expected.encode(), match.group("signature").encode()):
        raise InvalidSignatureError("signature does not match")
    return SigV4Identity(
        access_key_id=access_key_id,
        principal_arn=principal_arn,
        user_name=principal_arn.rsplit("/", 1)[-1],
        account_id=_account_of(principal_arn),
        principal_id=principal_id,
    )


def _split_credential(credential: str) -> tuple[str, str, str, str]:
    parts = credential.split("/")
    if len(parts) != 5 or not parts[0]:
        raise InvalidSignatureError("Credential must be KEY/DATE/REGION/SERVICE/aws4_request")
    access_key_id, date, region, service, terminator = parts
    if not _SCOPE_DATE.match(date) or not _REGION.match(region) or terminator != "aws4_request":
        raise InvalidSignatureError("malformed credential scope")
    return access_key_id, date, region, service


def _parse_timestamp(value: str) -> float:
    try:
        parsed = time.strptime(value, SIGV4_TIMESTAMP)
    except ValueError as exc:
        raise InvalidSignatureError("X-Amz-Date is not YYYYMMDDTHHMMSSZ") from exc
    return float(calendar.timegm(parsed))


def _signature(
    *,
    method: str,
    target: str,
    host: str,
    body: bytes,
    signed: list[tuple[str, str]],
    timestamp: str,
    region: str,
    credentials: Credentials,
) -> str:
    request = AWSRequest(method=method.upper(), url=f"http://{host}{target}", data=body)
    request.context["timestamp"] = timestamp
    auth = _SignedHeadersAuth(credentials, region, signed)
    canonical = auth.canonical_request(request)
    return str(auth.signature(auth.string_to_sign(request, canonical), request))


def _account_of(principal_arn: str) -> str | None:
    match = _ACCOUNT.match(principal_arn)
    return match.group("account") if match else None
