"""The local gateway's matcher over the contract's route table (``tapgate_contract.routes``).

The table is the one the stack deploys; this module only answers what API Gateway answers
before the Lambda runs: does ``method path`` need a signature, and which paths are the
per-IP throttled ones.
"""

from __future__ import annotations

import enum

from tapgate_contract.routes import STAGE_PREFIX, Auth, match, public_write_prefixes

API_PREFIX = STAGE_PREFIX


class RouteAuth(enum.Enum):
    """API Gateway's authorization type of a method, as the gateway enforces it."""

    SIGV4 = "sigv4"  # AWS_IAM: a valid signature or 403; the signer is the caller
    NONE = "none"  # open: no identity reaches the handler, even if the request is signed


_GATEWAY_AUTH = {Auth.SIGV4: RouteAuth.SIGV4, Auth.PUBLIC: RouteAuth.NONE}

# Where the unsigned, state-changing routes live: the per-IP token bucket covers these,
# as the stack's strict WAF rule does.
THROTTLED_PREFIXES = public_write_prefixes()


def route_auth(method: str, path: str) -> RouteAuth | None:
    """The authorization of ``method path``, or None outside the stage (404).

    A path under the stage that no route matches is treated like API Gateway does: it
    needs a signature (unsigned: 403), and a signed one reaches the handler's 404.
    """
    if path != API_PREFIX and not path.startswith(API_PREFIX + "/"):
        return None
    route = match(method, path[len(API_PREFIX) :] or "/")
    return RouteAuth.SIGV4 if route is None else _GATEWAY_AUTH[route.auth]
