"""Local mode's AWS_IAM check: requests signed by botocore itself pass; each change fails."""

from __future__ import annotations

import calendar
import hashlib
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tapgate.local.sigv4 import (
    InvalidSignatureError,
    MissingSignatureError,
    SecretRecord,
    SigV4Identity,
    verify_request,
)

REGION = "us-east-1"
HOST = "localhost:8080"
USER_KEY = "AKIAEXAMPLEUSER00001"
USER_SECRET = "user-secret-" + "x" * 28
USER_ARN = "arn:aws:iam::123456789012:user/tapgate-demo"
TEMP_KEY = "ASIAEXAMPLETEMP00001"
TEMP_SECRET = "temp-secret-" + "y" * 28
TEMP_TOKEN = "session-token-" + "z" * 40
TEMP_ARN = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Dev/carol@example.com"

KEYS = {
    USER_KEY: SecretRecord(USER_SECRET, USER_ARN, None),
    TEMP_KEY: SecretRecord(TEMP_SECRET, TEMP_ARN, TEMP_TOKEN),
}


@dataclass
class Signed:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    signed_at: float

    def header(self, name: str) -> str:
        return next(v for k, v in self.headers if k.lower() == name.lower())

    def replace_header(self, name: str, value: str) -> Signed:
        headers = [(k, value if k.lower() == name.lower() else v) for k, v in self.headers]
        return Signed(self.method, self.target, headers, self.body, self.signed_at)

    def without_header(self, name: str) -> Signed:
        headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]
        return Signed(self.method, self.target, headers, self.body, self.signed_at)


def sign(
    method: str = "POST",
    path: str = "/v1/authentication/options?b=2&a=1",
    body: bytes = b'{"roleArn": "arn:aws:iam::123456789012:role/tapgate-demo-admin"}',
    *,
    key: str = USER_KEY,
    secret: str = USER_SECRET,
    token: str | None = None,
    service: str = "execute-api",
    region: str = REGION,
    headers: dict[str, str] | None = None,
) -> Signed:
    request = AWSRequest(
        method=method,
        url=f"http://{HOST}{path}",
        data=body,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    SigV4Auth(Credentials(key, secret, token), service, region).add_auth(request)
    sent = list(request.headers.items())
    if not any(k.lower() == "host" for k, _ in sent):
        sent.append(("Host", HOST))  # what the HTTP client adds on the wire
    parts = urlsplit(request.url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    amz_date = request.headers["X-Amz-Date"]
    signed_at = float(calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ")))
    return Signed(method, target, sent, body, signed_at)


def verify(signed: Signed, *, now: float | None = None, region: str | None = None) -> SigV4Identity:
    at = signed.signed_at if now is None else now
    return verify_request(
        method=signed.method,
        target=signed.target,
        headers=signed.headers,
        body=signed.body,
        secret_lookup=KEYS.get,
        clock=lambda: at,
        region=region,
    )


def test_a_botocore_signed_request_authenticates_the_iam_user():
    identity = verify(sign(), region=REGION)
    assert identity == SigV4Identity(
        access_key_id=USER_KEY,
        principal_arn=USER_ARN,
        user_name="tapgate-demo",
        account_id="123456789012",
    )


def test_a_get_without_body_authenticates():
    assert verify(sign("GET", "/v1/credentials", b"")).principal_arn == USER_ARN


def test_a_path_with_url_safe_id_and_a_delete_authenticates():
    signed = sign("DELETE", "/v1/credentials/AbC-_123", b'{"ceremonyId": "c"}')
    assert verify(signed).user_name == "tapgate-demo"


def test_temporary_credentials_with_their_session_token_authenticate():
    identity = verify(sign(key=TEMP_KEY, secret=TEMP_SECRET, token=TEMP_TOKEN))
    assert identity.principal_arn == TEMP_ARN
    assert identity.user_name == "carol@example.com"


def test_unsigned_headers_added_after_signing_do_not_matter():
    signed = sign()
    signed.headers.append(("User-Agent", "curl/8"))
    signed.headers.append(("X-Forwarded-For", "192.0.2.1"))
    assert verify(signed).access_key_id == USER_KEY


def test_a_declared_body_hash_that_matches_is_accepted():
    body = b'{"a": 1}'
    signed = sign(body=body, headers={"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()})
    assert verify(signed).access_key_id == USER_KEY


def test_skew_just_inside_five_minutes_is_accepted():
    signed = sign()
    assert verify(signed, now=signed.signed_at + 299).access_key_id == USER_KEY
    assert verify(signed, now=signed.signed_at - 299).access_key_id == USER_KEY


# --- each negative changes one thing -------------------------------------------------


def test_no_authorization_header_is_a_missing_token():
    with pytest.raises(MissingSignatureError):
        verify(sign().without_header("Authorization"))


def test_a_bearer_token_is_not_a_signature():
    with pytest.raises(MissingSignatureError):
        verify(sign().replace_header("Authorization", "Bearer abc"))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda a: a.replace("Credential=", "Credentials="),
        lambda a: a.replace("SignedHeaders=", "Headers="),
        lambda a: a[:-1],  # signature one hex digit short
        lambda a: a.replace("/aws4_request", "/aws4_requests"),
        lambda a: a.replace("/us-east-1/", "/us east 1/"),
        lambda a: a.replace(", Signature=", ", Signature=, "),
    ],
)
def test_a_malformed_authorization_header_is_refused(mangle):
    signed = sign()
    with pytest.raises(InvalidSignatureError):
        verify(signed.replace_header("Authorization", mangle(signed.header("Authorization"))))


def test_an_unknown_access_key_is_refused():
    signed = sign(key="AKIAUNKNOWN000000000")
    with pytest.raises(InvalidSignatureError, match="unknown access key"):
        verify(signed)


@pytest.mark.parametrize("offset", [301, -301, 3600])
def test_a_date_more_than_five_minutes_away_is_refused(offset):
    signed = sign()
    with pytest.raises(InvalidSignatureError, match="X-Amz-Date"):
        verify(signed, now=signed.signed_at + offset)


def test_a_wrong_secret_is_refused():
    with pytest.raises(InvalidSignatureError, match="signature does not match"):
        verify(sign(secret="not-the-secret" + "q" * 26))


def test_a_changed_body_is_refused():
    signed = sign()
    signed.body = signed.body.replace(b"admin", b"other")
    with pytest.raises(InvalidSignatureError, match="signature does not match"):
        verify(signed)


def test_a_body_that_differs_from_the_declared_hash_is_refused():
    body = b'{"a": 1}'
    signed = sign(body=body, headers={"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()})
    signed.body = b'{"a": 2}'
    with pytest.raises(InvalidSignatureError, match="does not match the body"):
        verify(signed)


def test_a_changed_path_is_refused():
    signed = sign()
    signed.target = signed.target.replace("authentication", "registration")
    with pytest.raises(InvalidSignatureError, match="signature does not match"):
        verify(signed)


def test_a_changed_query_is_refused():
    signed = sign()
    signed.target = signed.target.replace("a=1", "a=3")
    with pytest.raises(InvalidSignatureError, match="signature does not match"):
        verify(signed)


def test_a_changed_method_is_refused():
    signed = sign()
    signed.method = "PUT"
    with pytest.raises(InvalidSignatureError, match="signature does not match"):
        verify(signed)


def test_a_changed_signed_header_is_refused():
    with pytest.raises(InvalidSignatureError, match="signature does not match"):
        verify(sign().replace_header("Content-Type", "text/plain"))


def test_a_changed_host_is_refused():
    with pytest.raises(InvalidSignatureError, match="signature does not match"):
        verify(sign().replace_header("Host", "localhost:9090"))


def test_a_signed_header_missing_from_the_request_is_refused():
    with pytest.raises(InvalidSignatureError, match="content-type"):
        verify(sign().without_header("Content-Type"))


def test_a_signature_for_another_service_is_refused():
    with pytest.raises(InvalidSignatureError, match="service"):
        verify(sign(service="sts"))


def test_a_signature_for_another_region_is_refused_when_the_region_is_fixed():
    with pytest.raises(InvalidSignatureError, match="region"):
        verify(sign(region="eu-west-1"), region=REGION)


def test_temporary_credentials_without_their_token_are_refused():
    signed = sign(key=TEMP_KEY, secret=TEMP_SECRET, token=TEMP_TOKEN)
    with pytest.raises(InvalidSignatureError, match=r"(?i)security-token"):
        verify(signed.without_header("X-Amz-Security-Token"))


def test_temporary_credentials_with_another_token_are_refused():
    signed = sign(key=TEMP_KEY, secret=TEMP_SECRET, token=TEMP_TOKEN)
    with pytest.raises(InvalidSignatureError, match=r"(?i)security-token"):
        verify(signed.replace_header("X-Amz-Security-Token", TEMP_TOKEN + "x"))


def test_a_session_token_with_a_long_term_key_is_refused():
    with pytest.raises(InvalidSignatureError, match=r"(?i)security-token"):
        verify(sign(token="made-up"))


def test_signed_headers_without_the_date_are_refused():
    signed = sign()
    authorization = signed.header("Authorization").replace(";x-amz-date", "")
    with pytest.raises(InvalidSignatureError, match="x-amz-date"):
        verify(signed.replace_header("Authorization", authorization))
