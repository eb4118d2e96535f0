"""HTTP API v1 as an OpenAPI 3.1 document, generated from the route table.

``document()`` makes one operation of every route in ``routes.ROUTES``: its security
(SigV4 as API Gateway's ``awsSigv4`` scheme, the enrollment token as HTTP Bearer, none for
the other public routes), its request body and answers (``schemas``: JSON Schema 2020-12,
as OpenAPI 3.1 allows) and each error it can answer as an RFC 9457 problem document. What
a route takes and answers is its entry in ``OPERATIONS``; a route without one, or an entry
without a route, is refused when the document is built, so the two cannot drift.

Built from the table rather than with Powertools' OpenAPI support: that needs pydantic
(not in the Lambda's bundle, and heavy on the cold path) and a model-typed signature on
every handler, while tapgate's handlers parse bodies strictly themselves (``api/requests``).
The broker serves the document at ``GET /v1/openapi.json``, built on the first request
for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tapgate_contract import routes as v1
from tapgate_contract.problems import PROBLEM_CONTENT_TYPE
from tapgate_contract.schemas import (
    CREDENTIAL_ID_PATTERN,
    EVENT_QUERY,
    REPORT_QUERY,
    SCHEMAS,
    USER_NAME_SCHEMA,
    Schema,
    ref,
)

__all__ = ["OPERATIONS", "Operation", "document", "openapi_path"]

OPENAPI_VERSION = "3.1.0"
JSON = "application/json"
SIGV4 = "sigv4"
BEARER = "enrollmentToken"  # the security scheme's name

_STATIC_MEDIA = ("text/css", "text/javascript", "image/svg+xml")


@dataclass(frozen=True)
class Operation:
    """What one route takes and answers, beyond what the route table says."""

    operation_id: str
    summary: str
    tag: str
    success: int = 200
    answer: str | None = None  # a schema name (JSON); None: no body (204) or ``media``
    media: tuple[str, ...] = ()  # the success's non-JSON media types (the page, its files)
    request: str | None = None  # a schema name (a JSON body); None: no body is read
    request_required: bool = True  # False: an empty body reads as {}
    errors: tuple[int, ...] = ()  # beyond the ones every route of its kind can answer
    bearer: bool = False  # authenticated by an enrollment token
    calls_aws: bool = True  # can answer 503 when DynamoDB or STS fails
    query: dict[str, Schema] | None = None  # the query parameters it reads (all optional)


_CEREMONY = (401, 404, 409)  # failed assertion; unknown ceremony or key; used, changed

OPERATIONS: dict[v1.Route, Operation] = {
    v1.REGISTRATION_OPTIONS: Operation(
        "registrationOptions",
        "Begin registering a key (a first key needs an MFA or Identity Center session)",
        "registration",
        answer="RegistrationOptions",
        request="NicknameRequest",
        request_required=False,
        errors=(409,),
    ),
    v1.REGISTRATION_VERIFY: Operation(
        "registrationVerify",
        "Store the key that answers a registration ceremony",
        "registration",
        success=201,
        answer="RegisteredKey",
        request="RegistrationAnswer",
        errors=_CEREMONY,
    ),
    v1.REGISTRATION_STEP_UP_OPTIONS: Operation(
        "registrationStepUpOptions",
        "Begin registering a further key, proven by an existing one",
        "registration",
        answer="RegistrationOptions",
        request="NicknameRequest",
        request_required=False,
        errors=(409,),
    ),
    v1.REGISTRATION_STEP_UP_VERIFY: Operation(
        "registrationStepUpVerify",
        "Store a further key: the answer carries a step-up assertion",
        "registration",
        success=201,
        answer="RegisteredKey",
        request="RegistrationAnswer",
        errors=_CEREMONY,
    ),
    v1.AUTHENTICATION_OPTIONS: Operation(
        "authenticationOptions",
        "Begin a sign-in (or a key management) ceremony with the caller's keys",
        "authentication",
        answer="AuthenticationOptions",
        request="AuthenticationRequest",
        request_required=False,
        errors=(404,),
    ),
    v1.AUTHENTICATION_VERIFY: Operation(
        "authenticationVerify",
        "Verify the assertion and answer the gated role's session credentials",
        "authentication",
        answer="IssuedCredentials",
        request="SignInAnswer",
        errors=_CEREMONY,
    ),
    v1.CREDENTIALS: Operation(
        "listCredentials", "The caller's keys", "keys", answer="CredentialList"
    ),
    v1.CREDENTIAL_DELETE: Operation(
        "deleteCredential",
        "Remove one of the caller's keys, with a fresh assertion (purpose manage)",
        "keys",
        success=204,
        request=v1.CEREMONY_ANSWER,
        errors=_CEREMONY,
    ),
    v1.ROLES: Operation("listRoles", "The gated roles", "authentication", answer="Roles"),
    v1.ENROLLMENTS: Operation(
        "createEnrollment",
        "Issue a one-time enrollment link (admin, or self with MFA and no key yet)",
        "enrollment",
        success=201,
        answer="Enrollment",
        request="EnrollmentRequest",
        request_required=False,
    ),
    v1.ENROLLMENT_OPTIONS: Operation(
        "enrollmentOptions",
        "Begin registering a key with an enrollment token (the token stays usable)",
        "enrollment",
        answer="EnrollmentOptions",
        request="NicknameRequest",
        request_required=False,
        errors=(401, 409),
        bearer=True,
    ),
    v1.ENROLLMENT_VERIFY: Operation(
        "enrollmentVerify",
        "Store the enrolled key; the token is used up with it",
        "enrollment",
        success=201,
        answer="RegisteredKey",
        request="EnrollmentAnswer",
        errors=_CEREMONY,
        bearer=True,
    ),
    v1.PASSKEY_OPTIONS: Operation(
        "passkeyOptions",
        "Begin a discoverable-passkey ceremony (no user named; UV required)",
        "passkey",
        answer="AuthenticationOptions",
        request="AuthenticationRequest",
        request_required=False,
    ),
    v1.PASSKEY_VERIFY: Operation(
        "passkeyVerify",
        "Sign in with a passkey: session credentials, and a console link if asked",
        "passkey",
        answer="PasskeySignIn",
        request="PasskeySignInAnswer",
        errors=_CEREMONY,
    ),
    v1.PASSKEY_CREDENTIALS_LIST: Operation(
        "passkeyListCredentials",
        "The passkey owner's keys, after a manage ceremony",
        "passkey",
        answer="PasskeyCredentialList",
        request=v1.CEREMONY_ANSWER,
        errors=_CEREMONY,
    ),
    v1.PASSKEY_CREDENTIAL_DELETE: Operation(
        "passkeyDeleteCredential",
        "Remove one of the passkey owner's keys, after a manage ceremony",
        "passkey",
        success=204,
        request=v1.CEREMONY_ANSWER,
        errors=_CEREMONY,
    ),
    v1.ADMIN_OPTIONS: Operation(
        "adminOptions",
        "Begin the admin's own assertion that approves one admin action (403 unless the "
        "caller is an admin with a key)",
        "admin",
        answer="AuthenticationOptions",
        request="AdminOptionsRequest",
        request_required=False,
    ),
    v1.ADMIN_USER_CREDENTIALS: Operation(
        "adminListUserCredentials",
        "Any user's keys (403 unless the caller is an admin)",
        "admin",
        answer="UserCredentialList",
    ),
    v1.ADMIN_USER_CREDENTIALS_REVOKE: Operation(
        "adminRevokeUserCredentials",
        "Revoke all of a user's keys, approved by the admin's own assertion, with a reason",
        "admin",
        answer="Revoked",
        request="Revocation",
        errors=_CEREMONY,
    ),
    v1.ADMIN_USER_CREDENTIAL_REVOKE: Operation(
        "adminRevokeUserCredential",
        "Revoke one of a user's keys, approved by the admin's own assertion, with a reason",
        "admin",
        answer="Revoked",
        request="Revocation",
        errors=_CEREMONY,
    ),
    v1.ADMIN_REPORT: Operation(
        "adminReport",
        "The key inventory: every user's keys, the unused ones, the models (admin only)",
        "admin",
        answer="Report",
        query=REPORT_QUERY,
    ),
    v1.ADMIN_EVENTS: Operation(
        "listEvents",
        "The audit trail, newest first, page by page: an admin's of everyone, another "
        "caller's of themself (403 for another user's)",
        "admin",
        answer="Events",
        query=EVENT_QUERY,
    ),
    v1.PASSKEY_CODE: Operation(
        "passkeyCode",
        "The CLI's browser sign-in: a passkey assertion for a single-use code bound to the "
        "CLI's PKCE challenge and loopback port",
        "passkey",
        answer="SignInCode",
        request="CodeRequest",
        errors=_CEREMONY,
    ),
    v1.PASSKEY_TOKEN: Operation(
        "passkeyToken",
        "The CLI's browser sign-in: the code and its PKCE verifier for the role's session "
        "credentials (an unknown, used, expired or mismatched code: 400 code-invalid)",
        "passkey",
        answer="IssuedCredentials",
        request="CodeExchange",
    ),
    v1.CONFIG: Operation(
        "config", "The RP ID and the gated roles, for the page", "page", answer="Config"
    ),
    v1.OPENAPI_DOCUMENT: Operation(
        "openApiDocument", "This document", "page", answer="OpenApiDocument", calls_aws=False
    ),
    v1.PAGE: Operation("page", "The web page", "page", media=("text/html",), calls_aws=False),
    v1.ENROLL_PAGE: Operation(
        "enrollPage",
        "The web page, at an enrollment link",
        "page",
        media=("text/html",),
        calls_aws=False,
    ),
    v1.STATIC_FILE: Operation(
        "staticFile",
        "One of the page's files (CSS, ES module, SVG)",
        "page",
        media=_STATIC_MEDIA,
        errors=(404,),
        calls_aws=False,
    ),
}

# What any route can answer before the broker runs, or from it: a malformed request, one
# refused (no or a bad signature, the web ACL, local mode's Host check), a body over the
# limit, throttling.
_ALWAYS = (400, 403, 413, 429)
_ERROR_TITLES = {
    400: "Malformed request: its body, a field, a query parameter or a header; or a sign-in "
    "code that is not valid (type code-invalid: unknown, used, expired, not this verifier's).",
    401: "The ceremony failed, or the enrollment token is not valid (one message for all causes).",
    403: "Not allowed: no or a bad SigV4 signature, a role the caller may not have, a "
    "principal that is not a tapgate user, a key whose authenticator the role does not "
    "accept (type authenticator-not-allowed), an admin route for a caller who is not an "
    "admin (or an admin without a key of their own), another user's events. (The web "
    "ACL's known-bad-inputs rule answers WAF's own 403, not a problem document.)",
    404: "No such ceremony, key or file (a ceremony begun on another route family or by "
    "another caller too), or no such route: a path parameter with a character outside "
    "RFC 3986's (a control character, say) matches none.",
    409: "The ceremony was used, the key is already registered, the caller's keys changed "
    "since the ceremony began, or the key cap is reached.",
    413: "The body is too large.",
    415: "A body that is not application/json.",
    429: "Throttled; retry after Retry-After seconds. The web ACL's per-IP rules send the "
    "same problem document as application/json (WAF sets that Content-Type itself).",
    503: "A dependency (DynamoDB, STS) failed; retry after Retry-After seconds.",
}
_PARAMETER = re.compile(r"\{(?P<name>[A-Za-z][A-Za-z0-9]*)\+?\}")


def openapi_path(route: v1.Route) -> str:
    """The route's path in the document: the URL path clients send (``/v1/...``), a greedy
    ``{proxy+}`` written ``{proxy}`` (one segment in OpenAPI's template syntax)."""
    return _PARAMETER.sub(lambda m: "{" + m.group("name") + "}", route.url_path)


def document(routes: tuple[v1.Route, ...] = v1.ROUTES) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes`` (every route of the table by default)."""
    missing = [f"{r.method} {r.path}" for r in routes if r not in OPERATIONS]
    stray = [f"{r.method} {r.path}" for r in OPERATIONS if r not in routes]
    if missing or stray:
        raise ValueError(
            f"routes without an operation: {missing}; operations without a route: {stray}"
        )
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        item = paths.setdefault(openapi_path(route), {})
        item[route.method.lower()] = _operation(route, OPERATIONS[route])
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "tapgate HTTP API",
            "version": v1.STAGE,
            "description": (
                "Hardware-key (WebAuthn) MFA for AWS: a ceremony with a security key or "
                "passkey, then a gated role's session credentials. Paths start with the "
                "stage; the server is the API's base URL ({apiUrl} in docs/design.md)."
            ),
        },
        "servers": [
            {
                "url": "/",
                "description": "The API's origin (execute-api, a custom domain, or tapgate local).",
            }
        ],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": _SECURITY_SCHEMES,
            "responses": {
                str(status): _problem(text, also_json=status == 429)
                for status, text in _ERROR_TITLES.items()
            },
        },
    }


_SECURITY_SCHEMES = {
    SIGV4: {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": (
            "AWS Signature Version 4 for the service execute-api (API Gateway's AWS_IAM "
            "authorization), with the caller's AWS credentials: the Authorization header "
            "is computed over the request (X-Amz-Date, and X-Amz-Security-Token for a "
            "session), not a fixed key. botocore's SigV4Auth signs as the tapgate CLI does."
        ),
        "x-amazon-apigateway-authtype": "awsSigv4",
    },
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": "A one-time enrollment token (POST /v1/enrollments), checked by the "
        "broker: it expires, and registering a key uses it up.",
    },
}


def _operation(route: v1.Route, op: Operation) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "security": _security(route, op),
        "responses": _responses(route, op),
    }
    if route.why_public is not None:
        operation["description"] = f"Public: {route.why_public}"
    parameters = [_path_parameter(m.group("name")) for m in _PARAMETER.finditer(route.path)]
    parameters += [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": schema.get("description", ""),
            "schema": schema,
        }
        for name, schema in (op.query or {}).items()
    ]
    if parameters:
        operation["parameters"] = parameters
    if op.request is not None:
        operation["requestBody"] = {
            "required": op.request_required,
            "content": {JSON: {"schema": ref(op.request)}},
        }
    return operation


def _security(route: v1.Route, op: Operation) -> list[dict[str, list[str]]]:
    if route.auth is v1.Auth.SIGV4:
        return [{SIGV4: []}]
    return [{BEARER: []}] if op.bearer else []


def _path_parameter(name: str) -> Schema:
    if name == "credentialId":
        schema: Schema = {"type": "string", "pattern": CREDENTIAL_ID_PATTERN}
        description = "A key's credential id, base64url without padding."
    elif name == "userName":
        schema = USER_NAME_SCHEMA
        description = "A tapgate user name (the STS SourceIdentity of their sessions)."
    else:
        schema = {"type": "string"}
        description = "A file of the page: a name like app.js or style.css."
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema,
    }


def _responses(route: v1.Route, op: Operation) -> dict[str, Any]:
    responses: dict[str, Any] = {str(op.success): _success(op)}
    errors = set(_ALWAYS) | set(op.errors)
    if _PARAMETER.search(route.path):
        errors.add(404)  # a path segment with a character the broker's router never matches
    if op.request is not None:
        errors.add(415)
    if op.calls_aws:
        errors.add(503)
    for status in sorted(errors):
        responses[str(status)] = {"$ref": f"#/components/responses/{status}"}
    return responses


def _success(op: Operation) -> dict[str, Any]:
    if op.answer is not None:
        return {"description": "Done.", "content": {JSON: {"schema": ref(op.answer)}}}
    if op.media:
        return {
            "description": "The file.",
            "content": {media: {"schema": {"type": "string"}} for media in op.media},
        }
    return {"description": "Done; no body."}


def _problem(description: str, *, also_json: bool) -> dict[str, Any]:
    media = (PROBLEM_CONTENT_TYPE, JSON) if also_json else (PROBLEM_CONTENT_TYPE,)
    return {
        "description": description,
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait (429 and 503).",
                "schema": {"type": "integer", "minimum": 0},
            }
        },
        "content": {m: {"schema": ref("Problem")} for m in media},
    }
