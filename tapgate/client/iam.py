"""Questions to IAM, asked with the base identity: does this IAM user exist, and whom does a
gated role's trust policy let in?

`tapgate enroll --user NAME` creates a link for whatever name an admin types; a typo gives a
link nobody can use. IAM's answer is a hint, not a rule: users who sign in through IAM
Identity Center are no IAM users, and a caller without iam:GetUser learns nothing.
"""

from __future__ import annotations

from typing import Any


def iam_user_missing(
    *, credentials: Any, region: str, endpoint_url: str | None, user_name: str
) -> bool:
    """True only when IAM says there is no such user; False when it exists or IAM cannot
    tell (no permission, no network, a name IAM would not take)."""
    import botocore.exceptions  # noqa: PLC0415

    client = _client(credentials, region=region, endpoint_url=endpoint_url)
    try:
        client.get_user(UserName=user_name)
    except botocore.exceptions.ClientError as exc:
        return bool(exc.response.get("Error", {}).get("Code") == "NoSuchEntity")
    except (botocore.exceptions.BotoCoreError, ValueError):
        return False
    return False


def trusted_source_identities(
    *, credentials: Any, region: str, endpoint_url: str | None, role_arn: str
) -> tuple[list[str] | None, str]:
    """The ``sts:SourceIdentity`` values (names or ``StringLike`` patterns) a role's trust
    policy lets assume it, as (values, "") or (None, why they could not be read): the role
    is in another account, or the caller may not ``iam:GetRole`` it."""
    import json  # noqa: PLC0415
    import urllib.parse  # noqa: PLC0415

    import botocore.exceptions  # noqa: PLC0415

    client = _client(credentials, region=region, endpoint_url=endpoint_url)
    try:
        role = client.get_role(RoleName=role_arn.rsplit("/", 1)[-1])["Role"]
    except botocore.exceptions.ClientError as exc:
        return None, str(exc.response.get("Error", {}).get("Code") or "refused")
    except (botocore.exceptions.BotoCoreError, ValueError) as exc:
        return None, type(exc).__name__
    if role.get("Arn") != role_arn:
        return None, "another account's role (or another path): not readable with your identity"
    document = role.get("AssumeRolePolicyDocument")
    if isinstance(document, str):  # IAM's API answers it URL-encoded; boto3 decodes it
        document = json.loads(urllib.parse.unquote(document))
    return _source_identities(document), ""


def _source_identities(document: Any) -> list[str]:
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    statements = statements if isinstance(statements, list) else [statements]
    found: set[str] = set()
    for statement in statements:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if "sts:AssumeRole" not in actions:
            continue
        for operator in ("StringEquals", "StringLike"):
            values = (statement.get("Condition") or {}).get(operator, {})
            for key, value in values.items() if isinstance(values, dict) else ():
                if key.lower() == "sts:sourceidentity":
                    found.update([value] if isinstance(value, str) else value)
    return sorted(found)


def _client(credentials: Any, *, region: str, endpoint_url: str | None) -> Any:
    import botocore.config  # noqa: PLC0415
    import botocore.session  # noqa: PLC0415

    return botocore.session.Session().create_client(
        "iam",
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        aws_session_token=credentials.token,
        config=botocore.config.Config(
            retries={"max_attempts": 1}, connect_timeout=5, read_timeout=10
        ),
    )
