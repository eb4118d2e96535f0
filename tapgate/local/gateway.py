"""A local stand-in for API Gateway: HTTP in, REST proxy (v1.0) events to a handler, HTTP out.

It does what the deployed API does before the Lambda runs: refuses routes that need
SigV4 when the signature is missing or wrong (like the AWS_IAM authorizer), limits
the body size, optionally throttles unauthenticated routes per client IP, and fills
``requestContext.identity`` from the verified signature. Whatever the handler does,
a client never sees a stack trace, and every answer of its own, whatever the method
(TRACE, CONNECT, a made-up one) or the malformed request, is a problem document.

With ``allowed_hosts`` (``tapgate local`` passes its origin's ``host:port``) it answers only
requests whose ``Host`` is one of them: a web page on another site that rebinds its DNS
name to 127.0.0.1 would otherwise reach the local API (and the demo user's signature-free
routes) as a same-origin page.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import re
import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote

from tapgate.local.federation import PATH as FEDERATION_PATH
from tapgate.local.federation import FederationStandIn
from tapgate.local.routes import API_PREFIX, THROTTLED_PREFIXES, RouteAuth, route_auth
from tapgate.local.sigv4 import (
    Clock,
    SecretLookup,
    SigV4Error,
    SigV4Identity,
    verify_request,
)
from tapgate_contract.limits import MAX_BODY_BYTES as DEFAULT_MAX_BODY_BYTES
from tapgate_contract.stage import STAGE

logger = logging.getLogger(__name__)

PROBLEM_TYPE_BASE = "https://tapgate.dev/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"
_DRAIN_LIMIT = 1024 * 1024  # read at most this much of a refused body so the client sees 413
_SOCKET_TIMEOUT_SECONDS = 30

Handler = Callable[[dict[str, Any], Any], Mapping[str, Any]]


RouteTable = Callable[[str, str], "RouteAuth | None"]
"""``(method, path) -> RouteAuth``, or None when the gateway has no such route (404)."""


class RateLimiter(Protocol):
    """Decides whether one more request from ``key`` may pass now."""

    def check(self, key: str) -> float | None:
        """None to allow; otherwise the seconds to wait before trying again."""
        ...


class TokenBucketLimiter:
    """Per-key token bucket: ``burst`` requests at once, refilled at ``rate_per_second``."""

    def __init__(
        self,
        *,
        rate_per_second: float,
        burst: int,
        clock: Clock = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        if rate_per_second <= 0 or burst < 1:
            raise ValueError("rate_per_second must be > 0 and burst >= 1")
        self._rate = rate_per_second
        self._burst = float(burst)
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, updated_at)
        self._lock = threading.Lock()

    def check(self, key: str) -> float | None:
        with self._lock:
            now = self._clock()
            tokens, updated = self._buckets.get(key, (self._burst, now))
            tokens = min(self._burst, tokens + (now - updated) * self._rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                self._forget_full_buckets(now)
                return None
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self._rate

    def _forget_full_buckets(self, now: float) -> None:
        if len(self._buckets) <= self._max_keys:
            return
        for key, (tokens, updated) in list(self._buckets.items()):
            if tokens + (now - updated) * self._rate >= self._burst:
                del self._buckets[key]


@dataclass(frozen=True)
class LocalLambdaContext:
    """The attributes of a Lambda context object that Powertools reads."""

    aws_request_id: str
    function_name: str = "tapgate-broker"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:tapgate-broker"
    memory_limit_in_mb: int = 256
    log_group_name: str = "/aws/lambda/tapgate-broker"
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


@dataclass(frozen=True)
class GatewayReply:
    """An HTTP answer: status, headers in order (names may repeat), body bytes."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


class GatewayRequestError(Exception):
    """The request is refused at the gateway; the handler is not called."""

    def __init__(
        self,
        status: int,
        *,
        title: str,
        detail: str,
        slug: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.slug = slug
        self.headers = dict(headers or {})

    def reply(self) -> GatewayReply:
        return _problem(
            self.status, title=self.title, detail=self.detail, slug=self.slug, headers=self.headers
        )


class LocalGateway:
    """An HTTP server in a background thread that fronts ``handler`` like API Gateway."""

    def __init__(
        self,
        *,
        handler: Handler,
        secret_lookup: SecretLookup,
        host: str = "127.0.0.1",
        port: int = 0,
        route_auth: RouteTable = route_auth,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        rate_limiter: RateLimiter | None = None,
        clock: Clock = time.time,
        region: str | None = None,
        federation: FederationStandIn | None = None,
        allowed_hosts: Collection[str] | None = None,
    ) -> None:
        self.handler = handler
        self.allowed_hosts = (
            frozenset(h.lower() for h in allowed_hosts) if allowed_hosts is not None else None
        )
        self.federation = federation
        # Lambda gives an execution environment one event at a time, and the handler
        # relies on it: Powertools' resolver keeps the current event on the shared app.
        self._handler_lock = threading.Lock()
        self.secret_lookup = secret_lookup
        self.route_auth = route_auth
        self.max_body_bytes = max_body_bytes
        self.rate_limiter = rate_limiter
        self.clock = clock
        self.region = region
        self._server = _GatewayHTTPServer((host, port), _RequestHandler, gateway=self)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> LocalGateway:
        """Serve in a daemon thread; the socket is already listening when this returns."""
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # how soon stop() is noticed
            name="tapgate-gateway",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> LocalGateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- one request ---------------------------------------------------------------

    def respond(
        self,
        *,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        read_body: Callable[[int], bytes],
        source_ip: str,
    ) -> GatewayReply:
        """Authorize, build the proxy event, call the handler and shape its answer."""
        try:
            self._check_host(headers)
            path, query = _split_target(target)
            if self.federation is not None and path == FEDERATION_PATH:
                answer = self.federation.handle(method, query)
                return GatewayReply(answer.status, list(answer.headers), answer.body)
            if path == "/" and method in ("GET", "HEAD"):
                # Local convenience: the page lives under the stage, as on API Gateway.
                return GatewayReply(302, [("Location", API_PREFIX + "/")], b"")
            auth = self.route_auth(method, path)
            if auth is None:
                raise GatewayRequestError(
                    404, title="Not found", detail="No such route.", slug="not-found"
                )
            if self.rate_limiter is not None and _throttled(path, auth):
                wait = self.rate_limiter.check(source_ip)
                if wait is not None:
                    raise GatewayRequestError(
                        429,
                        title="Too many requests",
                        detail="Slow down and retry later.",
                        slug="throttled",
                        headers={"Retry-After": str(max(1, math.ceil(wait)))},
                    )
            body = self._read_body(method, headers, read_body)
            identity = self._identify(
                auth, method=method, target=target, headers=headers, body=body
            )
        except GatewayRequestError as refused:
            return refused.reply()
        event = _proxy_event(
            method=method,
            path=path,
            query=query,
            headers=headers,
            body=body,
            source_ip=source_ip,
            identity=identity,
            now=self.clock(),
        )
        context = LocalLambdaContext(aws_request_id=event["requestContext"]["requestId"])
        try:
            with self._handler_lock:
                result = self.handler(event, context)
        except Exception:  # the API boundary: log it (with the trace), answer a generic 500
            logger.exception("handler failed on %s %s", method, path)
            return _problem(
                500,
                title="Internal error",
                detail="Something went wrong on our side; it has been logged.",
                slug="internal",
            )
        try:
            return _reply_from_proxy(result)
        except (TypeError, ValueError, binascii.Error) as exc:
            logger.error("handler returned a malformed proxy response: %s", exc)
            return _problem(
                502,
                title="Bad gateway",
                detail="The handler's answer was not a valid proxy response.",
                slug="bad-gateway",
            )

    def _check_host(self, headers: list[tuple[str, str]]) -> None:
        """Refuse a Host other than the configured ones (DNS rebinding)."""
        if self.allowed_hosts is None:
            return
        hosts = [value.strip().lower() for name, value in headers if name.lower() == "host"]
        if len(hosts) != 1 or hosts[0] not in self.allowed_hosts:
            raise GatewayRequestError(
                403,
                title="Forbidden",
                detail="This server answers only for its own origin.",
                slug="host-not-allowed",
            )

    def _read_body(
        self, method: str, headers: list[tuple[str, str]], read_body: Callable[[int], bytes]
    ) -> bytes:
        lowered = {name.lower(): value for name, value in headers}
        lengths = {value.strip() for name, value in headers if name.lower() == "content-length"}
        if len(lengths) > 1:
            raise GatewayRequestError(
                400,
                title="Bad request",
                detail="Conflicting Content-Length headers.",
                slug="bad-request",
            )
        if "transfer-encoding" in lowered:
            raise GatewayRequestError(
                411,
                title="Length required",
                detail="Send the body with a Content-Length header.",
                slug="length-required",
            )
        raw_length = lowered.get("content-length")
        if raw_length is None:
            return b""
        raw_length = raw_length.strip()
        if not raw_length.isascii() or not raw_length.isdigit() or len(raw_length) > 12:
            raise GatewayRequestError(
                400,
                title="Bad request",
                detail="Content-Length must be a non-negative integer.",
                slug="bad-request",
            )
        length = int(raw_length)
        if length > self.max_body_bytes:
            raise _BodyTooLargeError(length, self.max_body_bytes)
        body = read_body(length)
        if len(body) != length:
            raise GatewayRequestError(
                400,
                title="Bad request",
                detail="The body is shorter than its Content-Length.",
                slug="bad-request",
            )
        return body

    def _identify(
        self,
        auth: RouteAuth,
        *,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> SigV4Identity | None:
        if auth is RouteAuth.NONE:
            return None  # API Gateway passes no identity on an open route, signed or not
        try:
            return verify_request(
                method=method,
                target=target,
                headers=headers,
                body=body,
                secret_lookup=self.secret_lookup,
                clock=self.clock,
                region=self.region,
            )
        except SigV4Error as error:
            logger.info("refused %s %s: %s", method, target.split("?", 1)[0], error.reason)
            raise GatewayRequestError(
                403,
                title=error.title,
                detail="This route needs a valid SigV4 signature (execute-api).",
                slug="forbidden",
            ) from error


class _BodyTooLargeError(GatewayRequestError):
    def __init__(self, length: int, limit: int) -> None:
        super().__init__(
            413,
            title="Payload too large",
            detail=f"The body may be at most {limit} bytes.",
            slug="too-large",
        )
        self.length = length


class _GatewayHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # The listen backlog (socketserver's default is 5). Requests reach the handler one at
    # a time, so under a burst of clients the accept queue fills; past the backlog Linux
    # drops the handshakes and clients stall on SYN retransmits or see resets. The bench
    # runs 32 clients; the kernel caps this at net.core.somaxconn.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        handler_class: type[BaseHTTPRequestHandler],
        *,
        gateway: LocalGateway,
    ) -> None:
        self.gateway = gateway
        super().__init__(address, handler_class)


class _RequestHandler(BaseHTTPRequestHandler):
    server: _GatewayHTTPServer
    timeout = _SOCKET_TIMEOUT_SECONDS
    server_version = "tapgate-local"
    sys_version = ""

    def _dispatch(self) -> None:
        headers = list(self.headers.items())
        consumed = 0

        def read_body(length: int) -> bytes:
            nonlocal consumed
            data = self.rfile.read(length)
            consumed += len(data)
            return data

        reply = self.server.gateway.respond(
            method=self.command,
            target=self.path,
            headers=headers,
            read_body=read_body,
            source_ip=str(self.client_address[0]),
        )
        self._drain(headers, consumed)
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    def _drain(self, headers: list[tuple[str, str]], consumed: int) -> None:
        """Read what is left of a refused body (up to a bound) so the client is not
        reset before it reads the answer; past the bound, just close."""
        self.close_connection = True
        length = next((v for k, v in headers if k.lower() == "content-length"), "0").strip()
        remaining = int(length) - consumed if length.isascii() and length.isdigit() else 0
        if remaining > _DRAIN_LIMIT:
            return
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 65536))
            if not chunk:
                break
            remaining -= len(chunk)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _dispatch
    do_TRACE = do_CONNECT = _dispatch  # the route table refuses them, as problem documents

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a malformed request line, an unknown method, headers
        too long) as problem documents rather than its HTML page."""
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Error"
        reply = _problem(
            code,
            title=phrase,
            detail=f"The request could not be handled: {phrase.lower()}.",
            slug=phrase.lower().replace(" ", "-"),
        )
        self.close_connection = True
        if self.request_version == "HTTP/0.9":
            # A line too malformed to name a version reads as HTTP/0.9, whose answers have
            # no status line or headers; answer as HTTP/1.0 so the problem type is visible.
            self.request_version = "HTTP/1.0"
        self.send_response(code, message)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if getattr(self, "command", None) != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        # Query strings can carry secrets (the federation stand-in's Session and SigninToken).
        message = _QUERY.sub("?...", format % args)
        logger.info("%s %s", self.client_address[0], message)


def _throttled(path: str, auth: RouteAuth) -> bool:
    """The per-IP limit covers the open ceremony routes, like the stack's strict WAF rule
    (the page and its files are left to the looser all-requests rule, which local mode
    does not model)."""
    return auth is RouteAuth.NONE and path.startswith(THROTTLED_PREFIXES)


_QUERY = re.compile(r"\?[^\s\"]*")


def _split_target(target: str) -> tuple[str, str]:
    if not target.startswith("/"):
        raise GatewayRequestError(
            400, title="Bad request", detail="Malformed request target.", slug="bad-request"
        )
    # Not urlsplit: "//host/path" would lose its first segment to a netloc.
    path, _, query = target.partition("?")
    return unquote(path), query.partition("#")[0]


def _proxy_event(
    *,
    method: str,
    path: str,
    query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    source_ip: str,
    identity: SigV4Identity | None,
    now: float,
) -> dict[str, Any]:
    single_headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        single_headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    single_query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        single_query[name] = value
        multi_query.setdefault(name, []).append(value)
    is_api = path == API_PREFIX or path.startswith(API_PREFIX + "/")
    proxy = path[len(API_PREFIX) + 1 :] if is_api else path.lstrip("/")
    resource = f"{API_PREFIX}/{{proxy+}}" if is_api else ("/" if path == "/" else "/{proxy+}")
    text_body: str | None = None
    is_base64 = False
    if body:
        try:
            text_body = body.decode("utf-8")
        except UnicodeDecodeError:
            text_body, is_base64 = base64.b64encode(body).decode("ascii"), True
    request_id = str(uuid.uuid4())
    user_agent = next((v for k, v in headers if k.lower() == "user-agent"), None)
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": single_headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": single_query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": {"proxy": proxy} if proxy else None,
        "stageVariables": None,
        "body": text_body,
        "isBase64Encoded": is_base64,
        "requestContext": {
            "resourcePath": resource,
            "stage": STAGE,
            "path": path,
            "httpMethod": method,
            "requestId": request_id,
            "requestTimeEpoch": int(now * 1000),
            "protocol": "HTTP/1.1",
            "apiId": "local",
            "identity": {
                "sourceIp": source_ip,
                "userAgent": user_agent,
                "userArn": identity.principal_arn if identity else None,
                # API Gateway's principal id: AIDA… for an IAM user, AROA…:SESSION for a
                # role session (the broker confirms a session's role by that RoleId)
                "caller": identity.principal_id if identity else None,
                "user": identity.principal_id if identity else None,
                "accessKey": identity.access_key_id if identity else None,
                "accountId": identity.account_id if identity else None,
            },
        },
    }


def _reply_from_proxy(result: Mapping[str, Any]) -> GatewayReply:
    if not isinstance(result, Mapping):
        raise TypeError("the proxy response is not an object")
    status = result.get("statusCode")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise ValueError(f"statusCode {status!r} is not an HTTP status")
    headers: list[tuple[str, str]] = []
    for name, value in (result.get("headers") or {}).items():
        headers.append((_header_name(name), _header_value(value)))
    for name, values in (result.get("multiValueHeaders") or {}).items():
        if not isinstance(values, list):
            raise TypeError(f"multiValueHeaders[{name!r}] is not a list")
        single = {n.lower() for n, _ in headers}
        if name.lower() in single:
            continue  # API Gateway prefers the single-value form when both are given
        headers.extend((_header_name(name), _header_value(v)) for v in values)
    raw_body = result.get("body")
    if raw_body is None:
        body = b""
    elif not isinstance(raw_body, str):
        raise TypeError("body is not a string")
    elif result.get("isBase64Encoded"):
        body = base64.b64decode(raw_body, validate=True)
    else:
        body = raw_body.encode("utf-8")
    return GatewayReply(status=status, headers=headers, body=body)


def _header_name(name: object) -> str:
    if not isinstance(name, str) or not name or any(c in name for c in "\r\n: "):
        raise ValueError("invalid header name")
    return name


def _header_value(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError("header values must be strings")
    text = str(value)
    if "\r" in text or "\n" in text:
        raise ValueError("header values must not contain line breaks")
    return text


def _problem(
    status: int,
    *,
    title: str,
    detail: str,
    slug: str,
    headers: Mapping[str, str] | None = None,
) -> GatewayReply:
    document = {
        "type": PROBLEM_TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    return GatewayReply(
        status=status,
        headers=[
            ("Content-Type", PROBLEM_CONTENT_TYPE),
            ("Cache-Control", "no-store"),
            *(headers or {}).items(),
        ],
        body=json.dumps(document).encode(),
    )


__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "GatewayReply",
    "GatewayRequestError",
    "Handler",
    "LocalGateway",
    "LocalLambdaContext",
    "RateLimiter",
    "RouteAuth",
    "RouteTable",
    "TokenBucketLimiter",
    "route_auth",
]
