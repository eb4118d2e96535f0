"""The web page the API serves: ``GET /``, ``GET /enroll`` and ``GET /static/<file>``.

The files live flat in ``tapgate_broker/web`` (package data, so they ship inside the
Lambda asset): ``index.html`` for both page paths, the CSS and ES modules under
``/static/``. Every answer carries the security headers: a strict Content-Security-Policy
without ``unsafe-inline``, no framing, no referrer, no MIME sniffing. The enrollment
token travels in the URL fragment, which browsers never send, so it reaches no log.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import Any

from aws_lambda_powertools.event_handler import Response

from tapgate_broker.api.problems import problem
from tapgate_contract import routes as v1

WEB_PACKAGE = "tapgate_broker.web"
PAGE_FILE = "index.html"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": (
        "publickey-credentials-create=(self), publickey-credentials-get=(self), "
        "camera=(), microphone=(), geolocation=()"
    ),
}
_STATIC_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}\.(?P<ext>js|css|svg)")
_CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "svg": "image/svg+xml",
}


def add_page_routes(app: Any) -> None:
    """Register the page routes on a Powertools resolver."""

    @app.route(v1.PAGE.resolver_path, v1.PAGE.method)
    def page_home() -> Response:
        # ``/v1`` without its slash would resolve the page's relative URLs one level up.
        public_path = (app.current_event.raw_event.get("requestContext") or {}).get("path")
        if isinstance(public_path, str) and public_path and not public_path.endswith("/"):
            return Response(
                status_code=308,
                headers={**SECURITY_HEADERS, "Location": public_path + "/"},
                body="",
            )
        return page()

    @app.route(v1.ENROLL_PAGE.resolver_path, v1.ENROLL_PAGE.method)
    def page_enroll() -> Response:
        return page()

    @app.route(v1.STATIC_FILE.resolver_path, v1.STATIC_FILE.method)
    def static_file(proxy: str) -> Response:
        match = _STATIC_NAME.fullmatch(proxy)
        body = _read(proxy) if match else None
        if match is None or body is None:
            return problem(
                status=404,
                title="Not found",
                detail="No such file.",
                slug="not-found",
                headers=SECURITY_HEADERS,
            )
        return _file_response(body, _CONTENT_TYPES[match.group("ext")], cache="max-age=300")


def page() -> Response:
    body = _read(PAGE_FILE)
    if body is None:  # a packaging bug, never the caller's fault
        raise FileNotFoundError(f"{WEB_PACKAGE}/{PAGE_FILE} is missing from the package")
    return _file_response(body, _CONTENT_TYPES["html"], cache="no-store")


def _file_response(body: str, content_type: str, *, cache: str) -> Response:
    return Response(
        status_code=200,
        content_type=content_type,
        body=body,
        headers={**SECURITY_HEADERS, "Cache-Control": cache},
    )


@functools.cache
def _read(relative: str) -> str | None:
    """A file of the web package, read once per execution environment."""
    try:
        return (resources.files(WEB_PACKAGE) / relative).read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
