"""Errors of the API client. One root; each says what was expected and what arrived."""

from __future__ import annotations


class ApiError(Exception):
    """Root of the API client's errors; the message is one line for the user."""


class ApiUnreachableError(ApiError):
    """No HTTP answer at all (DNS, refused connection, TLS, timeout)."""


class ApiProblemError(ApiError):
    """The API answered with an error status (an RFC 9457 problem document, usually)."""

    def __init__(self, *, status: int, title: str, detail: str) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        text = f"the tapgate API refused the request: {status} {title}"
        super().__init__(f"{text}: {detail}" if detail else text)


class ApiResponseError(ApiError):
    """A success status with a body that is not the documented JSON."""


class BaseIdentityError(ApiError):
    """No usable AWS credentials for signing requests (the base identity)."""


class NotTapgateApiError(ApiError):
    """The URL answers, but not as a tapgate API does (GET /v1/config has another shape)."""
