"""`tapgate admin keys|revoke|report`: an admin's view of everyone's keys.

The broker decides who is an admin (its ``admins`` configuration) and answers 403 to anyone
else. A revocation needs a touch of the admin's OWN key (a fresh assertion answering
``POST /v1/admin/options``), asked for only once the arguments and the target are known good.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from tapgate.cli.errors import CliError, UsageError
from tapgate.cli.keys import add_credential_id, check_credential_id, render_table
from tapgate.cli.parser import common_options
from tapgate_contract import limits
from tapgate_contract.identity import USER_NAME_PATTERN

FORMATS = ("table", "json", "csv")
CSV_COLUMNS = ("userName", "credentialId", "nickname", "aaguid", "createdAt", "lastUsedAt")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="admin_action", metavar="ACTION", required=True)
    keys = actions.add_parser("keys", help="list a user's registered keys")
    common_options(keys, top=False)
    _user(keys)
    keys.add_argument("--json", action="store_true", help="print the API's JSON")
    keys.set_defaults(func=run_keys)

    revoke = actions.add_parser(
        "revoke", help="revoke one or all of a user's keys (touch your own key to confirm)"
    )
    common_options(revoke, top=False)
    _user(revoke)
    add_credential_id(revoke, required=False)
    revoke.add_argument("--all", action="store_true", help="revoke every key of the user")
    revoke.add_argument(
        "--reason",
        required=True,
        metavar="TEXT",
        help=f"why (1-{limits.ADMIN_REASON_MAX_LENGTH} characters), kept in the audit trail",
    )
    revoke.set_defaults(func=run_revoke)

    report = actions.add_parser(
        "report", help="the key inventory: users with keys, unused keys, keys by model"
    )
    common_options(report, top=False)
    report.add_argument(
        "--unused-days",
        type=_days,
        default=limits.REPORT_UNUSED_DAYS_DEFAULT,
        metavar="N",
        help=f"a key unused for N days is listed as unused (default "
        f"{limits.REPORT_UNUSED_DAYS_DEFAULT})",
    )
    report.add_argument("--format", choices=FORMATS, default="table", help="default: table")
    report.add_argument(
        "--trust",
        action="store_true",
        help="also read each gated role's trust policy with your AWS identity (iam:GetRole) "
        "and list the users it names who have no key (table and json only)",
    )
    report.set_defaults(func=run_report)


def _user(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", required=True, type=_user_name, metavar="NAME")


def _user_name(value: str) -> str:
    if not re.fullmatch(USER_NAME_PATTERN, value, re.ASCII):
        raise argparse.ArgumentTypeError(
            f"must be a tapgate user name (2-64 of letters, digits and +=,.@_-), not {value!r}"
        )
    return value


def _days(value: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 5:
        raise argparse.ArgumentTypeError(f"must be a whole number of days, not {value!r}")
    days = int(value)
    if not 1 <= days <= limits.REPORT_UNUSED_DAYS_MAX:
        raise argparse.ArgumentTypeError(
            f"must be between 1 and {limits.REPORT_UNUSED_DAYS_MAX}, not {days}"
        )
    return days


def check_reason(value: str) -> str:
    """What the broker accepts (it checks again): 1..256 characters once NFC-normalized and
    trimmed, no control or invisible characters."""
    clean = unicodedata.normalize("NFC", value).strip()
    if not 1 <= len(clean) <= limits.ADMIN_REASON_MAX_LENGTH:
        raise UsageError(f"--reason must be 1 to {limits.ADMIN_REASON_MAX_LENGTH} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in clean):
        raise UsageError("--reason must not contain control or invisible characters")
    return clean


def run_keys(args: argparse.Namespace) -> int:
    from tapgate.cli import ceremony  # noqa: PLC0415

    credentials = ceremony.open_session(args).api.admin_list_credentials(args.user)
    if args.json:
        print(json.dumps({"userName": args.user, "credentials": credentials}, indent=2))
    else:
        print(render_table(credentials, empty=f"{args.user} has no registered security key."))
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    if (args.credential_id is None) == (not args.all):
        raise UsageError("give either CREDENTIAL_ID or --all")
    credential_id = None if args.all else check_credential_id(args.credential_id)
    reason = check_reason(args.reason)
    from tapgate.cli import ceremony  # noqa: PLC0415

    session = ceremony.open_session(args)
    keys = {c.get("credentialId") for c in session.api.admin_list_credentials(args.user)}
    if credential_id is not None and credential_id not in keys:
        raise CliError(f"{args.user} has no key with id {credential_id}")
    if credential_id is None and not keys:
        raise CliError(f"{args.user} has no registered security key; nothing to revoke")
    options = session.api.admin_options()
    ceremony_id, public_key = ceremony.ceremony_parts(session, options)
    client = ceremony.webauthn_client(
        session,
        origin=session.origin_for(public_key.get("rpId")),
        touch_message="Touch your own security key to approve the revocation.",
    )
    assertion = ceremony.get_assertion(client, public_key)
    revoked = session.api.admin_revoke(
        args.user, credential_id, ceremony_id=ceremony_id, credential=assertion, reason=reason
    )
    print(f"Revoked {len(revoked)} security key(s) of {args.user}: {', '.join(revoked) or '-'}")
    return 0


def run_report(args: argparse.Namespace) -> int:
    if args.trust and args.format == "csv":
        raise UsageError("--trust adds sections a CSV of keys has no room for: use table or json")
    from tapgate.cli import ceremony  # noqa: PLC0415

    session = ceremony.open_session(args)
    report = dict(session.api.admin_report(unused_days=args.unused_days))
    if args.trust:
        report["trust"] = trust_section(session, report)
    sys.stdout.write(render_report(report, args.format))
    return 0


def trust_section(session: Any, report: Mapping[str, Any]) -> dict[str, Any]:
    """Who the gated roles' trust policies name but has no key: exact names only (a pattern
    names no one in particular), per role; roles the caller's identity cannot read (another
    account's, or no iam:GetRole) are listed as such. Read with the admin's own identity:
    the broker may not read IAM policies."""
    from tapgate.client.iam import trusted_source_identities  # noqa: PLC0415

    with_keys = {str(row.get("userName")) for row in _rows(report, "users")}
    local = session.local_state
    without_key: list[dict[str, str]] = []
    patterns: list[dict[str, str]] = []
    unreadable: list[dict[str, str]] = []
    for role in session.api.roles():
        arn = str(role.get("arn", ""))
        names, why = trusted_source_identities(
            credentials=session.base_credentials,
            region=session.api.region,
            endpoint_url=str(local["awsEndpointUrl"]) if local else None,
            role_arn=arn,
        )
        if names is None:
            unreadable.append({"roleArn": arn, "why": why})
            continue
        for name in names:
            if any(ch in name for ch in "*?"):
                patterns.append({"roleArn": arn, "pattern": name})
            elif name not in with_keys:
                without_key.append({"roleArn": arn, "userName": name})
    return {"allowedWithoutKey": without_key, "patterns": patterns, "unreadableRoles": unreadable}


def render_report(report: Mapping[str, Any], form: str) -> str:
    """The API's report as ``json``, ``csv`` (one row per key, with an ``unused`` column) or a
    ``table`` of its three sections."""
    if form == "json":
        return json.dumps(report, indent=2) + "\n"
    keys = _rows(report, "keys")
    unused = {row.get("credentialId") for row in _rows(report, "unusedKeys")}
    if form == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*CSV_COLUMNS, "unused"])
        for row in keys:
            cells = ["" if row.get(c) is None else str(row.get(c)) for c in CSV_COLUMNS]
            writer.writerow(
                [*map(_csv_safe, cells), str(row.get("credentialId") in unused).lower()]
            )
        return out.getvalue()
    days = report.get("unusedDays")
    sections = [
        _table(
            "Users with keys",
            ("userName", "keyCount"),
            _rows(report, "users"),
            "No user has a key.",
        ),
        _table(
            f"Keys unused for {days} days",
            ("userName", "credentialId", "nickname", "lastUsedAt", "createdAt"),
            _rows(report, "unusedKeys"),
            "None.",
        ),
        _table(
            "Keys by authenticator model (AAGUID)",
            ("aaguid", "keyCount"),
            _rows(report, "keysByAaguid"),
            "None.",
        ),
    ]
    trust = report.get("trust")
    if isinstance(trust, Mapping):
        sections += [
            _table(
                "Allowed by a gated role's trust policy, but without a key",
                ("userName", "roleArn"),
                _rows(trust, "allowedWithoutKey"),
                "None.",
            ),
            _table(
                "SourceIdentity patterns (who matches is not listed)",
                ("pattern", "roleArn"),
                _rows(trust, "patterns"),
                "None.",
            ),
            _table(
                "Gated roles whose trust policy could not be read",
                ("roleArn", "why"),
                _rows(trust, "unreadableRoles"),
                "None.",
            ),
        ]
    return "\n\n".join(sections) + "\n"


def _rows(report: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    items = report.get(key)
    if not isinstance(items, list):
        raise CliError(f"the API's report has no {key!r} list")
    return [item for item in items if isinstance(item, Mapping)]


def _table(
    title: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]], empty: str
) -> str:
    if not rows:
        return f"{title}\n{empty}"
    grid = [[c.upper() for c in columns]]
    grid += [["" if r.get(c) is None else _printable(str(r.get(c))) for c in columns] for r in rows]
    widths = [max(len(line[i]) for line in grid) for i in range(len(columns))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in grid
    ]
    return "\n".join([title, *lines])


def _printable(text: str) -> str:
    """A nickname is the user's text: no terminal control sequences reach the screen."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def _csv_safe(cell: str) -> str:
    """A cell a spreadsheet would run as a formula (=, +, @ first) gets a leading quote. A
    leading '-' is left: base64url credential ids start with it, and one of those characters
    alone is no formula."""
    return "'" + cell if cell[:1] in ("=", "+", "@", "\t", "\r") else cell
