"""`tapgate local`: the whole system on this machine (moto + the real handler)."""

from __future__ import annotations

import argparse
import os

from tapgate.cli.errors import CliError
from tapgate.local.state import DEFAULT_HOST, DEFAULT_PORT


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        metavar="NAME",
        help=f"host name in the URLs, and the RP ID (default: the last run's, else {DEFAULT_HOST}; "
        "keys registered under one RP ID do not work under another)",
    )
    parser.add_argument(
        "--port",
        type=port_number,
        help=f"the API's port (default: the last run's, else {DEFAULT_PORT}; 0 picks a free one; "
        "`make demo PORT=N` passes it on)",
    )
    parser.add_argument(
        "--state-file",
        default=argparse.SUPPRESS,  # `tapgate --state-file X local` keeps X
        metavar="PATH",
        help="where to write the state file (or $TAPGATE_LOCAL_STATE; default "
        ".tapgate/local.json); this world's data (registered keys, the demo user's keys, "
        "sessions, ports) is kept beside it, and another state file is another world",
    )
    parser.add_argument(
        "--reset",
        action="store_true",
        help="start over: forget this world's registered keys, sessions, demo user keys and ports",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="JSON with cdk.json's context keys (or a whole cdk.json) to try here: gatedRoles "
        "(with assurance and aaguids), metadataBlob (an MDS3 blob file) and metadataRoot (its "
        "root, a PEM file); keys that apply only in AWS are ignored",
    )
    parser.add_argument(
        "--log-format",
        choices=("human", "json"),
        help="a short line per request (human) or the Lambda's JSON lines with its metrics "
        "(json); default: human on a terminal, else json",
    )


def port_number(text: str) -> int:
    """A TCP port, 0..65535 (argparse makes the error a one-line usage error)."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number 0..65535, not {text!r}")
    return port


def run(args: argparse.Namespace) -> int:
    from pathlib import Path  # noqa: PLC0415

    from tapgate.cli import context  # noqa: PLC0415

    try:
        from tapgate.local.server import LocalModeError, run_local  # noqa: PLC0415
    except ImportError as exc:
        raise CliError(f"local mode is not available: {exc}") from exc
    from tapgate.local.config import LocalConfigError, load_config  # noqa: PLC0415

    state_file = Path(context.state_file_path(args, os.environ))
    try:
        config = load_config(Path(args.config)) if args.config else None
    except LocalConfigError as exc:
        raise CliError(str(exc)) from exc
    try:
        return run_local(
            host=args.host,
            port=args.port,
            state_file=state_file,
            reset=args.reset,
            log_format=args.log_format,
            config=config,
        )
    except (OSError, LocalModeError) as exc:
        raise CliError(f"local mode failed: {exc}") from exc
