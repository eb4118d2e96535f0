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

``api_resource_policy`` takes plain strings (tests evaluate the document with tapgate's own
evaluator and the IAM oracle) or CloudFormation tokens (the stack). The API id is ``*``: the
policy is attached to this API only, and naming its own id would be a circular reference.
"""

from __future__ import annotations

from typing import Any

from stacks.api import ROUTES, STAGE_NAME, Auth, Route

INVOKE = "execute-api:Invoke"
IDENTITY_CENTER_ROLE_PATH = "role/aws-reserved/sso.amazonaws.com/*"


def route_arn(route: Route, *, partition: str, region: str, account: str) -> str:
    """The execute-api ARN of one route; path parameters become ``*``."""
    path = "/".join("*" if part.startswith("{") else part for part in route.path.split("/"))
    return f"arn:{partition}:execute-api:{region}:{account}:*/{STAGE_NAME}/{route.method}{path}"


def api_resource_policy(
    *, partition: str, region: str, account: str, routes: tuple[Route, ...] = ROUTES
) -> dict[str, Any]:
    def arns(chosen: list[Route]) -> list[str]:
        return [route_arn(r, partition=partition, region=region, account=account) for r in chosen]

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
