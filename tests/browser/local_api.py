"""What the browser tests ask ``tapgate local`` directly, outside the page: SigV4 calls
as the demo user (the local admin) and plain GETs whose headers are checked."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def send(
    method: str, url: str, *, headers: dict[str, str] | None = None, data: bytes | None = None
) -> Reply:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.headers, error.read())


def signed(state: dict[str, Any], method: str, path: str, body: Any = None) -> Reply:
    """A request signed with the demo user's long-term keys (execute-api)."""
    user = state["demoUser"]
    data = json.dumps(body).encode() if body is not None else b""
    request = AWSRequest(
        method=method,
        url=state["apiUrl"] + path,
        data=data,
        headers={"Content-Type": "application/json"},
    )
    SigV4Auth(
        Credentials(user["accessKeyId"], user["secretAccessKey"]), "execute-api", state["region"]
    ).add_auth(request)
    return send(method, request.url, headers=dict(request.headers.items()), data=data or None)


def create_enrollment(state: dict[str, Any], user_name: str) -> dict[str, Any]:
    """``POST /v1/enrollments`` as the local admin; ``{"token", "url", "expiresAt", …}``."""
    reply = signed(state, "POST", "/v1/enrollments", {"userName": user_name})
    assert reply.status == 201, (reply.status, reply.body[:500])
    answer: dict[str, Any] = reply.json()
    assert answer["url"] == f"{state['apiUrl']}/v1/enroll#token={answer['token']}"
    return answer


def my_credentials(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The demo user's key summaries (``GET /v1/credentials``, SigV4)."""
    reply = signed(state, "GET", "/v1/credentials")
    assert reply.status == 200, (reply.status, reply.body[:500])
    return list(reply.json()["credentials"])
