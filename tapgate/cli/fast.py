"""The cache-hit path of `tapgate credentials`, before argparse is even imported.

`credential_process` runs before every AWS CLI call, so a cache hit must cost
little more than starting Python. This parses only plain ``--flag VALUE``,
``--flag=VALUE`` options that `credentials` knows (and the ``--browser`` and
``--no-open`` flags), and only answers when the cache has fresh credentials for
them. Anything else — help, an unknown or malformed option, ``--no-cache``,
``--no-open`` without ``--browser``, an API URL that only the AWS profile or the
local state file names, a miss — returns None and the full parser takes over,
which also produces every error message. So this path can only say "here are
the cached credentials", never anything the slow path would not.
"""

from __future__ import annotations

import os
import sys

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
# Flags without a value; --browser keys the cache (a browser sign-in's identity).
FLAG_OPTIONS = {"--browser": "browser", "--no-open": "no_open"}


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
        if word in FLAG_OPTIONS:
            if FLAG_OPTIONS[word] in values:
                return None
            values[FLAG_OPTIONS[word]] = "1"
            index += 1
            continue
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
    if "no_open" in values and "browser" not in values:
        return None  # the full parser says it goes with --browser
    return values if "role" in values else None


def cached_credentials(argv: Sequence[str], environ: Mapping[str, str]) -> str | None:
    """The cached credential_process JSON for ``tapgate credentials ARGV``, or None."""
    from tapgate.cli import cached, context  # noqa: PLC0415
    from tapgate.cli.errors import CliError  # noqa: PLC0415

    values = parse(argv)
    if values is None:
        return None
    api_url = values.get("api_url") or environ.get(context.ENV_API_URL)
    if not api_url:
        return None
    try:
        entry = cached.entry_for(
            _Options(values),  # type: ignore[arg-type]
            api_url=api_url,
            environ=environ,
            duration=_number(values.get("duration")),
            min_remaining=_number(values.get("min_remaining")),
        )
    except (ValueError, CliError):
        return None  # the full parser says what is wrong
    return entry.read()


def _number(text: str | None) -> int | None:
    return None if text is None else int(text)


def serve(argv: Sequence[str]) -> bool:
    """Print cached credentials and return True, or return False and print nothing."""
    text = cached_credentials(argv, os.environ)
    if text is None:
        return False
    sys.stdout.write(text.rstrip("\n") + "\n")
    sys.stdout.flush()
    return True
