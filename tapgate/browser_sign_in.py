"""Browser sign-in: any passkey a browser can reach, for the CLI (RFC 8252 with PKCE).

The CLI listens on 127.0.0.1 on a random port, makes a PKCE verifier (S256) and a
``state``, and sends the user to the tapgate page with the role, the port, the state and
the code challenge. The page runs the passkey ceremony and sends the browser back to
``http://127.0.0.1:PORT/callback?code=…&state=…``; the CLI checks the state and exchanges
the code with its verifier at ``POST /v1/passkey/token``. The credentials never pass
through the browser, and the code is useless to anyone without the verifier.

Stdlib only (urllib for the one unsigned call); nothing is logged.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import secrets
import threading
import time
import urllib.parse
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tapgate_contract import limits
from tapgate_contract.routes import PAGE

WAIT_SECONDS = 300  # as long as the page's ceremony lives (limits.CEREMONY_TTL_SECONDS)
SIGNED_IN_PAGE = (
    "<!doctype html><meta charset=utf-8><title>tapgate</title>"
    "<p>Signed in. The tapgate command has what it needs: you can close this tab.</p>"
)
REFUSED_PAGE = (
    "<!doctype html><meta charset=utf-8><title>tapgate</title>"
    "<p>This sign-in does not belong to the waiting tapgate command; nothing was issued. "
    "You can close this tab and run the command again.</p>"
)


class BrowserSignInError(Exception):
    """Why a browser sign-in stopped: one line for the user."""


@dataclass(frozen=True)
class Pkce:
    verifier: str  # 43 characters of base64url: 256 random bits
    challenge: str
    state: str

    @classmethod
    def new(cls) -> Pkce:
        verifier = secrets.token_urlsafe(32)
        return cls(verifier=verifier, challenge=s256(verifier), state=secrets.token_urlsafe(24))


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def page_url(api_url: str, *, role_arn: str, port: int, pkce: Pkce) -> str:
    """The tapgate page on the API's own origin, asking to sign the CLI in."""
    query = urllib.parse.urlencode(
        {
            "signin": "cli",
            "role": role_arn,
            "port": str(port),
            "state": pkce.state,
            "code_challenge": pkce.challenge,
        }
    )
    return f"{api_url.rstrip('/')}{PAGE.url_path}?{query}"


@dataclass
class _Callback:
    code: str | None = None
    state_ok: bool | None = None


class _Listener(http.server.HTTPServer):
    """One answer on 127.0.0.1: the first /callback with a code decides."""

    def __init__(self, state: str) -> None:
        super().__init__((limits.LOOPBACK_HOST, 0), _Handler)
        self.expected_state = state
        self.result = _Callback()
        self.done = threading.Event()

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Listener

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path != limits.LOOPBACK_CALLBACK_PATH or self.server.done.is_set():
            self._answer(404, "<!doctype html><title>tapgate</title><p>Not found.</p>")
            return
        values = urllib.parse.parse_qs(query, max_num_fields=4)
        code = (values.get("code") or [""])[0]
        state = (values.get("state") or [""])[0]
        if not code and not state:
            self._answer(404, "<!doctype html><title>tapgate</title><p>Not found.</p>")
            return
        same = secrets.compare_digest(
            state.encode("utf-8", "replace"), self.server.expected_state.encode("ascii")
        )
        self.server.result = _Callback(code=code if same else None, state_ok=same)
        self._answer(200 if same else 400, SIGNED_IN_PAGE if same else REFUSED_PAGE)
        self.server.done.set()

    def _answer(self, status: int, page: str) -> None:
        body = page.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the callback's query carries the code


def sign_in(
    *,
    api_url: str,
    role_arn: str,
    open_browser: bool,
    say: Callable[[str], None],
    exchange: Callable[[str, Pkce, int], dict[str, Any]],
    wait_seconds: float = WAIT_SECONDS,
    opener: Callable[[str], bool] = webbrowser.open,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Run one browser sign-in; what ``exchange(code, pkce, port)`` answers.

    ``say`` shows a line to the user (stderr: the AWS CLI passes credential_process's stderr
    through). Raises BrowserSignInError on a wrong state or a timeout; KeyboardInterrupt
    passes through after the listener is closed.
    """
    pkce = Pkce.new()
    listener = _Listener(pkce.state)
    try:
        url = page_url(api_url, role_arn=role_arn, port=listener.port, pkce=pkce)
        opened = False
        if open_browser:
            try:
                opened = bool(opener(url))
            except webbrowser.Error:
                opened = False
        if opened:
            say(f"Sign in with your passkey in the browser. If no page opened, visit:\n{url}")
        else:
            say(f"To sign in with your passkey, open this address in a browser:\n{url}")
        deadline = clock() + wait_seconds
        while not listener.done.is_set():
            left = deadline - clock()
            if left <= 0:
                raise BrowserSignInError(
                    f"no sign-in arrived from the browser within {int(wait_seconds)} seconds; "
                    "run the command again"
                )
            listener.timeout = min(left, 1.0)
            listener.handle_request()
    finally:
        listener.server_close()
    if not listener.result.state_ok or not listener.result.code:
        raise BrowserSignInError(
            "the browser came back with a sign-in that this command did not start (wrong "
            "state); nothing was issued. Run the command again"
        )
    return exchange(listener.result.code, pkce, listener.port)
