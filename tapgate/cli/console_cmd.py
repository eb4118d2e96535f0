"""`tapgate console`: an AWS console sign-in URL for a gated role, from one touch.

Uses the same cached credentials as `tapgate credentials` when they are fresh.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from tapgate.cli import context
from tapgate.cli.credentials import cached_or_fresh
from tapgate.cli.credentials import configure_parser as configure_credentials
from tapgate.cli.errors import CliError, UsageError


def configure_parser(parser: argparse.ArgumentParser) -> None:
    configure_credentials(parser)
    parser.add_argument("--stdout", action="store_true", help="print the URL, open no browser")
    parser.add_argument("--region", metavar="REGION", help="the console's region")
    parser.add_argument("--destination", metavar="PATH", help="console path, e.g. /s3/home")
    parser.add_argument(
        "--session-duration",
        type=int,
        metavar="SECONDS",
        help="console session length (900..43200; the federation endpoint's default if unset)",
    )
    parser.add_argument(
        "--federation-endpoint",
        metavar="URL",
        help=f"local mode only: another federation endpoint (or ${context.ENV_FEDERATION_URL})",
    )


def federation_endpoint(args: argparse.Namespace, *, partition: Any) -> str:
    """Where the session credentials go to become a sign-in token: the partition's AWS
    federation endpoint, or — for local mode's API — its stand-in, never AWS.

    Local mode is its state file's API, or any API on this machine or over plain http
    (local mode run from elsewhere): its credentials mean nothing to AWS and must not
    reach it. ``--federation-endpoint`` may point elsewhere in local mode only.
    """
    from tapgate.local.federation import PATH as STAND_IN_PATH  # noqa: PLC0415

    environ = os.environ
    url = context.api_url(args, environ)
    local = context.local_state_for(url, args, environ) is not None or _on_this_machine(url)
    override = args.federation_endpoint or environ.get(context.ENV_FEDERATION_URL)
    if override and not local:
        # The endpoint receives the session credentials: only local mode may redirect it.
        raise UsageError("--federation-endpoint is allowed only in local mode")
    if local:
        return str(override or url + STAND_IN_PATH)
    return str(partition.federation_endpoint)


def _on_this_machine(url: str) -> bool:
    import ipaddress  # noqa: PLC0415
    import urllib.parse  # noqa: PLC0415

    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme == "http" or host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    from tapgate import console  # noqa: PLC0415

    try:
        partition = console.partition_of(args.role)
    except ValueError as exc:
        raise UsageError(f"--role: {exc}") from exc
    duration = args.session_duration
    if duration is not None and not (
        console.SESSION_DURATION_MIN <= duration <= console.SESSION_DURATION_MAX
    ):  # before the touch, not after it
        raise UsageError(
            f"--session-duration must be {console.SESSION_DURATION_MIN}.."
            f"{console.SESSION_DURATION_MAX} seconds"
        )
    endpoint = federation_endpoint(args, partition=partition)
    url = context.api_url(args, os.environ)
    credentials = cached_or_fresh(args, use_cache=not args.no_cache)
    try:
        token_url = console.signin_token_request_url(
            credentials, endpoint=endpoint, session_duration=args.session_duration
        )
        token = console.fetch_signin_token(token_url)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    except console.ConsoleError as exc:
        raise CliError(str(exc)) from exc
    sign_in = console.login_url(
        endpoint=endpoint,
        signin_token=token,
        issuer=url,
        destination=console.destination_url(partition, region=args.region, path=args.destination),
    )
    if args.stdout:
        print(sign_in)
        return 0
    import webbrowser  # noqa: PLC0415

    if not webbrowser.open(sign_in):
        print(sign_in)
    return 0
