"""`tapgate enroll [--user NAME]`: a one-time enrollment link (POST /v1/enrollments).

An admin (named in the deployment's ``admins``) may create one for any user; anyone
else only for themself, while they have no key, and only through a policy that
grants the route with MFA. The link holds the token in its fragment: treat it as a
password until it is used or expires.
"""

from __future__ import annotations

import argparse
import json


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--user",
        metavar="NAME",
        help="whose key the link enrolls (admins only; default: yourself)",
    )
    parser.add_argument("--json", action="store_true", help="print the API's JSON")


def run(args: argparse.Namespace) -> int:
    from tapgate.cli import ceremony  # noqa: PLC0415

    answer = ceremony.open_session(args).api.create_enrollment(user_name=args.user)
    if args.json:
        print(json.dumps(answer, indent=2))
        return 0
    print(answer["url"])
    print(
        f"One-time link for {answer['userName']}, valid until {answer['expiresAt']}. "
        "Send it privately: whoever opens it first enrolls a key for that user.",
    )
    return 0
