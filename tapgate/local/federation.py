"""A local stand-in for the AWS federation endpoint, so console links work offline.

It speaks the two documented actions: ``Action=getSigninToken`` with a ``Session``
JSON of temporary credentials (checked against moto: the access key must belong to a
live STS session with that secret and token) answers ``{"SigninToken": ...}``;
``Action=login`` with that token answers a small HTML page that names the signed-in
role session — where the real endpoint would redirect to the console. Sign-in tokens
are random, single-use and expire after 15 minutes, like the real ones.

Query strings here carry secrets; nothing in this module logs them.
"""

from __future__ import annotations

import html
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from tapgate.local.sigv4 import SecretLookup

PATH = "/federation"
TITLE = "AWS console (tapgate local stand-in)"
TOKEN_SECONDS = 15 * 60

# (access key id, secret, session token) -> the session's ARN, or None
SessionCheck = Callable[[str, str, str], str | None]

_PAGE_HEADERS = (
    ("Content-Type", "text/html; charset=utf-8"),
    ("Cache-Control", "no-store"),
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
)


@dataclass(frozen=True)
class StandInReply:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


class FederationStandIn:
    def __init__(self, *, check_session: SessionCheck, clock: Callable[[], float] = time.time):
        self._check_session = check_session
        self._clock = clock
        self._tokens: dict[str, tuple[str, float]] = {}  # token -> (session ARN, expires at)
        self._lock = threading.Lock()

    def handle(self, method: str, query: str) -> StandInReply:
        if method not in ("GET", "HEAD"):
            return _text(405, "Only GET.")
        params = {key: values[-1] for key, values in parse_qs(query).items()}
        action = params.get("Action")
        if action == "getSigninToken":
            return self._signin_token(params.get("Session"))
        if action == "login":
            return self._login(params)
        return _text(400, "Unknown Action.")

    def _signin_token(self, raw_session: str | None) -> StandInReply:
        try:
            session = json.loads(raw_session or "")
            key, secret, token = (
                session["sessionId"],
                session["sessionKey"],
                session["sessionToken"],
            )
        except (ValueError, KeyError, TypeError):
            return _text(400, "Session must be the credentials JSON.")
        if not all(isinstance(v, str) for v in (key, secret, token)):
            return _text(400, "Session must be the credentials JSON.")
        arn = self._check_session(key, secret, token)
        if arn is None:
            return _text(400, "The session is not valid.")
        signin_token = secrets.token_urlsafe(32)
        with self._lock:
            now = self._clock()
            self._tokens = {t: v for t, v in self._tokens.items() if v[1] > now}
            self._tokens[signin_token] = (arn, now + TOKEN_SECONDS)
        body = json.dumps({"SigninToken": signin_token}).encode()
        return StandInReply(200, (("Content-Type", "application/json"),), body)

    def _login(self, params: dict[str, str]) -> StandInReply:
        if not params.get("Issuer") or not params.get("Destination"):
            return _page(400, "Sign-in refused", "Issuer and Destination are required.")
        with self._lock:
            found = self._tokens.pop(params.get("SigninToken", ""), None)
        if found is None or found[1] <= self._clock():
            return _page(403, "Sign-in refused", "The sign-in link is not valid (used or expired).")
        arn, _ = found
        return _page(
            200,
            TITLE,
            f"Signed in as {arn}. The real endpoint would now open {params['Destination']}.",
            data_arn=arn,
        )


def _text(status: int, message: str) -> StandInReply:
    return StandInReply(status, (("Content-Type", "text/plain; charset=utf-8"),), message.encode())


def _page(status: int, title: str, message: str, *, data_arn: str = "") -> StandInReply:
    arn_attribute = f' data-arn="{html.escape(data_arn)}"' if data_arn else ""
    document = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1><p id=session{arn_attribute}>"
        f"{html.escape(message)}</p></body></html>"
    )
    return StandInReply(status, _PAGE_HEADERS, document.encode())


def session_check(lookup: SecretLookup) -> SessionCheck:
    """A SessionCheck over the gateway's secret lookup (moto's STS sessions)."""

    def check(access_key_id: str, secret: str, token: str) -> str | None:
        record = lookup(access_key_id)
        if record is None:
            return None
        known_secret, arn, known_token = (
            record.secret_access_key,
            record.principal_arn,
            record.session_token,
        )
        if known_token is None:  # long-term keys cannot sign in to the console this way
            return None
        same = secrets.compare_digest(known_secret.encode(), secret.encode())
        return (
            arn if same and secrets.compare_digest(known_token.encode(), token.encode()) else None
        )

    return check
