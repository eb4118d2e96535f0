"""One question to IAM, asked with the base identity: does this IAM user exist?

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
    import botocore.config  # noqa: PLC0415
    import botocore.exceptions  # noqa: PLC0415
    import botocore.session  # noqa: PLC0415

    client = botocore.session.Session().create_client(
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
    try:
        client.get_user(UserName=user_name)
    except botocore.exceptions.ClientError as exc:
        return bool(exc.response.get("Error", {}).get("Code") == "NoSuchEntity")
    except (botocore.exceptions.BotoCoreError, ValueError):
        return False
    return False
