"""The local gateway's route table: the same methods, paths and authorization as the stack.

API Gateway authorizes per method and cannot make SigV4 optional, so a route is either
``SIGV4`` (AWS_IAM) or ``NONE`` (open at the gateway; the handler authenticates with an
enrollment token or a WebAuthn assertion). ``stacks/api.py`` holds the deployed table;
``tests/infrastructure`` checks that both list the same routes.
"""

from __future__ import annotations

import enum
import re

API_PREFIX = "/v1"


class RouteAuth(enum.Enum):
    """How a route is authorized at the gateway, before the handler runs."""

    SIGV4 = "sigv4"  # AWS_IAM: a valid signature or 403; the signer is the caller
    NONE = "none"  # open: no identity reaches the handler, even if the request is signed


SIGV4, NONE = RouteAuth.SIGV4, RouteAuth.NONE

# (method, path under the stage, authorization), as in stacks/api.py ROUTES.
ROUTES: tuple[tuple[str, str, RouteAuth], ...] = (
    ("POST", "/registration/options", SIGV4),
    ("POST", "/registration/verify", SIGV4),
    ("POST", "/registration/step-up/options", SIGV4),
    ("POST", "/registration/step-up/verify", SIGV4),
    ("POST", "/authentication/options", SIGV4),
    ("POST", "/authentication/verify", SIGV4),
    ("GET", "/credentials", SIGV4),
    ("DELETE", "/credentials/{credentialId}", SIGV4),
    ("GET", "/roles", SIGV4),
    ("POST", "/enrollments", SIGV4),
    ("POST", "/enrollment/options", NONE),
    ("POST", "/enrollment/verify", NONE),
    ("POST", "/passkey/options", NONE),
    ("POST", "/passkey/verify", NONE),
    ("POST", "/passkey/credentials/list", NONE),
    ("DELETE", "/passkey/credentials/{credentialId}", NONE),
    ("GET", "/config", NONE),
    ("GET", "/", NONE),
    ("GET", "/enroll", NONE),
    ("GET", "/static/{proxy+}", NONE),
)


# Where the unsigned, state-changing routes live: the per-IP token bucket covers these,
# as the stack's strict WAF rule covers its ``public_write_prefixes``.
THROTTLED_PREFIXES = tuple(
    sorted(
        {
            f"{API_PREFIX}/{path.split('/')[1]}/"
            for method, path, auth in ROUTES
            if auth is NONE and method != "GET"
        }
    )
)


def _pattern(template: str) -> re.Pattern[str]:
    parts = []
    for segment in template.strip("/").split("/"):
        if segment.endswith("+}"):
            parts.append(".+")  # a greedy proxy: one or more segments
        elif segment.startswith("{"):
            parts.append("[^/]+")
        else:
            parts.append(re.escape(segment))
    return re.compile("^/" + "/".join(parts) + "$") if template != "/" else re.compile("^/$")


_COMPILED = tuple((method, _pattern(path), auth) for method, path, auth in ROUTES)


def route_auth(method: str, path: str) -> RouteAuth | None:
    """The authorization of ``method path``, or None outside the stage (404).

    A path under the stage that no route matches is treated like API Gateway does: it
    needs a signature (unsigned: 403), and a signed one reaches the handler's 404.
    """
    if path != API_PREFIX and not path.startswith(API_PREFIX + "/"):
        return None
    relative = path[len(API_PREFIX) :] or "/"
    for route_method, pattern, auth in _COMPILED:
        if route_method == method and pattern.match(relative):
            return auth
    return SIGV4
