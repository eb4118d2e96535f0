"""HTTP API v1's route table: every method and path, its authorization and throttling.

The stack creates one API Gateway method per route, the local gateway authorizes and
throttles by it, the Lambda's resolver registers its handlers at these paths and the CLI
calls them. Making a route public (or signed) is a one-line change here.

Paths are under the stage, in API Gateway's template syntax (``{credentialId}``, a greedy
``{proxy+}``); clients send them after ``/v1``.
"""

from __future__ import annotations

import enum
import re
import urllib.parse
from dataclasses import dataclass

from tapgate_contract.stage import STAGE, STAGE_PREFIX

__all__ = ["ADMIN_ROUTES", "ROUTES", "STAGE", "STAGE_PREFIX", "Auth", "Route", "Throttle", "match"]


class Auth(enum.Enum):
    """Authorization at the gateway, before the Lambda runs.

    ``PUBLIC`` routes reach the broker unsigned; those that change state are authenticated
    by the broker itself (a Bearer enrollment token or a WebAuthn assertion), because
    ``AWS_IAM`` cannot be optional (docs/design.md).
    """

    SIGV4 = "sigv4"  # AWS_IAM: a valid signature or 403; the signer is the caller
    PUBLIC = "public"  # open: no identity reaches the handler, even if the request is signed


class Throttle(enum.Enum):
    """Which limits a route falls under, beyond the stage's rate and the per-IP limit on
    every request."""

    STAGE = "stage"
    # Unsigned and state-changing: a stricter method limit and the strict per-IP rule (a
    # WAF rate-based rule in the stack, a token bucket in local mode).
    PUBLIC_WRITE = "public-write"


# The body model API Gateway validates before invoking the Lambda: {ceremonyId, credential}.
CEREMONY_ANSWER = "CeremonyAnswer"

# Why each public route needs no SigV4 (the stack's AwsSolutions-APIG4 acknowledgments).
WHY_PAGE = (
    "The web page and its static files (HTML, CSS, an ES module): public by nature, they hold "
    "no secrets and are what a user opens before they have any credential."
)
WHY_DOCUMENT = (
    "The API's OpenAPI document for clients: what every route takes and answers, built "
    "from this table; it holds no secrets and a client needs it before it has credentials."
)
WHY_CONFIG = (
    "Public configuration for the page: the RP ID and the gated roles' ARNs and display "
    "names, which are not secrets."
)
WHY_ENROLLMENT_LINK = (
    "Authenticated by the broker Lambda, not by IAM: it requires an 'Authorization: Bearer' "
    "one-time enrollment token that an admin or an MFA-authenticated user issued, which an "
    "AWS_IAM method would refuse before the Lambda. Throttled per source IP by the web ACL."
)
WHY_PASSKEY_OPTIONS = (
    "Begins a discoverable-passkey ceremony: it stores a single-use challenge and answers "
    "options that name no user and no key; only the assertion that answers it (verified by "
    "the broker Lambda) grants anything. Throttled per source IP by the web ACL."
)
WHY_PASSKEY_ASSERTION = (
    "Authenticated by the broker Lambda, not by IAM: the body must carry a user-verified "
    "WebAuthn assertion from a registered passkey answering a single-use challenge; failures "
    "answer one generic 401. Throttled per source IP by the web ACL."
)

WHY_PASSKEY_CODE = (
    "Authenticated by the broker Lambda, not by IAM: the body must carry a user-verified "
    "WebAuthn assertion from a registered passkey answering a single-use challenge, as on "
    "/passkey/verify; instead of credentials it answers a single-use code for the CLI's "
    "browser sign-in that lives a minute and is useless without the PKCE verifier only the "
    "CLI holds. Throttled per source IP by the web ACL."
)
WHY_PASSKEY_EXCHANGE = (
    "Authenticated by the broker Lambda, not by IAM: the CLI's browser sign-in exchanges a "
    "single-use code (from /passkey/code) and the PKCE verifier whose SHA-256 the code is "
    "bound to; the code is used up in a conditional write before the role is assumed. An "
    "unsigned CLI has no AWS identity to sign with. Throttled per source IP by the web ACL."
)

_PARAMETER = re.compile(r"\{(?P<name>[A-Za-z][A-Za-z0-9]*)(?P<greedy>\+?)\}")


@dataclass(frozen=True)
class Route:
    """One method of HTTP API v1."""

    method: str
    path: str  # under the stage, API Gateway's syntax
    auth: Auth
    throttle: Throttle = Throttle.STAGE
    why_public: str | None = None  # required for PUBLIC routes, and only for them
    body_model: str | None = None  # CEREMONY_ANSWER: the gateway turns other bodies away
    # Can give a user a first key (a first-key registration, an enrollment link): the API's
    # resource policy denies it to sessions without MFA (policies.api_resource_policy).
    needs_mfa: bool = False

    def __post_init__(self) -> None:
        if (self.auth is Auth.PUBLIC) != (self.why_public is not None):
            raise ValueError(
                f"{self.method} {self.path}: a public route, and only a public "
                "route, says why it is public"
            )
        if self.needs_mfa and self.auth is not Auth.SIGV4:
            raise ValueError(f"{self.method} {self.path}: only a SigV4 route can need MFA")
        public_write = self.auth is Auth.PUBLIC and self.method != "GET"
        if public_write != (self.throttle is Throttle.PUBLIC_WRITE):
            raise ValueError(
                f"{self.method} {self.path}: the unsigned state-changing routes, and only "
                "they, are throttled as public writes"
            )

    @property
    def url_path(self) -> str:
        """The path clients send, with the stage: ``/v1/registration/options``."""
        return STAGE_PREFIX + self.path

    def url(self, **parameters: str) -> str:
        """``url_path`` with each ``{name}`` replaced by its percent-encoded value."""

        def value(match: re.Match[str]) -> str:
            return urllib.parse.quote(parameters[match.group("name")], safe="")

        return _PARAMETER.sub(value, self.url_path)

    @property
    def resolver_path(self) -> str:
        """The path as Powertools' resolver registers it: ``{credentialId}`` becomes
        ``<credential_id>`` (a handler's keyword argument), ``{proxy+}`` ``<proxy>``."""
        return _PARAMETER.sub(lambda m: f"<{_snake(m.group('name'))}>", self.path)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# A first key, or any key: the resource policy admits only MFA sessions (and Identity Center's).
REGISTRATION_OPTIONS = Route("POST", "/registration/options", Auth.SIGV4, needs_mfa=True)
REGISTRATION_VERIFY = Route(
    "POST", "/registration/verify", Auth.SIGV4, body_model=CEREMONY_ANSWER, needs_mfa=True
)
# A further key: the step-up assertion from an existing key is the proof, so no MFA session.
REGISTRATION_STEP_UP_OPTIONS = Route("POST", "/registration/step-up/options", Auth.SIGV4)
REGISTRATION_STEP_UP_VERIFY = Route(
    "POST", "/registration/step-up/verify", Auth.SIGV4, body_model=CEREMONY_ANSWER
)
AUTHENTICATION_OPTIONS = Route("POST", "/authentication/options", Auth.SIGV4)
AUTHENTICATION_VERIFY = Route(
    "POST", "/authentication/verify", Auth.SIGV4, body_model=CEREMONY_ANSWER
)
CREDENTIALS = Route("GET", "/credentials", Auth.SIGV4)
CREDENTIAL_DELETE = Route(
    "DELETE", "/credentials/{credentialId}", Auth.SIGV4, body_model=CEREMONY_ANSWER
)
ROLES = Route("GET", "/roles", Auth.SIGV4)
ENROLLMENTS = Route("POST", "/enrollments", Auth.SIGV4, needs_mfa=True)
ENROLLMENT_OPTIONS = Route(
    "POST",
    "/enrollment/options",
    Auth.PUBLIC,
    Throttle.PUBLIC_WRITE,
    why_public=WHY_ENROLLMENT_LINK,
)
ENROLLMENT_VERIFY = Route(
    "POST",
    "/enrollment/verify",
    Auth.PUBLIC,
    Throttle.PUBLIC_WRITE,
    why_public=WHY_ENROLLMENT_LINK,
    body_model=CEREMONY_ANSWER,
)
PASSKEY_OPTIONS = Route(
    "POST",
    "/passkey/options",
    Auth.PUBLIC,
    Throttle.PUBLIC_WRITE,
    why_public=WHY_PASSKEY_OPTIONS,
)
PASSKEY_VERIFY = Route(
    "POST",
    "/passkey/verify",
    Auth.PUBLIC,
    Throttle.PUBLIC_WRITE,
    why_public=WHY_PASSKEY_ASSERTION,
    body_model=CEREMONY_ANSWER,
)
PASSKEY_CREDENTIALS_LIST = Route(
    "POST",
    "/passkey/credentials/list",
    Auth.PUBLIC,
    Throttle.PUBLIC_WRITE,
    why_public=WHY_PASSKEY_ASSERTION,
    body_model=CEREMONY_ANSWER,
)
PASSKEY_CREDENTIAL_DELETE = Route(
    "DELETE",
    "/passkey/credentials/{credentialId}",
    Auth.PUBLIC,
    Throttle.PUBLIC_WRITE,
    why_public=WHY_PASSKEY_ASSERTION,
    body_model=CEREMONY_ANSWER,
)
# Admin routes: SigV4, and the broker answers 403 unless the caller is in `admins`. Every one
# that changes state needs a fresh assertion from the admin's own key (ADMIN_OPTIONS).
ADMIN_OPTIONS = Route("POST", "/admin/options", Auth.SIGV4)
ADMIN_USER_CREDENTIALS = Route("GET", "/admin/users/{userName}/credentials", Auth.SIGV4)
ADMIN_USER_CREDENTIALS_REVOKE = Route(
    "DELETE", "/admin/users/{userName}/credentials", Auth.SIGV4, body_model=CEREMONY_ANSWER
)
ADMIN_USER_CREDENTIAL_REVOKE = Route(
    "DELETE",
    "/admin/users/{userName}/credentials/{credentialId}",
    Auth.SIGV4,
    body_model=CEREMONY_ANSWER,
)
ADMIN_REPORT = Route("GET", "/admin/report", Auth.SIGV4)
ADMIN_ROUTES = (
    ADMIN_OPTIONS,
    ADMIN_USER_CREDENTIALS,
    ADMIN_USER_CREDENTIALS_REVOKE,
    ADMIN_USER_CREDENTIAL_REVOKE,
    ADMIN_REPORT,
)
# The audit trail: an admin reads everyone's events, any other caller only their own.
ADMIN_EVENTS = Route("GET", "/admin/events", Auth.SIGV4)
# Browser sign-in for the CLI: the page trades an assertion for a code, the CLI the code
# and its PKCE verifier for the role's credentials (docs/design.md, "Browser sign-in").
PASSKEY_CODE = Route(
    "POST",
    "/passkey/code",
    Auth.PUBLIC,
    Throttle.PUBLIC_WRITE,
    why_public=WHY_PASSKEY_CODE,
    body_model=CEREMONY_ANSWER,
)
PASSKEY_TOKEN = Route(
    "POST",
    "/passkey/token",
    Auth.PUBLIC,
    Throttle.PUBLIC_WRITE,
    why_public=WHY_PASSKEY_EXCHANGE,
)
CONFIG = Route("GET", "/config", Auth.PUBLIC, why_public=WHY_CONFIG)
OPENAPI_DOCUMENT = Route("GET", "/openapi.json", Auth.PUBLIC, why_public=WHY_DOCUMENT)
PAGE = Route("GET", "/", Auth.PUBLIC, why_public=WHY_PAGE)
ENROLL_PAGE = Route("GET", "/enroll", Auth.PUBLIC, why_public=WHY_PAGE)
STATIC_FILE = Route("GET", "/static/{proxy+}", Auth.PUBLIC, why_public=WHY_PAGE)

ROUTES: tuple[Route, ...] = (
    REGISTRATION_OPTIONS,
    REGISTRATION_VERIFY,
    REGISTRATION_STEP_UP_OPTIONS,
    REGISTRATION_STEP_UP_VERIFY,
    AUTHENTICATION_OPTIONS,
    AUTHENTICATION_VERIFY,
    CREDENTIALS,
    CREDENTIAL_DELETE,
    ROLES,
    ENROLLMENTS,
    ENROLLMENT_OPTIONS,
    ENROLLMENT_VERIFY,
    PASSKEY_OPTIONS,
    PASSKEY_VERIFY,
    PASSKEY_CREDENTIALS_LIST,
    PASSKEY_CREDENTIAL_DELETE,
    *ADMIN_ROUTES,
    ADMIN_EVENTS,
    PASSKEY_CODE,
    PASSKEY_TOKEN,
    CONFIG,
    OPENAPI_DOCUMENT,
    PAGE,
    ENROLL_PAGE,
    STATIC_FILE,
)


def public_write_prefixes(routes: tuple[Route, ...] = ROUTES) -> tuple[str, ...]:
    """The URI path prefixes (``/v1/passkey/``, ...) under which every public-write route
    lies, as clients send them: the stage is the first segment both on execute-api and on a
    custom domain (base path ``v1``). The stack's strict per-IP WAF rule and local mode's
    token bucket match these; no other route may fall under one."""
    prefixes: set[str] = set()
    for route in routes:
        if route.throttle is Throttle.PUBLIC_WRITE:
            segments = route.path.split("/")
            if len(segments) < 3:
                raise ValueError(
                    f"{route.method} {route.path}: a public write route needs a "
                    "path of its own under a prefix (/passkey/..., /enrollment/...)"
                )
            prefixes.add(f"{STAGE_PREFIX}/{segments[1]}/")
    for route in routes:
        if route.throttle is not Throttle.PUBLIC_WRITE and route.url_path.startswith(
            tuple(prefixes)
        ):
            raise ValueError(
                f"{route.method} {route.path} would fall under the per-IP rule of the "
                "unauthenticated routes"
            )
    return tuple(sorted(prefixes))


def _pattern(template: str) -> re.Pattern[str]:
    if template == "/":
        return re.compile("^/$")
    parts = []
    for segment in template.strip("/").split("/"):
        parameter = _PARAMETER.fullmatch(segment)
        if parameter is None:
            parts.append(re.escape(segment))
        elif parameter.group("greedy"):
            parts.append(".+")  # a greedy proxy: one or more segments
        else:
            parts.append("[^/]+")
    return re.compile("^/" + "/".join(parts) + "$")


_COMPILED = tuple((route, _pattern(route.path)) for route in ROUTES)


def match(method: str, path: str) -> Route | None:
    """The route for ``method`` and a path under the stage (``/credentials/abc``), as API
    Gateway picks it; None when no route has that method and path."""
    for route, pattern in _COMPILED:
        if route.method == method and pattern.match(path):
            return route
    return None
