"""The ceremonies table: ceremonies, used once, and enrollment tokens (see the package)."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tapgate_broker.adapters.aws_errors import dependency_error, error_code
from tapgate_broker.adapters.dynamodb.keys import (
    ASSURANCE,
    ENROLLMENT_KIND,
    ENROLLMENT_PREFIX,
    Item,
    assurance_from_attribute,
    assurance_to_attribute,
)
from tapgate_broker.core.errors import (
    ConflictError,
    NotFoundError,
)
from tapgate_broker.core.models import (
    Binding,
    Ceremony,
    CeremonyKind,
    CredentialSnapshot,
    EnrollmentToken,
    KeySetPin,
    Via,
)
from tapgate_contract.tables import (
    CEREMONY_ID,
    TTL_ATTRIBUTE,
)


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
                ConditionExpression=f"attribute_not_exists({CEREMONY_ID})",
            )
        except (ClientError, BotoCoreError) as exc:
            raise dependency_error(exc, service="dynamodb") from exc

    def consume(
        self,
        ceremony_id: str,
        *,
        kind: CeremonyKind,
        user_name: str | None,
        binding: Binding,
        now: int,
    ) -> Ceremony:
        """One conditional write marks the ceremony used and drops its challenge.

        A tombstone (consumedAt, no state) stays until TTL removes it, so a
        second answer gets 409 rather than looking unknown. The expiry is in the
        condition because TTL deletion can lag by days.
        """
        values: dict[str, Any] = {
            ":now": {"N": str(now)},
            ":kind": {"S": kind.value},
            ":via": {"S": binding.via.value},
            ":by": {"S": binding.principal},
        }
        condition = (
            f"attribute_exists({CEREMONY_ID}) AND attribute_not_exists(consumedAt)"
            f" AND {TTL_ATTRIBUTE} > :now AND kind = :kind AND via = :via AND begunBy = :by"
        )
        if user_name is None:
            condition += " AND attribute_not_exists(userName)"
        else:
            condition += " AND userName = :user"
            values[":user"] = {"S": user_name}
        try:
            result = self._client.update_item(
                TableName=self._table,
                Key={CEREMONY_ID: {"S": ceremony_id}},
                UpdateExpression="SET consumedAt = :now REMOVE #state, allowed, stepUpState",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise _why_not_consumed(
                    exc, kind=kind, user_name=user_name, binding=binding
                ) from exc
            raise dependency_error(exc, service="dynamodb") from exc
        except BotoCoreError as exc:
            raise dependency_error(exc, service="dynamodb") from exc
        return _ceremony_from_item(result["Attributes"])


class DynamoEnrollmentStore:
    """Enrollment tokens in the ceremonies table, keyed by ``enrollment#<sha256 hex>``."""

    def __init__(self, client: Any, *, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def put(self, token: EnrollmentToken) -> None:
        item: Item = {
            CEREMONY_ID: {"S": ENROLLMENT_PREFIX + token.token_hash},
            "kind": {"S": ENROLLMENT_KIND},
            "userName": {"S": token.user_name},
            "issuedBy": {"S": token.issued_by},
            "adminIssued": {"BOOL": token.admin_issued},
            TTL_ATTRIBUTE: {"N": str(token.expires_at)},
        }
        put_new(self._client, self._table, item)

    def get(self, token_hash: str) -> EnrollmentToken | None:
        item = read_kind(self._client, self._table, ENROLLMENT_PREFIX + token_hash, ENROLLMENT_KIND)
        if item is None:
            return None
        used = item.get("usedAt", {}).get("N")
        return EnrollmentToken(
            token_hash=token_hash,
            user_name=item["userName"]["S"],
            issued_by=item.get("issuedBy", {}).get("S", ""),
            admin_issued=bool(item.get("adminIssued", {}).get("BOOL", False)),
            expires_at=int(item[TTL_ATTRIBUTE]["N"]),
            used_at=int(used) if used is not None else None,
        )


# -- item mapping -------------------------------------------------------------


def _ceremony_to_item(c: Ceremony) -> Item:
    item: Item = {
        CEREMONY_ID: {"S": c.ceremony_id},
        "kind": {"S": c.kind.value},
        "state": {"S": json.dumps(c.state)},
        TTL_ATTRIBUTE: {"N": str(c.expires_at)},
        "nickname": {"S": c.nickname},
        "via": {"S": c.binding.via.value},
        "begunBy": {"S": c.binding.principal},
        "allowed": {
            "L": [
                {
                    "M": {
                        "id": {"B": s.credential_id},
                        "data": {"B": s.credential_data},
                        "count": {"N": str(s.sign_count)},
                        **({"name": {"S": s.nickname}} if s.nickname else {}),
                        **(
                            {ASSURANCE: assurance_to_attribute(s.assurance)}
                            if s.assurance is not None
                            else {}
                        ),
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
    if c.key_set is not None:
        item["keySetVersion"] = {"N": str(c.key_set.version)}
        item["keyCount"] = {"N": str(c.key_set.count)}
    return item


def _ceremony_from_item(item: Item) -> Ceremony:
    step_up = item.get("stepUpState", {}).get("S")
    handle = item.get("userHandle", {}).get("B")
    version = item.get("keySetVersion", {}).get("N")
    return Ceremony(
        ceremony_id=item[CEREMONY_ID]["S"],
        kind=CeremonyKind(item["kind"]["S"]),
        user_name=item.get("userName", {}).get("S"),
        state=json.loads(item["state"]["S"]),
        expires_at=int(item[TTL_ATTRIBUTE]["N"]),
        role_arn=item.get("roleArn", {}).get("S"),
        user_handle=bytes(handle) if handle is not None else None,
        nickname=item.get("nickname", {}).get("S", ""),
        allowed=tuple(
            CredentialSnapshot(
                credential_id=bytes(s["M"]["id"]["B"]),
                credential_data=bytes(s["M"]["data"]["B"]),
                sign_count=int(s["M"]["count"]["N"]),
                nickname=s["M"].get("name", {}).get("S", ""),
                assurance=assurance_from_attribute(s["M"].get(ASSURANCE)),
            )
            for s in item.get("allowed", {}).get("L", [])
        ),
        step_up_state=json.loads(step_up) if step_up is not None else None,
        binding=Binding(via=Via(item["via"]["S"]), principal=item["begunBy"]["S"]),
        key_set=(
            KeySetPin(version=int(version), count=int(item["keyCount"]["N"]))
            if version is not None
            else None
        ),
    )


def _why_not_consumed(
    exc: ClientError, *, kind: CeremonyKind, user_name: str | None, binding: Binding
) -> NotFoundError | ConflictError:
    old = exc.response.get("Item")
    unknown = NotFoundError("Unknown or expired ceremony; start a new one.")
    if not old:
        return unknown
    same_owner = old.get("userName", {}).get("S") == user_name
    if old.get("kind", {}).get("S") != kind.value or not same_owner:
        unknown.reason = "ceremony of another kind or user"
        return unknown
    if (
        old.get("via", {}).get("S") != binding.via.value
        or old.get("begunBy", {}).get("S") != binding.principal
    ):
        unknown.reason = "ceremony begun on another route family or by another caller"
        return unknown
    if "consumedAt" in old:
        return ConflictError("This ceremony was already used; start a new one.")
    unknown.reason = "ceremony expired"
    return unknown


def put_new(client: Any, table: str, item: Item) -> None:
    """Write a ceremonies-table item that must not exist yet (a random key never repeats)."""
    try:
        client.put_item(
            TableName=table,
            Item=item,
            ConditionExpression=f"attribute_not_exists({CEREMONY_ID})",
        )
    except (ClientError, BotoCoreError) as exc:
        raise dependency_error(exc, service="dynamodb") from exc


def read_kind(client: Any, table: str, ceremony_id: str, kind: str) -> Item | None:
    """A ceremonies-table item by key (consistent read), or None when absent or not ``kind``."""
    try:
        answer = client.get_item(
            TableName=table, Key={CEREMONY_ID: {"S": ceremony_id}}, ConsistentRead=True
        )
    except (ClientError, BotoCoreError) as exc:
        raise dependency_error(exc, service="dynamodb") from exc
    item: Item | None = answer.get("Item")
    if not item or item.get("kind", {}).get("S") != kind:
        return None
    return item
