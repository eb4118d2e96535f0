"""STS adapter: assume a gated role with SourceIdentity and the tapgate session tags."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tapgate_broker.adapters.aws_errors import dependency_error, error_code
from tapgate_broker.core.credential_ids import short_id
from tapgate_broker.core.errors import ForbiddenError
from tapgate_broker.core.models import IssuedCredentials
from tapgate_broker.core.user_names import is_user_name
from tapgate_contract.limits import MAX_SESSION_SECONDS
from tapgate_contract.tags import CREDENTIAL_TAG, MFA_TAG, MFA_TAG_VALUE, UV_TAG, uv_tag_value

_SESSION_UNSAFE = re.compile(r"[^\w+=,.@-]")
DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException"})


def session_name_for(user_name: str) -> str:
    """RoleSessionName: tapgate-<user>, limited to STS's alphabet and 64 characters."""
    return ("tapgate-" + _SESSION_UNSAFE.sub("-", user_name))[:64]


class StsRoleIssuer:
    def __init__(self, client: Any) -> None:
        self._client = client

    def assume(
        self,
        *,
        role_arn: str,
        user_name: str,
        credential_id: bytes,
        user_verified: bool,
        duration_seconds: int,
    ) -> IssuedCredentials:
        if not is_user_name(user_name):
            raise ForbiddenError(
                "Your user name cannot be used as an STS SourceIdentity.",
                reason=f"unusable SourceIdentity {user_name!r}",
            )
        try:
            answer = self._client.assume_role(
                RoleArn=role_arn,
                RoleSessionName=session_name_for(user_name),
                SourceIdentity=user_name,
                # AssumeRole from a role session is role chaining, capped at one hour.
                DurationSeconds=min(duration_seconds, MAX_SESSION_SECONDS),
                Tags=[
                    {"Key": MFA_TAG, "Value": MFA_TAG_VALUE},
                    {"Key": UV_TAG, "Value": uv_tag_value(user_verified)},
                    {"Key": CREDENTIAL_TAG, "Value": short_id(credential_id)},
                ],
            )
        except ClientError as exc:
            if error_code(exc) in DENIED_CODES:
                raise ForbiddenError(
                    "The role's trust policy does not let you assume it through tapgate.",
                    reason=f"sts AccessDenied for {role_arn}",
                ) from exc
            raise dependency_error(exc, service="sts") from exc
        except BotoCoreError as exc:
            raise dependency_error(exc, service="sts") from exc
        creds = answer["Credentials"]
        expiration = creds["Expiration"]
        if isinstance(expiration, datetime):
            expiration = expiration.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return IssuedCredentials(
            access_key_id=creds["AccessKeyId"],
            secret_access_key=creds["SecretAccessKey"],
            session_token=creds["SessionToken"],
            expiration=str(expiration),
            role_arn=role_arn,
            source_identity=user_name,
        )
