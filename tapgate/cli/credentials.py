"""`tapgate credentials`: the AWS CLI/SDK ``credential_process`` command.

stdout carries exactly one JSON document (``Version``, ``AccessKeyId``,
``SecretAccessKey``, ``SessionToken``, ``Expiration``) and nothing else; prompts go
to the terminal and errors to stderr. A cache hit is served with the stdlib
alone: botocore and fido2 are imported only when a ceremony is needed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from datetime import UTC
from typing import Any

from tapgate.cache import DEFAULT_MIN_REMAINING_SECONDS, parse_expiration
from tapgate.cli import cached, context
from tapgate.cli.errors import CliError, UsageError

OUTPUT_FIELDS = ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--role", required=True, metavar="ARN", help="the gated role's ARN")
    parser.add_argument(
        "--duration",
        type=int,
        metavar="SECONDS",
        help=f"session length ({cached.SESSION_SECONDS_MIN}..{cached.SESSION_SECONDS_MAX}, "
        "and at most the role's maximum; default: the role's maximum)",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="always touch the key (the fresh credentials still replace the cached ones)",
    )
    parser.add_argument(
        "--min-remaining",
        type=int,
        metavar="SECONDS",
        help=(
            "reuse cached credentials only while more than this is left "
            f"(default {DEFAULT_MIN_REMAINING_SECONDS}, or ${cached.ENV_MIN_REMAINING})"
        ),
    )

    parser.add_argument(
        "--browser",
        action="store_true",
        help="sign in with any passkey through the browser (Touch ID, Windows Hello, a phone); "
        "no base AWS credentials needed",
    )
    parser.add_argument(
        "--no-open",
        action="store_true",
        help="with --browser: print the sign-in address on stderr instead of opening a browser",
    )


def check_role_arn(value: str) -> str:
    if not ROLE_ARN.match(value):
        raise UsageError(f"--role must be an IAM role ARN, not {value!r}")
    return value


def cached_text(args: argparse.Namespace, *, use_cache: bool) -> str:
    """The role's credential_process JSON: from the cache while fresh, else after one touch
    (one for all the processes that ask at the same time)."""
    from tapgate.locks import LockTimeoutError  # noqa: PLC0415
    from tapgate.providers import CachedProvider  # noqa: PLC0415

    environ = os.environ
    role_arn = check_role_arn(args.role)
    url = context.api_url(args, environ)
    duration = getattr(args, "duration", None)
    entry = cached.entry_for(
        args,
        api_url=url,
        environ=environ,
        duration=duration,
        min_remaining=getattr(args, "min_remaining", None),
    )
    if getattr(args, "no_open", False) and not getattr(args, "browser", False):
        raise UsageError("--no-open goes with --browser")
    source = (
        browser_source(args, api_url=url, role_arn=role_arn, duration=duration)
        if getattr(args, "browser", False)
        else key_ceremony(args, api_url=url, role_arn=role_arn, duration=duration)
    )
    provider = CachedProvider(
        source,
        entry=entry,
        use_cache=use_cache,
        on_wait=_tell_waiting,
    )
    try:
        return provider.retrieve()
    except LockTimeoutError as exc:
        raise CliError(str(exc)) from exc


def key_ceremony(
    args: argparse.Namespace, *, api_url: str, role_arn: str, duration: int | None
) -> Callable[[], dict[str, Any]]:
    """The source that asks the security key: options, one touch, verify."""

    def fetch() -> dict[str, Any]:
        from tapgate.cli import ceremony  # noqa: PLC0415  (botocore and fido2 from here on)

        session = ceremony.open_session(args, api_url=api_url)
        issued = ceremony.role_credentials(session, role_arn=role_arn, duration_seconds=duration)
        return process_document(issued)

    return fetch


def browser_source(
    args: argparse.Namespace, *, api_url: str, role_arn: str, duration: int | None
) -> Callable[[], dict[str, Any]]:
    """The source that signs in through the browser: any passkey, PKCE, loopback callback."""

    def fetch() -> dict[str, Any]:
        from tapgate import tty  # noqa: PLC0415
        from tapgate.browser_sign_in import BrowserSignInError, Pkce, sign_in  # noqa: PLC0415
        from tapgate.client.api import TapgateApi  # noqa: PLC0415

        environ = os.environ
        unreachable = None
        if context.local_state_for(api_url, args, environ) is not None:
            state_file = os.path.abspath(context.state_file_path(args, environ))
            unreachable = context.local_mode_not_running(api_url, state_file)
        else:
            context.check_local_mode_running(api_url, args, environ)
        api = TapgateApi(
            api_url=api_url, region="", credentials=None, unreachable_message=unreachable
        )

        def exchange(code: str, pkce: Pkce, port: int) -> dict[str, Any]:
            return api.exchange_code(
                code=code, verifier=pkce.verifier, port=port, duration_seconds=duration
            )

        try:
            issued = sign_in(
                api_url=api_url,
                role_arn=role_arn,
                open_browser=not getattr(args, "no_open", False),
                say=tty.announce,
                exchange=exchange,
            )
        except BrowserSignInError as exc:
            raise CliError(str(exc)) from exc
        return process_document(issued)

    return fetch


def _tell_waiting(holder: int | None) -> None:
    from tapgate import tty  # noqa: PLC0415

    who = f"another tapgate (pid {holder})" if holder else "another tapgate"
    tty.say(f"Waiting for {who}: one touch of the key will serve both.")


def cached_or_fresh(args: argparse.Namespace, *, use_cache: bool) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(cached_text(args, use_cache=use_cache))
    return document


def process_document(issued: Mapping[str, Any]) -> dict[str, Any]:
    """The credential_process JSON, checked: four strings and a parseable expiry."""
    if not all(isinstance(issued.get(name), str) and issued.get(name) for name in OUTPUT_FIELDS):
        raise CliError("the tapgate API answered without the credentials it documents")
    expiration = parse_expiration(issued["Expiration"])
    if expiration is None:
        raise CliError("the tapgate API answered an Expiration that is not an ISO 8601 time")
    document = {"Version": 1, **{name: issued[name] for name in OUTPUT_FIELDS}}
    document["Expiration"] = expiration.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return document


def run(args: argparse.Namespace) -> int:
    emit(cached_text(args, use_cache=not args.no_cache))
    return 0


def emit(text: str) -> None:
    """The one thing credential_process writes to stdout."""
    sys.stdout.write(text.rstrip("\n") + "\n")
    sys.stdout.flush()
