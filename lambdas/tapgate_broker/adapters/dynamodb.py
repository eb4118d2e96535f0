"""DynamoDB adapters: credentials, ceremonies and audit records.

Each takes an injected low-level boto3 DynamoDB client. Access patterns are
single-item reads and writes and queries by key; nothing scans.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from fido2.utils import websafe_decode, websafe_encode

from tapgate_broker.adapters.aws_errors import dependency_error, error_code
from tapgate_broker.core.errors import CeremonyFailedError, ConflictError, NotFoundError
from tapgate_broker.core.models import (
    AuditRecord,
    Ceremony,
    CeremonyKind,
    CredentialSnapshot,
    StoredCredential,
    UserVerification,
)
from tapgate_broker.core.ports import CounterAdvance

CREDENTIAL_ID_INDEX = "byCredentialId"
Item = dict[str, dict[str, Any]]


class DynamoCredentialStore:
    """Credentials table: PK userName, SK credentialId (base64url); GSI byCredentialId."""

    def __init__(self, client: Any, *, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def list_for_user(self, user_name: str) -> list[StoredCredential]:
        return [
            _credential_from_item(item)
            for item in self._query(
                KeyConditionExpression="userName = :u",
                ExpressionAttributeValues={":u": {"S": user_name}},
                ConsistentRead=True,
            )
        ]

    def find_by_id(self, credential_id: bytes) -> list[StoredCredential]:
        return [
            _credential_from_item(item)
            for item in self._query(
                IndexName=CREDENTIAL_ID_INDEX,
                KeyConditionExpression="credentialId = :c",
                ExpressionAttributeValues={":c": {"S": websafe_encode(credential_id)}},
            )
        ]

    def add(self, credential: StoredCredential, *, step_up: CounterAdvance | None) -> None:
        put = {
            "TableName": self._table,
            "Item": _credential_to_item(credential),
            "ConditionExpression": "attribute_not_exists(credentialId)",
        }
        try:
            if step_up is None:
                self._client.put_item(**put)
            else:
                self._client.transact_write_items(
                    TransactItems=[{"Put": put}, {"Update": self._counter_update(step_up)}]
                )
        except ClientError as exc:
            code = error_code(exc)
            if code == "ConditionalCheckFailedException":
                raise ConflictError("This security key is already registered.") from exc
            if code == "TransactionCanceledException":
                reasons = _cancellation_codes(exc)
                if reasons[:1] == ["ConditionalCheckFailed"]:
                    raise ConflictError("This security key is already registered.") from exc
                if "ConditionalCheckFailed" in reasons:
                    raise CeremonyFailedError(
                        "step-up key counter did not advance or key was removed"
                    ) from exc
            raise dependency_error(exc, service="dynamodb") from exc
        except BotoCoreError as exc:
            raise dependency_error(exc, service="dynamodb") from exc

    def advance_counter(self, advance: CounterAdvance) -> None:
        try:
            self._client.update_item(**self._counter_update(advance))
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise CeremonyFailedError(
                    "sign counter did not advance in the store (race, clone or removed key)"
                ) from exc
            raise dependency_error(exc, service="dynamodb") from exc
        except BotoCoreError as exc:
            raise dependency_error(exc, service="dynamodb") from exc

    def delete(self, user_name: str, credential_id: bytes, *, step_up: CounterAdvance) -> None:
        key = _credential_key(user_name, credential_id)
        try:
            if step_up.credential_id == credential_id and step_up.user_name == user_name:
                # The key approves its own removal: one conditional delete.
                condition, values = _counter_condition(step_up)
                self._client.delete_item(
                    TableName=self._table,
                    Key=key,
                    ConditionExpression=condition,
                    ExpressionAttributeValues=values,
                )
            else:
                self._client.transact_write_items(
                    TransactItems=[
                        {
                            "Delete": {
                                "TableName": self._table,
                                "Key": key,
                                "ConditionExpression": "attribute_exists(credentialId)",
                            }
                        },
                        {"Update": self._counter_update(step_up)},
                    ]
                )
        except ClientError as exc:
            code = error_code(exc)
            if code == "ConditionalCheckFailedException":
                raise CeremonyFailedError("key removed or counter did not advance") from exc
            if code == "TransactionCanceledException":
                reasons = _cancellation_codes(exc)
                if reasons[:1] == ["ConditionalCheckFailed"]:
                    raise NotFoundError("No such credential.") from exc
                if "ConditionalCheckFailed" in reasons:
                    raise CeremonyFailedError("approving key counter did not advance") from exc
            raise dependency_error(exc, service="dynamodb") from exc
        except BotoCoreError as exc:
            raise dependency_error(exc, service="dynamodb") from exc

    def _counter_update(self, advance: CounterAdvance) -> dict[str, Any]:
        condition, values = _counter_condition(advance)
        values[":t"] = {"S": advance.used_at}
        return {
            "TableName": self._table,
            "Key": _credential_key(advance.user_name, advance.credential_id),
            "UpdateExpression": "SET signCount = :new, lastUsedAt = :t",
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }

    def _query(self, **kwargs: Any) -> Iterator[Item]:
        request: dict[str, Any] = {"TableName": self._table, **kwargs}
        try:
            while True:
                page = self._client.query(**request)
                yield from page.get("Items", [])
                last = page.get("LastEvaluatedKey")
                if not last:
                    return
                request["ExclusiveStartKey"] = last
        except (ClientError, BotoCoreError) as exc:
            raise dependency_error(exc, service="dynamodb") from exc


class DynamoCeremonyStore:
    """Ceremonies table: PK ceremonyId; TTL attribute expiresAt (deletion is lazy)."""

    def __init__(self, client: Any, *, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def put(self, ceremony: Ceremony) -> None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=_ceremony_to_item(ceremony),
                ConditionExpression="attribute_not_exists(ceremonyId)",
            )
        except (ClientError, BotoCoreError) as exc:
            raise dependency_error(exc, service="dynamodb") from exc

    def consume(
        self, ceremony_id: str, *, kind: CeremonyKind, user_name: str | None, now: int
    ) -> Ceremony:
        """One conditional write marks the ceremony used and drops its challenge.

        A tombstone (consumedAt, no state) stays until TTL removes it, so a
        second answer gets 409 rather than looking unknown. The expiry is in the
        condition because TTL deletion can lag by days.
        """
        values: dict[str, Any] = {":now": {"N": str(now)}, ":kind": {"S": kind.value}}
        condition = (
            "attribute_exists(ceremonyId) AND attribute_not_exists(consumedAt)"
            " AND expiresAt > :now AND kind = :kind"
        )
        if user_name is None:
            condition += " AND attribute_not_exists(userName)"
        else:
            condition += " AND userName = :user"
            values[":user"] = {"S": user_name}
        try:
            result = self._client.update_item(
                TableName=self._table,
                Key={"ceremonyId": {"S": ceremony_id}},
                UpdateExpression="SET consumedAt = :now REMOVE #state, allowed, stepUpState",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise _why_not_consumed(exc, kind=kind, user_name=user_name) from exc
            raise dependency_error(exc, service="dynamodb") from exc
        except BotoCoreError as exc:
            raise dependency_error(exc, service="dynamodb") from exc
        return _ceremony_from_item(result["Attributes"])


class DynamoAuditLog:
    """Audit table: PK userName, SK at (ISO time + random suffix); TTL expiresAt."""

    def __init__(self, client: Any, *, table_name: str, retention_days: int) -> None:
        self._client = client
        self._table = table_name
        self._retention = retention_days * 86400

    def record(self, record: AuditRecord) -> None:
        at = datetime.strptime(record.at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        item: Item = {
            "userName": {"S": record.user_name},
            "at": {"S": f"{record.at}#{_random_suffix()}"},
            "event": {"S": record.event},
            "outcome": {"S": record.outcome},
            "expiresAt": {"N": str(int(at.timestamp()) + self._retention)},
        }
        optional = {
            "credentialId": record.credential_id,
            "roleArn": record.role_arn,
            "sourceIp": record.source_ip,
            "userAgent": record.user_agent,
            "reason": record.reason,
        }
        item.update({k: {"S": v} for k, v in optional.items() if v})
        try:
            self._client.put_item(TableName=self._table, Item=item)
        except (ClientError, BotoCoreError) as exc:
            raise dependency_error(exc, service="dynamodb") from exc


# -- item mapping -------------------------------------------------------------


def _credential_key(user_name: str, credential_id: bytes) -> Item:
    return {"userName": {"S": user_name}, "credentialId": {"S": websafe_encode(credential_id)}}


def _counter_condition(advance: CounterAdvance) -> tuple[str, dict[str, Any]]:
    if advance.old == 0 and advance.new == 0:
        # An authenticator without a counter: nothing to race on, but the key must exist.
        return (
            "attribute_exists(credentialId) AND signCount = :new",
            {":new": {"N": "0"}},
        )
    return (
        "attribute_exists(credentialId) AND signCount < :new",
        {":new": {"N": str(advance.new)}},
    )


def _credential_to_item(c: StoredCredential) -> Item:
    item: Item = {
        **_credential_key(c.user_name, c.credential_id),
        "credentialData": {"B": c.credential_data},
        "signCount": {"N": str(c.sign_count)},
        "userHandle": {"B": c.user_handle},
        "aaguid": {"S": c.aaguid},
        "createdAt": {"S": c.created_at},
        "nickname": {"S": c.nickname},
        "transports": {"L": [{"S": t} for t in c.transports]},
        "backupEligible": {"BOOL": c.backup_eligible},
        "backupState": {"BOOL": c.backup_state},
    }
    if c.last_used_at:
        item["lastUsedAt"] = {"S": c.last_used_at}
    return item


def _credential_from_item(item: Item) -> StoredCredential:
    return StoredCredential(
        user_name=item["userName"]["S"],
        credential_id=websafe_decode(item["credentialId"]["S"]),
        credential_data=bytes(item["credentialData"]["B"]),
        sign_count=int(item["signCount"]["N"]),
        user_handle=bytes(item["userHandle"]["B"]),
        aaguid=item["aaguid"]["S"],
        created_at=item["createdAt"]["S"],
        last_used_at=item.get("lastUsedAt", {}).get("S"),
        nickname=item.get("nickname", {}).get("S", ""),
        transports=tuple(t["S"] for t in item.get("transports", {}).get("L", [])),
        backup_eligible=item.get("backupEligible", {}).get("BOOL", False),
        backup_state=item.get("backupState", {}).get("BOOL", False),
    )


def _ceremony_to_item(c: Ceremony) -> Item:
    item: Item = {
        "ceremonyId": {"S": c.ceremony_id},
        "kind": {"S": c.kind.value},
        "state": {"S": json.dumps(c.state)},
        "expiresAt": {"N": str(c.expires_at)},
        "userVerification": {"S": c.user_verification.value},
        "nickname": {"S": c.nickname},
        "allowed": {
            "L": [
                {
                    "M": {
                        "id": {"B": s.credential_id},
                        "data": {"B": s.credential_data},
                        "count": {"N": str(s.sign_count)},
                    }
                }
                for s in c.allowed
            ]
        },
    }
    if c.user_name is not None:
        item["userName"] = {"S": c.user_name}
    if c.role_arn is not None:
        item["roleArn"] = {"S": c.role_arn}
    if c.user_handle is not None:
        item["userHandle"] = {"B": c.user_handle}
    if c.step_up_state is not None:
        item["stepUpState"] = {"S": json.dumps(c.step_up_state)}
    return item


def _ceremony_from_item(item: Item) -> Ceremony:
    step_up = item.get("stepUpState", {}).get("S")
    handle = item.get("userHandle", {}).get("B")
    return Ceremony(
        ceremony_id=item["ceremonyId"]["S"],
        kind=CeremonyKind(item["kind"]["S"]),
        user_name=item.get("userName", {}).get("S"),
        state=json.loads(item["state"]["S"]),
        expires_at=int(item["expiresAt"]["N"]),
        role_arn=item.get("roleArn", {}).get("S"),
        user_verification=UserVerification(item["userVerification"]["S"]),
        user_handle=bytes(handle) if handle is not None else None,
        nickname=item.get("nickname", {}).get("S", ""),
        allowed=tuple(
            CredentialSnapshot(
                credential_id=bytes(s["M"]["id"]["B"]),
                credential_data=bytes(s["M"]["data"]["B"]),
                sign_count=int(s["M"]["count"]["N"]),
            )
            for s in item.get("allowed", {}).get("L", [])
        ),
        step_up_state=json.loads(step_up) if step_up is not None else None,
    )


def _why_not_consumed(
    exc: ClientError, *, kind: CeremonyKind, user_name: str | None
) -> NotFoundError | ConflictError:
    old = exc.response.get("Item")
    unknown = NotFoundError("Unknown or expired ceremony; start a new one.")
    if not old:
        return unknown
    same_owner = old.get("userName", {}).get("S") == user_name
    if old.get("kind", {}).get("S") != kind.value or not same_owner:
        unknown.reason = "ceremony of another kind or user"
        return unknown
    if "consumedAt" in old:
        return ConflictError("This ceremony was already used; start a new one.")
    unknown.reason = "ceremony expired"
    return unknown


def _cancellation_codes(exc: ClientError) -> list[str]:
    reasons = exc.response.get("CancellationReasons") or []
    return [str(r.get("Code", "")) for r in reasons]


def _random_suffix() -> str:
    return secrets.token_hex(4)
