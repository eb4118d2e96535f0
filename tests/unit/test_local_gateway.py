"""The local gateway against a fake handler: events in, proxy responses out, refusals before."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tapgate.local.federation import FederationStandIn
from tapgate.local.gateway import (
    LocalGateway,
    RouteAuth,
    TokenBucketLimiter,
    route_auth,
)
from tapgate.local.sigv4 import SecretRecord

REGION = "us-east-1"
KEY = "AKIAEXAMPLEUSER00001"
SECRET = "s" * 40
ARN = "arn:aws:iam::123456789012:user/tapgate-demo"
PRINCIPAL_ID = "AIDAEXAMPLEUSER00001"
KEYS = {KEY: SecretRecord(SECRET, ARN, None, PRINCIPAL_ID)}


class FakeHandler:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.contexts: list[Any] = []
        self.response: Any = {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"ok": True}),
            "isBase64Encoded": False,
        }
        self.error: Exception | None = None

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append(event)
        self.contexts.append(context)
        if self.error is not None:
            raise self.error
        return self.response


class FakeClock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def handler() -> FakeHandler:
    return FakeHandler()


@pytest.fixture
def gateway(handler: FakeHandler) -> Iterator[LocalGateway]:
    with LocalGateway(handler=handler, secret_lookup=KEYS.get, region=REGION) as running:
        yield running


class Reply:
    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.status = response.status
        self.headers = response.headers
        self.raw = response.read()

    @property
    def json(self) -> Any:
        return json.loads(self.raw)

    @property
    def problem(self) -> dict[str, Any]:
        assert self.headers["Content-Type"] == "application/problem+json"
        document = self.json
        assert set(document) == {"type", "title", "status", "detail"}
        assert document["status"] == self.status
        return document


def call(
    gateway: LocalGateway,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    secret: str | None = None,
) -> Reply:
    headers = dict(headers or {})
    if secret is not None:
        request = AWSRequest(
            method=method,
            url=f"http://127.0.0.1:{gateway.port}{path}",
            data=body or b"",
            headers=headers,
        )
        SigV4Auth(Credentials(KEY, secret), "execute-api", REGION).add_auth(request)
        headers = dict(request.headers.items())
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        return Reply(connection.getresponse())
    finally:
        connection.close()


def raw_call(gateway: LocalGateway, request: bytes) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


# --- events ---------------------------------------------------------------------------


def test_an_open_route_becomes_a_rest_proxy_event(gateway, handler):
    reply = call(gateway, "GET", "/v1/config?x=1&x=2&y=", headers={"User-Agent": "tests/1"})
    assert reply.status == 200
    assert reply.json == {"ok": True}
    (event,) = handler.events
    assert event["path"] == "/v1/config"
    assert event["httpMethod"] == "GET"
    assert event["resource"] == "/v1/{proxy+}"
    assert event["pathParameters"] == {"proxy": "config"}
    assert event["queryStringParameters"] == {"x": "2", "y": ""}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": [""]}
    assert event["headers"]["User-Agent"] == "tests/1"
    assert event["multiValueHeaders"]["User-Agent"] == ["tests/1"]
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["stage"] == "v1"
    assert context["path"] == "/v1/config"
    assert context["httpMethod"] == "GET"
    assert context["requestId"] == handler.contexts[0].aws_request_id
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "tests/1"
    assert context["identity"]["userArn"] is None
    assert context["identity"]["accessKey"] is None


def test_a_signed_request_carries_the_identity_and_body(gateway, handler):
    body = json.dumps({"roleArn": "arn:aws:iam::123456789012:role/x"}).encode()
    reply = call(
        gateway,
        "POST",
        "/v1/authentication/options",
        body=body,
        headers={"Content-Type": "application/json"},
        secret=SECRET,
    )
    assert reply.status == 200
    (event,) = handler.events
    assert event["body"] == body.decode()
    identity = event["requestContext"]["identity"]
    assert identity["userArn"] == ARN
    assert identity["accessKey"] == KEY
    # API Gateway's principal id, not a name: the broker confirms role sessions by it
    assert identity["user"] == PRINCIPAL_ID
    assert identity["caller"] == PRINCIPAL_ID
    assert identity["accountId"] == "123456789012"


def test_a_bad_signature_on_an_open_route_is_ignored(gateway, handler):
    assert call(gateway, "GET", "/v1/config", secret="w" * 40).status == 200
    assert handler.events[0]["requestContext"]["identity"]["userArn"] is None


def test_a_good_signature_on_an_open_route_gives_no_identity_either(gateway, handler):
    # API Gateway does not evaluate SigV4 on a method without AWS_IAM authorization.
    assert call(gateway, "POST", "/v1/passkey/options", body=b"{}", secret=SECRET).status == 200
    assert handler.events[0]["requestContext"]["identity"]["userArn"] is None


def test_an_open_route_passes_a_bearer_token_through(gateway, handler):
    headers = {"Authorization": "Bearer t"}
    reply = call(gateway, "POST", "/v1/enrollment/options", headers=headers)
    assert reply.status == 200
    (event,) = handler.events
    assert event["headers"]["Authorization"] == "Bearer t"
    assert event["requestContext"]["identity"]["userArn"] is None


def test_a_bearer_token_on_a_sigv4_route_is_refused_before_the_handler(gateway, handler):
    headers = {"Authorization": "Bearer t"}
    assert call(gateway, "POST", "/v1/registration/options", headers=headers).status == 403
    assert handler.events == []


@pytest.mark.parametrize("path", ["/v1/", "/v1", "/v1/enroll", "/v1/static/app.js"])
def test_pages_pass_through_without_auth(gateway, handler, path):
    assert call(gateway, "GET", path).status == 200
    assert handler.events[0]["path"] == path


def test_the_root_redirects_to_the_page_under_the_stage(gateway, handler):
    reply = call(gateway, "GET", "/")
    assert reply.status == 302
    assert reply.headers["Location"] == "/v1/"
    assert handler.events == []


def test_a_binary_request_body_is_base64_encoded(handler):
    open_routes = LocalGateway(
        handler=handler, secret_lookup=KEYS.get, route_auth=lambda m, p: RouteAuth.NONE
    )
    with open_routes:
        call(open_routes, "POST", "/v1/x", body=b"\xff\x00\xfe")
    (event,) = handler.events
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\x00\xfe"


# --- responses ------------------------------------------------------------------------


def test_the_proxy_response_becomes_http(gateway, handler):
    handler.response = {
        "statusCode": 201,
        "headers": {"Content-Type": "text/plain", "X-One": "1"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": "created",
        "isBase64Encoded": False,
    }
    reply = call(gateway, "GET", "/v1/")
    assert reply.status == 201
    assert reply.raw == b"created"
    assert reply.headers["X-One"] == "1"
    assert reply.headers.get_all("Set-Cookie") == ["a=1", "b=2"]


def test_a_base64_response_body_is_decoded(gateway, handler):
    handler.response = {
        "statusCode": 200,
        "headers": {"Content-Type": "image/png"},
        "body": base64.b64encode(b"\x89PNG").decode(),
        "isBase64Encoded": True,
    }
    assert call(gateway, "GET", "/v1/static/x.png").raw == b"\x89PNG"


def test_a_handler_exception_is_a_generic_500_without_a_trace(gateway, handler):
    handler.error = RuntimeError("table tapgate-credentials exploded at line 42")
    reply = call(gateway, "GET", "/v1/config")
    assert reply.status == 500
    problem = reply.problem
    assert "exploded" not in reply.raw.decode()
    assert "Traceback" not in reply.raw.decode()
    assert problem["title"] == "Internal error"


@pytest.mark.parametrize(
    "response",
    [
        None,
        {"statusCode": "200", "body": "x"},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "headers": {"X-Bad": "a\r\nInjected: 1"}, "body": ""},
        {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
    ],
)
def test_a_malformed_proxy_response_is_a_502(gateway, handler, response):
    handler.response = response
    reply = call(gateway, "GET", "/v1/config")
    assert reply.status == 502
    assert reply.problem["status"] == 502


# --- refusals before the handler ------------------------------------------------------


def test_an_unsigned_request_to_a_sigv4_route_is_403_and_skips_the_handler(gateway, handler):
    reply = call(gateway, "GET", "/v1/credentials")
    assert reply.status == 403
    assert reply.problem["title"] == "Missing Authentication Token"
    assert handler.events == []


def test_a_wrong_signature_is_403_and_skips_the_handler(gateway, handler):
    reply = call(gateway, "GET", "/v1/credentials", secret="w" * 40)
    assert reply.status == 403
    assert reply.problem["status"] == 403
    assert handler.events == []


def test_an_unknown_route_is_404_and_skips_the_handler(gateway, handler):
    assert call(gateway, "GET", "/admin").problem["status"] == 404
    assert handler.events == []


def test_a_body_over_the_limit_is_413_and_skips_the_handler(handler):
    small = LocalGateway(
        handler=handler,
        secret_lookup=KEYS.get,
        route_auth=lambda m, p: RouteAuth.NONE,
        max_body_bytes=1000,
    )
    with small:
        assert call(small, "POST", "/v1/x", body=b"a" * 1000).status == 200
        reply = call(small, "POST", "/v1/x", body=b"a" * 1001)
    assert reply.status == 413
    assert reply.problem["status"] == 413
    assert len(handler.events) == 1


def test_the_default_body_limit_is_64_kib(gateway, handler):
    reply = call(gateway, "POST", "/v1/registration/options", body=b"a" * (64 * 1024 + 1))
    assert reply.status == 413
    assert handler.events == []


def test_a_chunked_body_is_411(gateway, handler):
    status, body = raw_call(
        gateway,
        b"POST /v1/config HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\n{}\r\n0\r\n\r\n",
    )
    assert status == 411
    assert json.loads(body)["status"] == 411
    assert handler.events == []


@pytest.mark.parametrize("length", [b"-1", b"abc", b"1e3", b"\xd9\xa3"])
def test_an_invalid_content_length_is_400(gateway, handler, length):
    status, body = raw_call(
        gateway,
        b"POST /v1/config HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n{}",
    )
    assert status == 400
    assert json.loads(body)["status"] == 400
    assert handler.events == []


def test_a_body_shorter_than_its_length_is_400(gateway, handler):
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(b"POST /v1/config HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{}")
        sock.shutdown(socket.SHUT_WR)
        data = sock.recv(65536)
    assert data.split(b" ", 2)[1] == b"400"
    assert handler.events == []


# --- throttling -----------------------------------------------------------------------


def test_open_ceremony_routes_are_throttled_per_ip_with_retry_after(handler):
    clock = FakeClock()
    limiter = TokenBucketLimiter(rate_per_second=0.5, burst=2, clock=clock)
    with LocalGateway(handler=handler, secret_lookup=KEYS.get, rate_limiter=limiter) as gw:
        assert call(gw, "POST", "/v1/passkey/options").status == 200
        assert call(gw, "POST", "/v1/enrollment/options").status == 200
        reply = call(gw, "POST", "/v1/passkey/verify")
        assert reply.status == 429
        assert reply.problem["status"] == 429
        assert reply.headers["Retry-After"] == "2"
        # the page, its files and the public config are not this bucket's business
        for path in ("/v1/", "/v1/enroll", "/v1/static/app.js", "/v1/config"):
            assert call(gw, "GET", path).status == 200
        # signed routes are API Gateway's account throttling, not this hook
        assert call(gw, "GET", "/v1/credentials", secret=SECRET).status == 200
        clock.now += 2
        assert call(gw, "POST", "/v1/passkey/options").status == 200
    assert len(handler.events) == 8


def test_the_handler_never_runs_twice_at_once(handler):
    """Lambda hands an environment one event at a time; the resolver relies on it."""
    active, most = 0, 0
    lock = threading.Lock()

    def slow(event: dict[str, Any], context: Any) -> Any:
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
        time.sleep(0.01)
        with lock:
            active -= 1
        return handler(event, context)

    with LocalGateway(handler=slow, secret_lookup=KEYS.get) as gw, ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(lambda _: call(gw, "GET", "/v1/config").status, range(36)))
    assert statuses == [200] * 36
    assert most == 1


def test_the_token_bucket_keeps_keys_apart_and_refills():
    clock = FakeClock()
    limiter = TokenBucketLimiter(rate_per_second=1, burst=1, clock=clock)
    assert limiter.check("192.0.2.1") is None
    assert limiter.check("192.0.2.1") == pytest.approx(1.0)
    assert limiter.check("192.0.2.2") is None
    clock.now += 0.5
    assert limiter.check("192.0.2.1") == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.check("192.0.2.1") is None


# --- the route table -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "auth"),
    [
        ("GET", "/v1/config", RouteAuth.NONE),
        ("POST", "/v1/config", RouteAuth.SIGV4),
        ("GET", "/v1/credentials", RouteAuth.SIGV4),
        ("POST", "/v1/authentication/options", RouteAuth.SIGV4),
        ("POST", "/v1/registration/verify", RouteAuth.SIGV4),
        ("DELETE", "/v1/credentials/abc", RouteAuth.SIGV4),
        ("DELETE", "/v1/credentials/abc/def", RouteAuth.SIGV4),
        ("POST", "/v1/enrollments", RouteAuth.SIGV4),
        ("POST", "/v1/enrollment/options", RouteAuth.NONE),
        ("POST", "/v1/enrollment/verify", RouteAuth.NONE),
        ("POST", "/v1/passkey/options", RouteAuth.NONE),
        ("POST", "/v1/passkey/verify", RouteAuth.NONE),
        ("POST", "/v1/passkey/credentials/list", RouteAuth.NONE),
        ("DELETE", "/v1/passkey/credentials/abc", RouteAuth.NONE),
        ("GET", "/v1/passkey/credentials/abc", RouteAuth.SIGV4),
        ("GET", "/v1/configx", RouteAuth.SIGV4),
        ("GET", "/v1/", RouteAuth.NONE),
        ("GET", "/v1", RouteAuth.NONE),
        ("GET", "/v1/enroll", RouteAuth.NONE),
        ("GET", "/v1/static/app.css", RouteAuth.NONE),
        ("GET", "/v1/static/a/b.css", RouteAuth.NONE),
        ("GET", "/v1/static/", RouteAuth.SIGV4),
        ("GET", "/", None),
        ("GET", "/enroll", None),
        ("GET", "/v2/config", None),
        ("GET", "/v1config", None),
    ],
)
def test_the_route_table(method, path, auth):
    assert route_auth(method, path) is auth


def test_open_routes_are_throttled_signed_or_not(handler):
    limiter = TokenBucketLimiter(rate_per_second=0.01, burst=1, clock=FakeClock())
    with LocalGateway(handler=handler, secret_lookup=KEYS.get, rate_limiter=limiter) as gw:
        assert call(gw, "POST", "/v1/passkey/options").status == 200
        assert call(gw, "POST", "/v1/passkey/options", secret=SECRET).status == 429


# --- the federation stand-in ------------------------------------------------------------


def test_the_federation_stand_in_answers_and_its_query_is_not_logged(handler, caplog):
    session = {"sessionId": "ASIAEXAMPLE", "sessionKey": "k" * 40, "sessionToken": "t" * 50}
    stand_in = FederationStandIn(
        check_session=lambda key, secret, token: (
            "arn:aws:sts::1:assumed-role/r/s"
            if (key, secret, token) == tuple(session.values())
            else None
        )
    )
    gateway = LocalGateway(handler=handler, secret_lookup=KEYS.get, federation=stand_in)
    query = "Action=getSigninToken&Session=" + urllib.parse.quote(json.dumps(session))
    with caplog.at_level("INFO"), gateway:
        reply = call(gateway, "GET", "/federation?" + query)
    assert reply.status == 200
    assert reply.json["SigninToken"]
    assert handler.events == []
    assert "k" * 40 not in caplog.text
    assert "getSigninToken" not in caplog.text


# --- Host (DNS rebinding) and answers to any method -------------------------------------


@pytest.fixture
def origin_gateway(handler: FakeHandler) -> Iterator[LocalGateway]:
    """A gateway that answers only for its origin's host, as ``tapgate local`` runs it."""
    with LocalGateway(handler=handler, secret_lookup=KEYS.get, region=REGION) as running:
        running.allowed_hosts = frozenset({f"localhost:{running.port}"})
        yield running


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:{port}", "127.0.0.1:{port}", "localhost:1", "localhost"]
)
def test_a_request_for_another_host_is_refused_before_the_handler(origin_gateway, handler, host):
    reply = call(
        origin_gateway, "GET", "/v1/config", headers={"Host": host.format(port=origin_gateway.port)}
    )
    assert reply.status == 403
    assert reply.problem["type"].endswith("/host-not-allowed")
    assert handler.events == []


def test_a_request_for_the_origin_host_passes(origin_gateway, handler):
    host = f"LocalHost:{origin_gateway.port}"  # host names are case-insensitive
    assert call(origin_gateway, "GET", "/v1/config", headers={"Host": host}).status == 200
    assert len(handler.events) == 1


def test_a_request_without_a_host_is_refused(origin_gateway, handler):
    status, body = raw_call(origin_gateway, b"GET /v1/config HTTP/1.0\r\n\r\n")
    assert status == 403
    assert json.loads(body)["status"] == 403
    assert handler.events == []


def test_the_federation_stand_in_is_behind_the_host_check_too(handler):
    stand_in = FederationStandIn(check_session=lambda *_: None)
    gateway = LocalGateway(handler=handler, secret_lookup=KEYS.get, federation=stand_in)
    with gateway:
        gateway.allowed_hosts = frozenset({f"localhost:{gateway.port}"})
        reply = call(gateway, "GET", "/federation?Action=getSigninToken", headers={"Host": "x"})
        assert reply.status == 403
        assert reply.problem["status"] == 403


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "BREW"])
@pytest.mark.parametrize("path", ["/v1/config", "/v1/registration/options", "/elsewhere"])
def test_every_method_gets_a_problem_document(gateway, handler, method, path):
    reply = call(gateway, method, path)
    assert 400 <= reply.status < 600
    assert reply.problem["status"] == reply.status
    assert handler.events == []


@pytest.mark.parametrize(
    "request_line",
    [b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n"],
)
def test_a_malformed_request_gets_a_problem_document(gateway, handler, request_line):
    status, body = raw_call(gateway, request_line)
    assert 400 <= status < 600
    assert json.loads(body)["status"] == status
    assert handler.events == []
