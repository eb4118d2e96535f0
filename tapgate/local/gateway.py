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

This module decides what happens to one request (``LocalGateway.respond``); the per-IP
throttle is ``rate_limit``, the proxy event and the handler's answer ``proxy_event``, and
the HTTP side (http.server's threads and refusals) ``http_server``.
"""

from __future__ import annotations

import binascii
import logging
import math
import threading
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

from tapgate.local.federation import PATH as FEDERATION_PATH
from tapgate.local.federation import FederationStandIn
from tapgate.local.http_server import GatewayHTTPServer, RequestHandler
from tapgate.local.proxy_event import (
    GatewayReply,
    GatewayRequestError,
    LocalLambdaContext,
    problem,
    proxy_event,
    reply_from_proxy,
    split_target,
)
from tapgate.local.rate_limit import RateLimiter, TokenBucketLimiter, throttled
from tapgate.local.routes import API_PREFIX, RouteAuth, route_auth
from tapgate.local.sigv4 import (
    Clock,
    SecretLookup,
    SigV4Error,
    SigV4Identity,
    verify_request,
)
from tapgate_contract.limits import MAX_BODY_BYTES as DEFAULT_MAX_BODY_BYTES

logger = logging.getLogger(__name__)


Handler = Callable[[dict[str, Any], Any], Mapping[str, Any]]


RouteTable = Callable[[str, str], "RouteAuth | None"]
"""``(method, path) -> RouteAuth``, or None when the gateway has no such route (404)."""


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
        self._server = GatewayHTTPServer((host, port), RequestHandler, gateway=self)
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
            path, query = split_target(target)
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
            if self.rate_limiter is not None and throttled(path, auth):
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
        event = proxy_event(
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
            return problem(
                500,
                title="Internal error",
                detail="Something went wrong on our side; it has been logged.",
                slug="internal",
            )
        try:
            return reply_from_proxy(result)
        except (TypeError, ValueError, binascii.Error) as exc:
            logger.error("handler returned a malformed proxy response: %s", exc)
            return problem(
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
