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
import time
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from tapgate.cache import (
    DEFAULT_MIN_REMAINING_SECONDS,
    CredentialCache,
    cache_key,
    parse_expiration,
)
from tapgate.cache import default_directory as default_cache_directory
from tapgate.cli import context
from tapgate.cli.errors import CliError, UsageError
from tapgate_contract.limits import MIN_SESSION_SECONDS

ENV_MIN_REMAINING = "TAPGATE_CACHE_MIN_REMAINING"
OUTPUT_FIELDS = ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--role", required=True, metavar="ARN", help="the gated role's ARN")
    parser.add_argument(
        "--duration",
        type=int,
        metavar="SECONDS",
        help=(
            f"session length ({MIN_SESSION_SECONDS} to the role's maximum; "
            "default: the role's maximum)"
        ),
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
            f"(default {DEFAULT_MIN_REMAINING_SECONDS}, or ${ENV_MIN_REMAINING})"
        ),
    )


def check_role_arn(value: str) -> str:
    if not ROLE_ARN.match(value):
        raise UsageError(f"--role must be an IAM role ARN, not {value!r}")
    return value


def credential_cache(args: argparse.Namespace, environ: Mapping[str, str]) -> CredentialCache:
    raw = getattr(args, "min_remaining", None)
    if raw is None:
        text = environ.get(ENV_MIN_REMAINING)
        try:
            raw = int(text) if text else DEFAULT_MIN_REMAINING_SECONDS
        except ValueError as exc:
            raise UsageError(f"{ENV_MIN_REMAINING} must be a number of seconds") from exc
    if raw < 0:
        raise UsageError("--min-remaining must not be negative")
    return CredentialCache(
        default_cache_directory(environ), clock=time.time, min_remaining_seconds=raw
    )


def cached_text(args: argparse.Namespace, *, use_cache: bool) -> str:
    """The role's credential_process JSON: from the cache while fresh, else after one touch."""
    environ = os.environ
    role_arn = check_role_arn(args.role)
    duration = getattr(args, "duration", None)
    if duration is not None and duration < MIN_SESSION_SECONDS:
        raise UsageError(f"--duration must be at least {MIN_SESSION_SECONDS} seconds")
    url = context.api_url(args, environ)
    store = credential_cache(args, environ)
    key = cache_key(api_url=url, role_arn=role_arn, identity=context.base_identity(args, environ))
    if use_cache:
        hit = store.get_text(key)
        if hit is not None:
            return hit
    from tapgate.cli import ceremony  # noqa: PLC0415  (botocore and fido2 from here on)

    session = ceremony.open_session(args, api_url=url)
    issued = ceremony.role_credentials(session, role_arn=role_arn, duration_seconds=duration)
    document = process_document(issued)
    store.put(key, document)
    return json.dumps(document)


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
