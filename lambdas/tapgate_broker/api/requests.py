"""Strict request parsing: size, content type, JSON shape, field types.

Anything off gets a BadRequestError (or 413/415) before the core sees it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from tapgate_broker.core.errors import (
    BadRequestError,
    EnrollmentTokenInvalidError,
    PayloadTooLargeError,
    TapgateError,
)
from tapgate_contract.limits import CEREMONY_ID_PATTERN, MAX_BODY_BYTES, ROLE_ARN_FIELD_PATTERN
from tapgate_contract.limits import MAX_JSON_DEPTH as MAX_DEPTH

_CEREMONY_ID = re.compile(CEREMONY_ID_PATTERN)  # used with fullmatch
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32), core/enrollment
_BEARER = re.compile(r"Bearer[ ]+(?P<token>\S+)[ ]*", re.IGNORECASE)
_ROLE_ARN = re.compile(ROLE_ARN_FIELD_PATTERN, re.ASCII)  # used with fullmatch


class UnsupportedMediaTypeError(TapgateError):
    status = 415
    title = "Unsupported media type"
    type_slug = "unsupported-media-type"


def parse_json_body(
    body: str | bytes | None, *, content_type: str | None, required: bool = True
) -> dict[str, Any]:
    """The request body as a JSON object; refuses duplicates, NaN and deep nesting."""
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else (body or b"")
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"request body must be at most {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        if required:
            raise BadRequestError("request body must be a JSON object")
        return {}
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise UnsupportedMediaTypeError("Content-Type must be application/json")
    try:
        text = raw.decode("utf-8")
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadRequestError("request body is not valid JSON", reason=str(exc)[:200]) from exc
    if not isinstance(value, dict):
        raise BadRequestError("request body must be a JSON object")
    if _depth(value) > MAX_DEPTH:
        raise BadRequestError("request body is nested too deeply")
    return value


def bearer_token(header: str | None) -> str:
    """The enrollment token of an ``Authorization: Bearer <token>`` header; else refused."""
    if not header:
        raise EnrollmentTokenInvalidError("no Authorization: Bearer header")
    match = _BEARER.fullmatch(header)
    if match is None:
        raise EnrollmentTokenInvalidError("Authorization is not a Bearer token")
    token = match.group("token")
    if not _TOKEN.fullmatch(token):
        raise EnrollmentTokenInvalidError("malformed enrollment token")
    return token


def optional_string(body: Mapping[str, Any], key: str, *, max_length: int = 256) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequestError(f"{key} must be a string")
    if len(value) > max_length:
        raise BadRequestError(f"{key} must be at most {max_length} characters")
    return value


def required_ceremony_id(body: Mapping[str, Any]) -> str:
    value = body.get("ceremonyId")
    if not isinstance(value, str) or not _CEREMONY_ID.fullmatch(value):
        raise BadRequestError("ceremonyId must be the string returned by the options call")
    return value


def required_object(body: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    if not isinstance(value, dict):
        raise BadRequestError(f"{key} must be a JSON object")
    return value


def optional_object(body: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    if body.get(key) is None:
        return None
    return required_object(body, key)


def role_arn(body: Mapping[str, Any], *, required: bool) -> str | None:
    value = body.get("roleArn")
    if value is None and not required:
        return None
    if not isinstance(value, str) or not _ROLE_ARN.fullmatch(value):
        raise BadRequestError("roleArn must be an IAM role ARN")
    return value


def optional_int(body: Mapping[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequestError(f"{key} must be an integer")
    return value


def optional_bool(body: Mapping[str, Any], key: str) -> bool:
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise BadRequestError(f"{key} must be true or false")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key[:40]!r}")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _depth(value: Any, level: int = 1) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level
