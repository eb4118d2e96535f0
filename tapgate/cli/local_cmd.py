"""`tapgate local`: the whole system on this machine (moto + the real handler)."""

from __future__ import annotations

import argparse
import os

from tapgate.cli.errors import CliError

DEFAULT_PORT = 8080


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        default="localhost",
        help="host name in the URLs and the RP ID (default localhost)",
    )
    parser.add_argument(
        "--port", type=port_number, default=DEFAULT_PORT, help="0 picks a free port"
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
    state_file = Path(context.state_file_path(args, os.environ))
    try:
        return run_local(host=args.host, port=args.port, state_file=state_file)
    except (OSError, LocalModeError) as exc:
        raise CliError(f"local mode failed: {exc}") from exc
