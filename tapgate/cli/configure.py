"""`tapgate configure`: write a profile that runs `tapgate credentials` into the AWS config.

The file is edited line by line, not through configparser, so comments, order,
spacing and every other profile stay exactly as they were. Only the named profile's
``credential_process`` line — and in local mode its ``region`` and ``endpoint_url``,
so the AWS CLI talks to local mode's AWS endpoint — is added or replaced, and the file
is replaced atomically with its permissions kept. The command written names everything
it needs (API URL, authenticator, local mode's state file), so it works from any shell;
an existing profile is changed only after a yes on the terminal, or with ``--force``.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping, Sequence

from tapgate.cli import cached, context
from tapgate.cli.credentials import check_role_arn
from tapgate.cli.errors import CliError, UsageError

_SECTION = re.compile(r"^\s*\[\s*(?P<name>[^\]]+?)\s*\]\s*(?:[#;].*)?$")
_KEY = re.compile(r"^\s*(?P<key>[\w.-]+)\s*[=:]\s*(?P<value>.*?)\s*$")
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
    parser.add_argument(
        "--browser",
        action="store_true",
        help="the profile signs in through the browser with any passkey (no base profile)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace an existing profile's settings without asking",
    )


def section_name(profile: str) -> str:
    return "default" if profile == "default" else f"profile {profile}"


def profile_values(text: str, *, profile: str) -> dict[str, str] | None:
    """The profile's settings as written (None when the file has no such profile)."""
    lines = text.splitlines()
    found = _section(lines, section_name(profile))
    if found is None:
        return None
    start, end = found
    values = {}
    for line in lines[start + 1 : end]:
        match = _KEY.match(line)
        if match and not line.lstrip().startswith(("#", ";")):
            values[match.group("key")] = match.group("value")
    return values


def set_profile_values(text: str, *, profile: str, values: Mapping[str, str]) -> str:
    """``text`` with each of the profile's ``values`` set (replaced or added); nothing else
    moves. A missing profile is appended at the end."""
    for key, value in values.items():
        text = _set_value(text, profile=profile, key=key, value=value)
    return text


def set_credential_process(text: str, *, profile: str, command: str) -> str:
    """``text`` with the profile's ``credential_process`` set to ``command``."""
    return set_profile_values(text, profile=profile, values={"credential_process": command})


def _section(lines: Sequence[str], target: str) -> tuple[int, int] | None:
    """The profile's header line and the index after its last line."""
    for index, current in enumerate(lines):
        match = _SECTION.match(current)
        if match and " ".join(match.group("name").split()) == target:
            end = next(
                (i for i in range(index + 1, len(lines)) if _SECTION.match(lines[i])), len(lines)
            )
            return index, end
    return None


def _set_value(text: str, *, profile: str, key: str, value: str) -> str:
    target = section_name(profile)
    line = f"{key} = {value}"
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    found = _section(lines, target)
    if found is None:
        prefix = text
        if prefix and not prefix.endswith(("\n", "\r")):
            prefix += newline
        if prefix.strip():
            prefix += newline
        return f"{prefix}[{target}]{newline}{line}{newline}"
    start, end = found
    for index in range(start + 1, end):
        match = _KEY.match(lines[index])
        if match and match.group("key") == key:
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


def credentials_command(
    args: argparse.Namespace, *, api_url: str, authenticator: str, state_file: str | None
) -> list[str]:
    words = [*tapgate_command(), "credentials", "--role", check_role_arn(args.role)]
    browser = getattr(args, "browser", False)
    if browser:  # any passkey through the browser: no key to name, no identity to sign with
        words.append("--browser")
    options: Sequence[tuple[str, object]] = (
        ("--api-url", api_url),
        ("--authenticator", None if authenticator == "usb" or browser else authenticator),
        ("--profile", None if browser else args.base_profile),
        ("--api-region", args.api_region),
        ("--state-file", state_file),
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
    if args.browser and args.base_profile:
        raise UsageError("--browser signs in with a passkey alone: it takes no --base-profile")
    check_role_arn(args.role)
    cached.check_duration(args.duration)
    environ = os.environ
    authenticator = context.authenticator_spec(args, environ)
    if authenticator.startswith("soft:"):
        authenticator = "soft:" + os.path.abspath(authenticator[len("soft:") :])
    # The profile runs wherever the AWS CLI runs: it names the API and the key itself.
    base = argparse.Namespace(**{**vars(args), "profile": args.base_profile})
    api_url = context.api_url(base, environ)  # a tapgate_api_url of the base profile counts
    state = context.local_state_for(api_url, args, environ)
    state_file = os.path.abspath(context.state_file_path(args, environ)) if state else None
    import shlex  # noqa: PLC0415

    command = shlex.join(
        credentials_command(
            args, api_url=api_url, authenticator=authenticator, state_file=state_file
        )
    )
    values = {"credential_process": command}
    if state is not None:  # the AWS CLI must talk to local mode's AWS endpoint too
        values.update(region=str(state["region"]), endpoint_url=str(state["awsEndpointUrl"]))
    named = args.config_file or environ.get("AWS_CONFIG_FILE")
    path = os.path.realpath(  # a symlinked config file is edited where it lives
        os.path.expanduser(named or "~/.aws/config")
    )
    text, mode = _read(path)
    existing = profile_values(text, profile=args.gated_profile)
    if existing is not None and all(existing.get(k) == v for k, v in values.items()):
        print(f"Profile {args.gated_profile} in {path} already runs: {command}")
    else:
        if existing is not None and not args.force:
            _confirm_replacement(args.gated_profile, path, sorted(values))
        updated = set_profile_values(text, profile=args.gated_profile, values=values)
        try:
            _replace(path, updated, mode=mode)
        except OSError as exc:
            raise CliError(f"cannot write {path}: {exc}") from exc
        print(f"Profile {args.gated_profile} in {path} now runs: {command}")
    default = os.path.realpath(os.path.expanduser("~/.aws/config"))
    aws_env_file = environ.get("AWS_CONFIG_FILE")
    read_by_aws = os.path.realpath(os.path.expanduser(aws_env_file)) if aws_env_file else default
    prefix = "" if read_by_aws == path else f"AWS_CONFIG_FILE={shlex.quote(path)} "
    print(f"Try: {prefix}aws sts get-caller-identity --profile {args.gated_profile}")
    return 0


def _read(path: str) -> tuple[str, int]:
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            text = handle.read()
        return text, os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        return "", 0o600
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from exc


def _confirm_replacement(profile: str, path: str, keys: list[str]) -> None:
    from tapgate import tty  # noqa: PLC0415

    question = f"Profile {profile} already exists in {path}; replace its {', '.join(keys)}? [y/N] "
    answer = tty.ask(question)
    if answer is None:
        raise CliError(
            f"profile {profile} already exists in {path}; pass --force to replace its "
            f"{', '.join(keys)}, or choose another --profile"
        )
    if answer.strip().lower() not in ("y", "yes"):
        raise CliError(f"left profile {profile} in {path} as it was")


def _replace(path: str, text: str, *, mode: int) -> None:
    from tapgate.files import write_atomically  # noqa: PLC0415

    os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
    write_atomically(path, text.encode("utf-8"), mode=mode)
