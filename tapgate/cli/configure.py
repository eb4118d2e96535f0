"""`tapgate configure`: put the ``credential_process`` line into an AWS config profile.

The file is edited line by line, not through configparser, so comments, order,
spacing and every other profile stay exactly as they were. Only the one
``credential_process`` line of the named profile is added or replaced, and the
file is replaced atomically with its permissions kept.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence

from tapgate.cli.credentials import check_role_arn
from tapgate.cli.errors import CliError, UsageError

_SECTION = re.compile(r"^\s*\[\s*(?P<name>[^\]]+?)\s*\]\s*(?:[#;].*)?$")
_KEY = re.compile(r"^\s*credential_process\s*[=:]")
_PROFILE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile",
        dest="gated_profile",
        required=True,
        metavar="NAME",
        help="the AWS profile to write (it will run `tapgate credentials`)",
    )
    parser.add_argument(
        "--base-profile",
        metavar="NAME",
        help="the profile whose credentials sign tapgate requests (default: the usual chain)",
    )
    parser.add_argument("--role", required=True, metavar="ARN", help="the gated role's ARN")
    parser.add_argument("--duration", type=int, metavar="SECONDS", help="session length")
    parser.add_argument(
        "--config-file",
        metavar="PATH",
        help="the AWS config file (default: $AWS_CONFIG_FILE or ~/.aws/config)",
    )


def section_name(profile: str) -> str:
    return "default" if profile == "default" else f"profile {profile}"


def set_credential_process(text: str, *, profile: str, command: str) -> str:
    """``text`` with the profile's ``credential_process`` set to ``command``; nothing else moves."""
    target = section_name(profile)
    line = f"credential_process = {command}"
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    start = None
    for index, current in enumerate(lines):
        match = _SECTION.match(current)
        if match and " ".join(match.group("name").split()) == target:
            start = index
            break
    if start is None:
        prefix = text
        if prefix and not prefix.endswith(("\n", "\r")):
            prefix += newline
        if prefix.strip():
            prefix += newline
        return f"{prefix}[{target}]{newline}{line}{newline}"
    end = len(lines)
    for index in range(start + 1, len(lines)):
        if _SECTION.match(lines[index]):
            end = index
            break
    for index in range(start + 1, end):
        if _KEY.match(lines[index]):
            ending = newline if lines[index].endswith(("\n", "\r")) else ""
            lines[index] = line + ending
            return "".join(lines)
    # Insert after the section's last non-blank line, so blank separators stay put.
    insert_at = start + 1
    for index in range(start + 1, end):
        if lines[index].strip():
            insert_at = index + 1
    if insert_at > 0 and not lines[insert_at - 1].endswith(("\n", "\r")):
        lines[insert_at - 1] += newline
    lines.insert(insert_at, line + newline)
    return "".join(lines)


def tapgate_command() -> list[str]:
    """How to run this tapgate again: its console script, or ``python -m tapgate.cli.main``."""
    script = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if os.path.basename(script) in ("tapgate", "tapgate.exe") and os.path.exists(script):
        return [script]
    return [sys.executable, "-m", "tapgate.cli.main"]


def credentials_command(args: argparse.Namespace) -> list[str]:
    words = [*tapgate_command(), "credentials", "--role", check_role_arn(args.role)]
    options: Sequence[tuple[str, object]] = (
        ("--api-url", args.api_url),
        ("--authenticator", args.authenticator),
        ("--profile", args.base_profile),
        ("--api-region", args.api_region),
        ("--state-file", args.state_file),
        ("--duration", args.duration),
    )
    for flag, value in options:
        if value is not None:
            words += [flag, str(value)]
    return words


def run(args: argparse.Namespace) -> int:
    if not _PROFILE_NAME.match(args.gated_profile):
        raise UsageError(f"--profile {args.gated_profile!r} is not a usable profile name")
    if args.base_profile and args.base_profile == args.gated_profile:
        # The base identity would be the profile that runs tapgate: an endless loop.
        raise UsageError("--base-profile must differ from --profile")
    if args.authenticator and args.authenticator.startswith("soft:"):
        args.authenticator = "soft:" + os.path.abspath(args.authenticator[len("soft:") :])
    if args.state_file:
        args.state_file = os.path.abspath(args.state_file)
    import shlex  # noqa: PLC0415

    command = shlex.join(credentials_command(args))
    path = os.path.realpath(  # a symlinked config file is edited where it lives
        os.path.expanduser(args.config_file or os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config")
    )
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            text = handle.read()
        mode = os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        text, mode = "", 0o600
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from exc
    updated = set_credential_process(text, profile=args.gated_profile, command=command)
    try:
        _replace(path, updated, mode=mode)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc}") from exc
    print(f"Profile {args.gated_profile} in {path} now runs: {command}")
    print(f"Try: aws sts get-caller-identity --profile {args.gated_profile}")
    return 0


def _replace(path: str, text: str, *, mode: int) -> None:
    from tapgate.files import write_atomically  # noqa: PLC0415

    os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
    write_atomically(path, text.encode("utf-8"), mode=mode)
