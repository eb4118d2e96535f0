"""Which cache entry `tapgate credentials` reads and writes, and the checks that come first.

One place for both paths: the fast path (tapgate.cli.fast, before argparse) and the
full command resolve the entry and check ``--duration`` and ``--min-remaining`` here,
so a cache hit can never answer what the full command would refuse. Stdlib only.
"""

from __future__ import annotations

import time

from tapgate.cache import DEFAULT_MIN_REMAINING_SECONDS, CacheEntry, CredentialCache, cache_key
from tapgate.cache import default_directory as default_cache_directory
from tapgate.cli import context
from tapgate.cli.errors import UsageError
from tapgate_contract.limits import MAX_SESSION_SECONDS, MIN_SESSION_SECONDS

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping

BROWSER_IDENTITY = "browser"
ENV_MIN_REMAINING = "TAPGATE_CACHE_MIN_REMAINING"
# The session lengths STS grants here (the contract's limits).
SESSION_SECONDS_MIN, SESSION_SECONDS_MAX = MIN_SESSION_SECONDS, MAX_SESSION_SECONDS


def check_duration(duration: int | None) -> None:
    if duration is not None and not SESSION_SECONDS_MIN <= duration <= SESSION_SECONDS_MAX:
        raise UsageError(
            f"--duration must be {SESSION_SECONDS_MIN}..{SESSION_SECONDS_MAX} seconds "
            f"(a role assumed by the broker lasts at most an hour), not {duration}"
        )


def min_remaining_seconds(given: int | None, environ: Mapping[str, str]) -> int:
    """``--min-remaining``, else $TAPGATE_CACHE_MIN_REMAINING, else botocore's 15 minutes."""
    if given is None:
        text = environ.get(ENV_MIN_REMAINING)
        try:
            given = int(text) if text else DEFAULT_MIN_REMAINING_SECONDS
        except ValueError as exc:
            raise UsageError(f"{ENV_MIN_REMAINING} must be a number of seconds") from exc
    if given < 0:
        raise UsageError("--min-remaining must not be negative")
    return given


def entry_for(
    options: argparse.Namespace,
    *,
    api_url: str,
    environ: Mapping[str, str],
    duration: int | None,
    min_remaining: int | None,
) -> CacheEntry:
    """The cache entry for ``options`` (role, base profile) at ``api_url``, after the checks
    that must hold whether or not the cache answers. Raises UsageError."""
    check_duration(duration)
    store = CredentialCache(
        default_cache_directory(environ),
        clock=time.time,
        min_remaining_seconds=min_remaining_seconds(min_remaining, environ),
    )
    key = cache_key(
        api_url=context.normalize_api_url(api_url),
        role_arn=str(options.role),
        # A browser sign-in needs no base identity: whoever's passkey answers. Its entries
        # are kept apart from every profile's.
        identity=(
            BROWSER_IDENTITY
            if getattr(options, "browser", False)
            else context.base_identity(options, environ)
        ),
    )
    return CacheEntry(store, key)
