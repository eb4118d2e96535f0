"""The console sign-in URL builder against the documented federation parameters."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tapgate import console

CREDENTIALS = {
    "AccessKeyId": "ASIAEXAMPLE",
    "SecretAccessKey": "secret/with+chars=",
    "SessionToken": "token&with=query?chars",
    "Expiration": "2030-01-01T00:00:00Z",
}


def query(url: str) -> dict[str, str]:
    parsed = parse_qs(urlsplit(url).query, strict_parsing=True)
    assert all(len(values) == 1 for values in parsed.values())
    return {name: values[0] for name, values in parsed.items()}


def test_get_signin_token_carries_the_session_json() -> None:
    url = console.signin_token_request_url(
        CREDENTIALS, endpoint="https://signin.aws.amazon.com/federation"
    )
    assert url.startswith("https://signin.aws.amazon.com/federation?")
    params = query(url)
    assert params["Action"] == "getSigninToken"
    assert json.loads(params["Session"]) == {
        "sessionId": "ASIAEXAMPLE",
        "sessionKey": "secret/with+chars=",
        "sessionToken": "token&with=query?chars",
    }
    assert "SessionDuration" not in params


def test_session_duration_is_passed_when_asked() -> None:
    url = console.signin_token_request_url(
        CREDENTIALS, endpoint="https://signin.aws.amazon.com/federation", session_duration=3600
    )
    assert query(url)["SessionDuration"] == "3600"


@pytest.mark.parametrize("seconds", [899, 43201])
def test_session_duration_out_of_range_is_refused(seconds: int) -> None:
    with pytest.raises(ValueError, match=r"900\.\.43200"):
        console.signin_token_request_url(
            CREDENTIALS, endpoint="https://x/federation", session_duration=seconds
        )


def test_login_url_has_issuer_destination_and_token() -> None:
    url = console.login_url(
        endpoint="https://signin.aws.amazon.com/federation",
        signin_token="TOKEN+/=",
        issuer="https://tapgate.example",
        destination="https://console.aws.amazon.com/s3/home",
    )
    assert url.startswith("https://signin.aws.amazon.com/federation?")
    assert query(url) == {
        "Action": "login",
        "Issuer": "https://tapgate.example",
        "Destination": "https://console.aws.amazon.com/s3/home",
        "SigninToken": "TOKEN+/=",
    }


@pytest.mark.parametrize(
    ("arn", "endpoint", "console_host"),
    [
        (
            "arn:aws:iam::123456789012:role/r",
            "https://signin.aws.amazon.com/federation",
            "console.aws.amazon.com",
        ),
        (
            "arn:aws-us-gov:iam::123456789012:role/r",
            "https://signin.amazonaws-us-gov.com/federation",
            "console.amazonaws-us-gov.com",
        ),
        (
            "arn:aws-cn:iam::123456789012:role/r",
            "https://signin.amazonaws.cn/federation",
            "console.amazonaws.cn",
        ),
    ],
)
def test_partition_endpoints(arn: str, endpoint: str, console_host: str) -> None:
    partition = console.partition_of(arn)
    assert partition.federation_endpoint == endpoint
    assert console.destination_url(partition, region=None, path=None) == f"https://{console_host}/"


@pytest.mark.parametrize("arn", ["not-an-arn", "arn:aws-mars:iam::1:role/r", "arn"])
def test_unknown_partition_is_refused(arn: str) -> None:
    with pytest.raises(ValueError, match="partition"):
        console.partition_of(arn)


def test_destination_with_region_and_path() -> None:
    partition = console.PARTITIONS["aws"]
    assert (
        console.destination_url(partition, region="eu-west-1", path="/s3/home")
        == "https://eu-west-1.console.aws.amazon.com/s3/home?region=eu-west-1"
    )
    assert (
        console.destination_url(partition, region=None, path="ec2/home")
        == "https://console.aws.amazon.com/ec2/home"
    )


@pytest.fixture
def federation() -> Iterator[dict[str, Any]]:
    seen: dict[str, Any] = {"status": 200, "body": b'{"SigninToken": "the-token"}'}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen["path"] = self.path
            self.send_response(seen["status"])
            self.send_header("Content-Length", str(len(seen["body"])))
            self.end_headers()
            self.wfile.write(seen["body"])

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    seen["endpoint"] = f"http://127.0.0.1:{server.server_address[1]}/federation"
    try:
        yield seen
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_signin_token(federation: dict[str, Any]) -> None:
    url = console.signin_token_request_url(CREDENTIALS, endpoint=federation["endpoint"])
    assert console.fetch_signin_token(url) == "the-token"
    assert query(federation["path"])["Action"] == "getSigninToken"


def test_fetch_refused_does_not_echo_the_credentials(federation: dict[str, Any]) -> None:
    federation["status"] = 400
    url = console.signin_token_request_url(CREDENTIALS, endpoint=federation["endpoint"])
    with pytest.raises(console.ConsoleError, match="HTTP 400") as caught:
        console.fetch_signin_token(url)
    assert "secret" not in str(caught.value)


def test_fetch_without_token(federation: dict[str, Any]) -> None:
    federation["body"] = b'{"other": 1}'
    url = console.signin_token_request_url(CREDENTIALS, endpoint=federation["endpoint"])
    with pytest.raises(console.ConsoleError, match="SigninToken"):
        console.fetch_signin_token(url)
