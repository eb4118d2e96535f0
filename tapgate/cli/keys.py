"""`tapgate list` and `tapgate revoke`: the security keys registered for you."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from tapgate.cli.errors import CliError, UsageError

CREDENTIAL_ID = re.compile(r"^[A-Za-z0-9_-]+$")
MAX_CREDENTIAL_ID_CHARS = 1366  # base64url of WebAuthn's longest credential id, 1023 bytes

DASH_ID_OPTION = "--dash-credential-id"

COLUMNS = (
    ("credentialId", "CREDENTIAL ID"),
    ("nickname", "NICKNAME"),
    ("createdAt", "CREATED"),
    ("lastUsedAt", "LAST USED"),
    ("signCount", "COUNTER"),
    ("assurance", "ASSURANCE"),  # synced, device-bound or certified (--json says why)
    ("authenticator", "MODEL"),  # from the FIDO metadata, only when the key proved it
)


def configure_list(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the API's JSON")


def configure_revoke(parser: argparse.ArgumentParser) -> None:
    add_credential_id(parser, required=True)


def add_credential_id(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """``CREDENTIAL_ID`` as a positional or ``--credential-id``; an id that starts with ``-``
    works either way (tapgate.cli.parser.Parser)."""
    parser.credential_id_option = DASH_ID_OPTION  # type: ignore[attr-defined]
    parser.credential_id_required = required  # type: ignore[attr-defined]
    parser.add_argument(
        "credential_id",
        nargs="?",
        metavar="CREDENTIAL_ID",
        help="as `tapgate list` shows it (one that starts with '-' works as it is)",
    )
    parser.add_argument(
        "--credential-id",
        dest="credential_id_option",
        metavar="ID",
        help="CREDENTIAL_ID as an option (--credential-id=-4ybj...)",
    )
    # Where the parser puts an id that starts with '-' (tapgate.cli.parser.Parser).
    parser.add_argument(DASH_ID_OPTION, dest="credential_id_dash", help=argparse.SUPPRESS)


def render_table(
    credentials: Sequence[Mapping[str, Any]],
    *,
    empty: str = "No security key is registered for you.",
) -> str:
    if not credentials:
        return empty
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


def check_credential_id(value: str) -> str:
    """A credential id as `tapgate list` shows it: base64url without padding, of at most the
    1023 bytes WebAuthn allows."""
    if (
        not CREDENTIAL_ID.match(value)
        or len(value) > MAX_CREDENTIAL_ID_CHARS
        or len(value) % 4 == 1  # no byte string encodes to that length
    ):
        raise UsageError(
            f"CREDENTIAL_ID must be a credential id as `tapgate list` shows it, not {value!r}"
        )
    return value


def run_revoke(args: argparse.Namespace) -> int:
    """Revoking needs a fresh assertion (purpose "manage") from one of your keys; nothing asks
    for it until the id is known to be one of yours."""
    from tapgate.cli import ceremony  # noqa: PLC0415

    credential_id = check_credential_id(args.credential_id)
    session = ceremony.open_session(args)
    if credential_id not in {c.get("credentialId") for c in session.api.list_credentials()}:
        raise CliError(f"no key with id {credential_id} is registered for you (see `tapgate list`)")
    options = session.api.authentication_options(role_arn=None, purpose="manage")
    ceremony_id, public_key = ceremony.ceremony_parts(session, options)
    client = ceremony.webauthn_client(
        session,
        origin=session.origin_for(public_key.get("rpId")),
        touch_message="Touch one of your registered keys to confirm the revocation.",
    )
    assertion = ceremony.get_assertion(client, public_key)
    session.api.delete_credential(credential_id, ceremony_id=ceremony_id, credential=assertion)
    print(f"Revoked security key {credential_id}")
    return 0
