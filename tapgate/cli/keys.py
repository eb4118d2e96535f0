"""`tapgate list` and `tapgate revoke`: the security keys registered for you."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from typing import Any

COLUMNS = (
    ("credentialId", "CREDENTIAL ID"),
    ("nickname", "NICKNAME"),
    ("createdAt", "CREATED"),
    ("lastUsedAt", "LAST USED"),
    ("signCount", "COUNTER"),
)


def configure_list(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the API's JSON")


def configure_revoke(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("credential_id", metavar="CREDENTIAL_ID", help="as `tapgate list` shows")


def render_table(credentials: Sequence[Mapping[str, Any]]) -> str:
    if not credentials:
        return "No security key is registered for you."
    rows = [[title for _, title in COLUMNS]]
    rows += [
        ["" if c.get(key) is None else str(c.get(key)) for key, _ in COLUMNS] for c in credentials
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def run_list(args: argparse.Namespace) -> int:
    from tapgate.cli import ceremony  # noqa: PLC0415

    credentials = ceremony.open_session(args).api.list_credentials()
    if args.json:
        print(json.dumps({"credentials": credentials}, indent=2))
    else:
        print(render_table(credentials))
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    """Revoking needs a fresh assertion (purpose "manage") from one of your keys."""
    from tapgate.cli import ceremony  # noqa: PLC0415

    session = ceremony.open_session(args)
    options = session.api.authentication_options(role_arn=None, purpose="manage")
    ceremony_id, public_key = ceremony.ceremony_parts(options)
    client = ceremony.webauthn_client(
        session,
        origin=session.origin_for(public_key.get("rpId")),
        touch_message="Touch one of your registered keys to confirm the revocation.",
    )
    assertion = ceremony.get_assertion(client, public_key)
    session.api.delete_credential(args.credential_id, ceremony_id=ceremony_id, credential=assertion)
    print(f"Revoked security key {args.credential_id}")
    return 0
