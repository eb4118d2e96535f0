"""What crosses the local gateway: a REST proxy (v1.0) event in, the handler's proxy response
out, and the gateway's own refusals as problem documents."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from tapgate.local.routes import API_PREFIX
from tapgate.local.sigv4 import SigV4Identity
from tapgate_contract.problems import PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE
from tapgate_contract.stage import STAGE


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
        return problem(
            self.status, title=self.title, detail=self.detail, slug=self.slug, headers=self.headers
        )


def split_target(target: str) -> tuple[str, str]:
    if not target.startswith("/"):
        raise GatewayRequestError(
            400, title="Bad request", detail="Malformed request target.", slug="bad-request"
        )
    # Not urlsplit: "//host/path" would lose its first segment to a netloc.
    path, _, query = target.partition("?")
    return unquote(path), query.partition("#")[0]


def proxy_event(
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


def reply_from_proxy(result: Mapping[str, Any]) -> GatewayReply:
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


def problem(
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
