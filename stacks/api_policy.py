"""The REST API's resource policy: who may invoke which route, before any Lambda runs.

Three rules, in API Gateway's evaluation of a resource policy with AWS_IAM methods:

- The unsigned routes (the page, ``/config``, ``/enrollment/*``, ``/passkey/*``) are allowed to
  anyone: once an API has a resource policy, a method without IAM authorization needs an
  explicit Allow there. Nothing else is allowed here, so a SigV4 route stays open to this
  account's principals whose own IAM policy allows it, and closed to every other account.
- The routes that can give a user a first key (``/registration/*``, whose ceremonies may
  register a first key, and ``POST /enrollments``, which issues links, admins' included)
  are denied to any principal without ``aws:MultiFactorAuthPresent``, whatever its IAM
  policy: stolen long-term access keys alone, even of an administrator, cannot register a
  first key. A further key has routes of its own (``/registration/step-up/*``), where the
  step-up assertion is the proof.
- IAM Identity Center's sessions carry no MFA key (the MFA is at Identity Center's sign-in,
  which AWS does not pass on), so they are exempt by their role's full ARN: only AWS can make
  roles under ``/aws-reserved/sso.amazonaws.com/``, and ``aws:PrincipalArn`` of a role session
  is its role's ARN, path included.

Resources are written ``execute-api:/v1/METHOD/path``, the form API Gateway expands to this
API's own ARN when it stores the policy (naming the API's id in its own policy would be a
circular reference in the template). Tests pass the expanded prefix instead and evaluate the
document with tapgate's audit evaluator and the IAM oracle.
"""

from __future__ import annotations

from typing import Any

from stacks.api import ROUTES, STAGE_NAME, Auth, Route

INVOKE = "execute-api:Invoke"
THIS_API = "execute-api:/"  # API Gateway puts this API's ARN (with its id) in its place
IDENTITY_CENTER_ROLE_PATH = "role/aws-reserved/sso.amazonaws.com/*"


def route_arn(route: Route, *, api: str = THIS_API) -> str:
    """The execute-api resource of one route under ``api``; path parameters become ``*``."""
    path = "/".join("*" if part.startswith("{") else part for part in route.path.split("/"))
    return f"{api}{STAGE_NAME}/{route.method}{path}"


def api_resource_policy(
    *, partition: str, account: str, api: str = THIS_API, routes: tuple[Route, ...] = ROUTES
) -> dict[str, Any]:
    """The policy document; ``partition`` and ``account`` name Identity Center's roles."""

    def arns(chosen: list[Route]) -> list[str]:
        return [route_arn(r, api=api) for r in chosen]

    public = [r for r in routes if r.auth is Auth.PUBLIC]
    first_key = [r for r in routes if r.needs_mfa]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "UnsignedRoutesForAnyone",
                "Effect": "Allow",
                "Principal": "*",
                "Action": INVOKE,
                "Resource": arns(public),
            },
            {
                "Sid": "FirstKeyRoutesOnlyWithMfa",
                "Effect": "Deny",
                "Principal": "*",
                "Action": INVOKE,
                "Resource": arns(first_key),
                "Condition": {
                    "BoolIfExists": {"aws:MultiFactorAuthPresent": "false"},
                    "ArnNotLike": {
                        "aws:PrincipalArn": (
                            f"arn:{partition}:iam::{account}:{IDENTITY_CENTER_ROLE_PATH}"
                        )
                    },
                },
            },
        ],
    }
