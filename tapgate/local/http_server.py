"""The local gateway's HTTP server: http.server's threads, one request at a time to
``LocalGateway.respond``, and http.server's own refusals as problem documents."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from tapgate.local.proxy_event import problem

if TYPE_CHECKING:
    from tapgate.local.gateway import LocalGateway

logger = logging.getLogger("tapgate.local.gateway")  # the gateway's request lines (logs.py)

_DRAIN_LIMIT = 1024 * 1024  # read at most this much of a refused body so the client sees 413
_SOCKET_TIMEOUT_SECONDS = 30
_QUERY = re.compile(r"\?[^\s\"]*")


class GatewayHTTPServer(ThreadingHTTPServer):
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


class RequestHandler(BaseHTTPRequestHandler):
    server: GatewayHTTPServer
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
        reply = problem(
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
