"""The audit table: one item a record, kept for the retention period (TTL)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tapgate_broker.adapters.aws_errors import dependency_error
from tapgate_broker.adapters.dynamodb.keys import (
    Item,
)
from tapgate_broker.core.models import (
    AuditRecord,
)
from tapgate_contract.tables import (
    AUDIT_AT,
    AUDIT_DAY,
    TTL_ATTRIBUTE,
    USER_NAME,
)


class DynamoAuditLog:
    """Audit table: PK userName, SK at (ISO time + random suffix); TTL expiresAt; the day
    (``at``'s first ten characters) for the day index (``adapters/audit_reader`` reads)."""

    def __init__(self, client: Any, *, table_name: str, retention_days: int) -> None:
        self._client = client
        self._table = table_name
        self._retention = retention_days * 86400

    def record(self, record: AuditRecord) -> None:
        try:
            self._client.put_item(**self.put_request(record))
        except (ClientError, BotoCoreError) as exc:
            raise dependency_error(exc, service="dynamodb") from exc

    def committed(self, record: AuditRecord) -> None:
        """Written by the credential store's transaction (``put_request``): nothing to do."""

    def put_request(self, record: AuditRecord) -> dict[str, Any]:
        """The PutItem parameters of a record (also used inside other transactions)."""
        at = datetime.strptime(record.at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        item: Item = {
            USER_NAME: {"S": record.user_name},
            AUDIT_AT: {"S": f"{record.at}#{_random_suffix()}"},
            AUDIT_DAY: {"S": record.at[:10]},
            "event": {"S": record.event},
            "outcome": {"S": record.outcome},
            "callerArn": {"S": record.caller_arn},
            TTL_ATTRIBUTE: {"N": str(int(at.timestamp()) + self._retention)},
        }
        optional = {
            "credentialId": record.credential_id,
            "roleArn": record.role_arn,
            "sourceIp": record.source_ip,
            "userAgent": record.user_agent,
            "reason": record.reason,
            "nickname": record.nickname,
        }
        item.update({k: {"S": v} for k, v in optional.items() if v})
        if record.session_seconds is not None:
            item["sessionSeconds"] = {"N": str(record.session_seconds)}
        item.update({k: {"S": v} for k, v in record.extra.items() if v and k not in item})
        return {"TableName": self._table, "Item": item}


def _random_suffix() -> str:
    return secrets.token_hex(4)
