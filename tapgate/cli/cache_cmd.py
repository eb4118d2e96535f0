"""`tapgate cache clear`: forget every cached role credential."""

from __future__ import annotations

import argparse
import os
import time

from tapgate.cache import CredentialCache, default_directory


def configure_parser(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="cache_action", metavar="ACTION", required=True)
    actions.add_parser("clear", help="delete all cached credentials").set_defaults(func=run_clear)


def run_clear(args: argparse.Namespace) -> int:
    directory = default_directory(os.environ)
    removed = CredentialCache(directory, clock=time.time).clear()
    print(f"Removed {removed} cached credential file(s) from {directory}")
    return 0
