"""The cache-hit path of `tapgate credentials`, before argparse is even imported.

`credential_process` runs before every AWS CLI call, so a cache hit must cost
little more than starting Python. This parses only plain ``--flag VALUE``,
``--flag=VALUE`` options that `credentials` knows, and only answers when the
cache has fresh credentials for them. Anything else — help, an unknown or
malformed option, ``--no-cache``, an API URL that only the AWS profile or the
local state file names, a miss — returns None and the full parser takes over,
which also produces every error message. So this path can only say "here are
the cached credentials", never anything the slow path would not.
"""

from __future__ import annotations

import os
import sys
import time

from tapgate.cache import DEFAULT_MIN_REMAINING_SECONDS, CredentialCache, cache_key
from tapgate.cache import default_directory as default_cache_directory

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

VALUE_OPTIONS = {
    "--api-url": "api_url",
    "--authenticator": "authenticator",
    "--profile": "profile",
    "--api-region": "api_region",
    "--state-file": "state_file",
    "--role": "role",
    "--duration": "duration",
    "--min-remaining": "min_remaining",
}
ENV_MIN_REMAINING = "TAPGATE_CACHE_MIN_REMAINING"  # same as tapgate.cli.credentials


class _Options:
    """Just enough of an argparse.Namespace for tapgate.cli.context."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> None:
        return None


def parse(argv: Sequence[str]) -> dict[str, str] | None:
    values: dict[str, str] = {}
    index = 0
    while index < len(argv):
        word = argv[index]
        flag, equals, inline = word.partition("=")
        name = VALUE_OPTIONS.get(flag)
        if name is None or name in values:
            return None
        if equals:
            value = inline
        else:
            index += 1
            if index >= len(argv):
                return None
            value = argv[index]
        if not value or value.startswith("-"):
            return None
        values[name] = value
        index += 1
    return values if "role" in values else None


def cached_credentials(argv: Sequence[str], environ: Mapping[str, str]) -> str | None:
    """The cached credential_process JSON for ``tapgate credentials ARGV``, or None."""
    from tapgate.cli import context  # noqa: PLC0415

    values = parse(argv)
    if values is None:
        return None
    api_url = values.get("api_url") or environ.get(context.ENV_API_URL)
    if not api_url:
        return None
    raw = values.get("min_remaining") or environ.get(ENV_MIN_REMAINING)
    try:
        min_remaining = int(raw) if raw else DEFAULT_MIN_REMAINING_SECONDS
        if values.get("duration") is not None:
            int(values["duration"])
    except ValueError:
        return None
    if min_remaining < 0:
        return None
    options = _Options(values)
    identity = context.base_identity(options, environ)  # type: ignore[arg-type]
    store = CredentialCache(
        default_cache_directory(environ), clock=time.time, min_remaining_seconds=min_remaining
    )
    key = cache_key(
        api_url=context.normalize_api_url(api_url), role_arn=values["role"], identity=identity
    )
    return store.get_text(key)


def serve(argv: Sequence[str]) -> bool:
    """Print cached credentials and return True, or return False and print nothing."""
    text = cached_credentials(argv, os.environ)
    if text is None:
        return False
    sys.stdout.write(text.rstrip("\n") + "\n")
    sys.stdout.flush()
    return True
