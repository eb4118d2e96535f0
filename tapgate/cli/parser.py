"""The `tapgate` argument parser: commands, common options, one-line usage errors.

Only the commands named on the command line get their options and their module
imported; `audit` is imported only when it is the command.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from tapgate.cli.errors import EXIT_USAGE, CliError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

AUDIT_HELP = "find principals that can do sensitive things without MFA"


class Command:
    """A subcommand; its module (under tapgate.cli) is imported only when it is named.

    (Not a NamedTuple: importing typing costs every start ~4 ms.)
    """

    def __init__(
        self,
        name: str,
        help_text: str,
        module: str,
        configure: str,
        run: str,
        *,
        base_profile: bool = True,  # has the global --profile (configure uses its own)
        common: bool = True,  # has the options of commands that talk to the API
    ) -> None:
        self.name = name
        self.help = help_text
        self.module = module
        self.configure = configure
        self.run = run
        self.base_profile = base_profile
        self.common = common


COMMANDS = (
    Command(
        "credentials",
        "print role credentials for credential_process (one touch)",
        "credentials",
        "configure_parser",
        "run",
    ),
    Command(
        "register",
        "register a security key for your AWS identity",
        "register",
        "configure_parser",
        "run",
    ),
    Command("list", "list your registered security keys", "keys", "configure_list", "run_list"),
    Command(
        "revoke",
        "revoke one of your keys (touch a registered key to confirm)",
        "keys",
        "configure_revoke",
        "run_revoke",
    ),
    Command(
        "console",
        "open the AWS console as a gated role (one touch)",
        "console_cmd",
        "configure_parser",
        "run",
    ),
    Command(
        "configure",
        "write a credential_process profile to ~/.aws/config",
        "configure",
        "configure_parser",
        "run",
        base_profile=False,
    ),
    Command(
        "cache", "manage cached credentials", "cache_cmd", "configure_parser", "", common=False
    ),
    Command(
        "local",
        "run tapgate on this machine (moto, no AWS account)",
        "local_cmd",
        "configure_parser",
        "run",
        common=False,
    ),
    Command(
        "admin",
        "admins: list and revoke any user's keys, and the key inventory",
        "admin_cmd",
        "configure_parser",
        "",
    ),
    Command(
        "events",
        "the audit trail: sign-ins, registrations, revocations, refusals (admins: everyone's)",
        "events_cmd",
        "configure_parser",
        "run",
    ),
    Command(
        "enroll",
        "create a one-time link that enrolls a security key in the browser",
        "enroll_cmd",
        "configure_parser",
        "run",
    ),
)


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter without its `import shutil` (4 ms on every start)."""

    def __init__(self, prog: str, **kwargs: Any) -> None:
        if kwargs.get("width") is None:
            kwargs["width"] = _terminal_width() - 2
        super().__init__(prog, **kwargs)


def _terminal_width() -> int:
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 80


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line: ``tapgate CMD: error: ... (see --help)``.

    A command whose argument is a credential id sets ``credential_id_option``: a base64url id
    may start with ``-`` (``-4ybj...``), which argparse would take for an option, so such a
    token that is none of the command's options is passed as ``OPTION=TOKEN`` instead
    (``--`` and ``--credential-id=ID`` work too). A token shaped like a long option
    (``--lowercase-words``) stays an option, so a mistyped one is still reported.
    """

    credential_id_option: str | None = None
    credential_id_required = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if self.credential_id_option is not None and args is not None:
            takes_value = {
                name: action.nargs != 0 for name, action in self._option_string_actions.items()
            }
            args = _dash_ids_as_options(list(args), self.credential_id_option, takes_value)
        parsed, extras = super().parse_known_args(args, namespace)
        if self.credential_id_option is not None:
            given = [
                value
                for value in (
                    getattr(parsed, name, None)
                    for name in ("credential_id", "credential_id_option", "credential_id_dash")
                )
                if value is not None
            ]
            if len(given) > 1:
                self.error("give CREDENTIAL_ID once")
            parsed.credential_id = given[0] if given else None
            if parsed.credential_id is None and self.credential_id_required and not extras:
                self.error("the following arguments are required: CREDENTIAL_ID")
        return parsed, extras

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _dash_ids_as_options(args: list[str], option: str, known: dict[str, bool]) -> list[str]:
    """``args`` with each token that starts with ``-`` but is a credential id rather than one
    of the ``known`` options (name -> takes a value) given as ``option=token``."""
    import re  # noqa: PLC0415

    rewritten: list[str] = []
    expects_value = False
    for index, arg in enumerate(args):
        if arg == "--":
            return rewritten + args[index:]
        dashed = arg.startswith("-") and arg.split("=", 1)[0] not in known
        if dashed and expects_value:
            # the value of an option that takes one (``--credential-id -4ybj``)
            rewritten.append(f"{rewritten.pop()}={arg}")
            expects_value = False
            continue
        looks_like_id = (
            dashed
            and re.fullmatch(r"[A-Za-z0-9_-]{2,}", arg) is not None
            and re.fullmatch(r"--[a-z][a-z-]*", arg) is None
        )
        rewritten.append(f"{option}={arg}" if looks_like_id else arg)
        expects_value = known.get(arg, False)
    return rewritten


class _Version(argparse.Action):
    """``--version``: the installed distribution's version, looked up only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(
            option_strings,
            dest=argparse.SUPPRESS,
            default=argparse.SUPPRESS,
            nargs=0,
            help="print tapgate's version and exit",
        )

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

        try:
            number = version("tapgate")
        except PackageNotFoundError:
            number = "(not installed: run from a source tree)"
        print(f"tapgate {number}")
        parser.exit(0)


def common_options(parser: argparse.ArgumentParser, *, top: bool, profile: bool = True) -> None:
    # On subcommands the default is SUPPRESS so `tapgate --api-url X credentials` keeps X.
    default = None if top else argparse.SUPPRESS
    group = parser.add_argument_group("tapgate options")
    group.add_argument(
        "--api-url",
        default=default,
        metavar="URL",
        help="the tapgate API's base URL, without the stage (a trailing /v1 is ignored); "
        "or $TAPGATE_API_URL, tapgate_api_url in the AWS profile, or the running `tapgate local`",
    )
    group.add_argument(
        "--authenticator",
        default=default,
        metavar="usb|soft:PATH",
        help="the security key over USB (default), or a software key file (local mode only, "
        "unless TAPGATE_ALLOW_SOFT_KEY=1); or $TAPGATE_AUTHENTICATOR",
    )
    if profile:
        group.add_argument(
            "--profile",
            default=default,
            metavar="NAME",
            help="AWS profile of the base identity that signs API requests",
        )
    group.add_argument(
        "--api-region",
        default=default,
        metavar="REGION",
        help="region for SigV4 (default: local mode's, the API URL's, or the profile's)",
    )
    group.add_argument(
        "--state-file",
        default=default,
        metavar="PATH",
        help="local mode's state file (or $TAPGATE_LOCAL_STATE; default .tapgate/local.json)",
    )


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    """The parser. Only commands named in ``argv`` get their options (and their module
    imported); the others are listed for --help but cannot be chosen anyway."""
    import importlib  # noqa: PLC0415

    named = set(argv)
    parser = Parser(
        prog="tapgate",
        description="A FIDO2 security key as the MFA for AWS CLI, SDK and console sessions.",
    )
    parser.add_argument("--version", action=_Version)
    common_options(parser, top=True)
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=Parser, prog="tapgate"
    )
    commands.required = True
    for command in COMMANDS:
        if command.name not in named:
            commands.add_parser(command.name, help=command.help, add_help=False)
            continue
        sub = commands.add_parser(command.name, help=command.help, description=command.help)
        if command.common:
            common_options(sub, top=False, profile=command.base_profile)
        module = importlib.import_module(f"tapgate.cli.{command.module}")
        getattr(module, command.configure)(sub)
        if command.run:
            sub.set_defaults(func=getattr(module, command.run))
    _add_audit(commands, wanted="audit" in named)
    return parser


def _add_audit(commands: Any, *, wanted: bool) -> None:
    """The audit parser is real only when `audit` is on the command line; a stub lists it."""
    if wanted:
        try:
            from tapgate.audit import cli as audit_cli  # noqa: PLC0415
        except ImportError:
            pass
        else:
            audit_cli.add_parser(commands).set_defaults(func=audit_cli.run)
            return
    commands.add_parser("audit", help=AUDIT_HELP, add_help=False).set_defaults(func=_no_audit)


def _no_audit(args: argparse.Namespace) -> int:
    raise CliError("the audit module is not available in this installation")
