"""`tapgate enroll [--user NAME]`: a one-time enrollment link (POST /v1/enrollments).

An admin (named in the deployment's ``admins``) may create one for any user; anyone
else only for themself, while they have no key, and only through a policy that
grants the route with MFA. The link holds the token in its fragment: treat it as a
password until it is used or expires.
"""

from __future__ import annotations

import argparse
import json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tapgate.cli.ceremony import Session


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--user",
        metavar="NAME",
        help="whose key the link enrolls (admins only; default: yourself)",
    )
    parser.add_argument("--json", action="store_true", help="print the API's JSON")


def run(args: argparse.Namespace) -> int:
    from tapgate.cli import ceremony  # noqa: PLC0415

    session = ceremony.open_session(args)
    answer = session.api.create_enrollment(user_name=args.user)
    if args.json:
        print(json.dumps(answer, indent=2))
    else:
        print(answer["url"])
        print(
            f"One-time link for {answer['userName']}, valid until {answer['expiresAt']}. "
            "Send it privately: whoever opens it first enrolls a key for that user.",
        )
    if args.user:
        _warn_if_no_such_user(session, args.user)
    return 0


def _warn_if_no_such_user(session: Session, user_name: str) -> None:
    """Admins mistype: say so when IAM knows no such user (Identity Center users are no
    IAM users, so this is a warning, and the link stays valid)."""
    import sys  # noqa: PLC0415

    from tapgate.client.iam import iam_user_missing  # noqa: PLC0415

    local = session.local_state
    if iam_user_missing(
        credentials=session.base_credentials,
        region=session.api.region,
        endpoint_url=str(local["awsEndpointUrl"]) if local else None,
        user_name=user_name,
    ):
        print(
            f"tapgate: warning: there is no IAM user {user_name} in this account; unless "
            f"{user_name} signs in through IAM Identity Center, check the spelling and let "
            "this link expire",
            file=sys.stderr,
        )
