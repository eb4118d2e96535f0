"""`tapgate audit`: argument parsing and exit codes only; the work is in loaders/checks.

Exit codes: 0 no finding at or above --fail-on (default: never fail), 1 findings at or above
it, 2 bad usage (one line on stderr) or an input that could not be read: one line per such
input on stderr, after the report is written, whatever --fail-on says.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tapgate.audit.asff import render_asff
from tapgate.audit.checks import DEFAULT_SENSITIVE, AuditOptions, run_checks
from tapgate.audit.errors import AuditError, InputError, PolicyFormatError
from tapgate.audit.findings import Finding, Severity
from tapgate.audit.inventory import Inventory
from tapgate.audit.loaders import load_paths
from tapgate.audit.policy import Policy, PolicyKind, parse_policy
from tapgate.audit.reporters import RENDERERS

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def configure_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="FILE|DIR",
        help="policy JSON, CloudFormation templates, or directories of them",
    )
    parser.add_argument(
        "--account",
        action="store_true",
        help="read the AWS account (get-account-authorization-details, credential report)",
    )
    parser.add_argument("--profile", help="AWS profile for --account")
    parser.add_argument("--region", help="AWS region for --account and --format asff")
    parser.add_argument("--format", choices=sorted([*RENDERERS, "asff"]), default="table")
    parser.add_argument(
        "--aws-account-id",
        metavar="ID",
        help="for --format asff: the account the findings belong to (default: the one --account "
        "reads)",
    )
    parser.add_argument("--output", "-o", help="write the report to this file instead of stdout")
    parser.add_argument(
        "--fail-on",
        metavar="SEVERITY",
        help="exit 1 when a finding is at least this severe (info, low, medium, high, critical)",
    )
    parser.add_argument(
        "--max-mfa-age",
        type=int,
        default=3600,
        metavar="SECONDS",
        help="the largest aws:MultiFactorAuthAge limit accepted (default 3600)",
    )
    parser.add_argument(
        "--sensitive-actions",
        metavar="LIST",
        help="comma-separated action patterns that need MFA, expanded against the IAM action "
        f"catalog (default: {DEFAULT_SENSITIVE})",
    )
    parser.add_argument(
        "--scp",
        action="append",
        default=[],
        metavar="FILE",
        help="an SCP file; repeat once per organization level, root first",
    )
    parser.add_argument(
        "--session-policy", metavar="FILE", help="a session policy applied to every principal"
    )
    parser.set_defaults(func=run)
    return parser


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `audit` on the main CLI's subparsers (argparse `add_subparsers()` result)."""
    parser = subparsers.add_parser(
        "audit",
        help="find principals that can do sensitive things without MFA",
        description="Audit IAM policies for MFA gaps; see docs/audit.md for the checks.",
    )
    return configure_parser(parser)


def _policy_file(path: str, kind: PolicyKind) -> Policy:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        return parse_policy(document, name=Path(path).name, kind=kind, source=path)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, PolicyFormatError) as exc:
        raise InputError(f"cannot use {path} as a {kind} policy: {exc}") from exc


def _options(args: argparse.Namespace) -> AuditOptions:
    sensitive = None
    if args.sensitive_actions is not None:
        sensitive = tuple(a.strip() for a in args.sensitive_actions.split(",") if a.strip())
        if not sensitive:
            raise InputError("--sensitive-actions is empty")
    if args.max_mfa_age <= 0:
        raise InputError("--max-mfa-age must be positive")
    return AuditOptions(
        sensitive_actions=sensitive,
        max_mfa_age=args.max_mfa_age,
        scps=tuple((_policy_file(p, "scp"),) for p in args.scp),
        session_policy=_policy_file(args.session_policy, "session")
        if args.session_policy
        else None,
    )


def _inventory(args: argparse.Namespace) -> Inventory:
    inventory = Inventory()
    for raw in args.paths:
        if not Path(raw).exists():
            raise InputError(f"no such file or directory: {raw}")
    if args.paths:
        inventory.extend(load_paths(args.paths))
    if args.account:
        from tapgate.audit.account import iam_client, read_account  # noqa: PLC0415 (boto3)

        inventory.extend(read_account(iam_client(profile=args.profile, region=args.region)))
    return inventory


def _render(args: argparse.Namespace, findings: list[Finding], inventory: Inventory) -> str:
    if args.format != "asff":
        return RENDERERS[args.format](findings)
    account_id = args.aws_account_id or next(
        (s.arn.split(":")[4] for s in inventory.subjects if s.arn and s.arn.count(":") >= 5), None
    )
    if not account_id or not re.fullmatch(r"\d{12}", account_id):
        raise InputError("--format asff needs --aws-account-id (12 digits) or --account")
    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise InputError("--format asff needs --region (or AWS_REGION): Security Hub's region")
    return render_asff(findings, account_id=account_id, region=region, now=datetime.now(UTC))


def run(args: argparse.Namespace) -> int:
    """Run the audit for parsed arguments; returns the process exit code."""
    try:
        if not args.paths and not args.account:
            raise InputError("give FILE|DIR arguments or --account")
        fail_on = Severity.parse(args.fail_on) if args.fail_on else None
        options = _options(args)
        inventory = _inventory(args)
        findings = run_checks(inventory, options)
    except (AuditError, ValueError) as exc:
        print(f"tapgate audit: {exc}", file=sys.stderr)
        return EXIT_USAGE
    inventory_errors = [f for f in findings if f.check_id == "MFA000"]
    try:
        report = _render(args, findings, inventory)
    except InputError as exc:
        print(f"tapgate audit: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.output:
        try:
            Path(args.output).write_text(report, encoding="utf-8")
        except OSError as exc:
            print(f"tapgate audit: cannot write {args.output}: {exc}", file=sys.stderr)
            return EXIT_USAGE
    else:
        sys.stdout.write(report)
    if inventory_errors:  # a gate never passes an input it could not read, whatever --fail-on
        for error in inventory_errors:
            where = f"{error.source}:{error.line}" if error.line else error.source
            print(f"tapgate audit: not audited: {where}: {error.message}", file=sys.stderr)
        return EXIT_USAGE
    if fail_on is not None and any(f.severity >= fail_on for f in findings):
        return EXIT_FINDINGS
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = configure_parser(argparse.ArgumentParser(prog="tapgate audit"))
    return run(parser.parse_args(argv))
