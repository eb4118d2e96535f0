"""The credentials table: keys, their id guards and key-set items (see the package)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from fido2.utils import websafe_decode, websafe_encode

from tapgate_broker.adapters.aws_errors import dependency_error, error_code
from tapgate_broker.adapters.dynamodb.audit import DynamoAuditLog
from tapgate_broker.adapters.dynamodb.keys import (
    ASSURANCE,
    ENROLLMENT_KIND,
    ENROLLMENT_PREFIX,
    GUARD_USER,
    KEY_SET_ID,
    Item,
    assurance_from_attribute,
    assurance_to_attribute,
    cancellation_codes,
    credential_key,
)
from tapgate_broker.core.errors import (
    CeremonyFailedError,
    ConflictError,
    EnrollmentTokenInvalidError,
    KeySetChangedError,
    NotFoundError,
    TapgateError,
)
from tapgate_broker.core.key_sets import key_cap_detail
from tapgate_broker.core.models import (
    AuditRecord,
    KeySet,
    KeySetPin,
    StoredCredential,
)
from tapgate_broker.core.ports import CounterAdvance, TokenUse
from tapgate_contract.tables import (
    CEREMONY_ID,
    CREDENTIAL_ID,
    CREDENTIAL_ID_INDEX,
    TTL_ATTRIBUTE,
    USER_NAME,
)

_CONFLICT = "This security key is already registered."


class DynamoCredentialStore:
    """Credentials table: PK userName, SK credentialId (base64url); GSI byCredentialId.

    ``tokens_table`` is the ceremonies table, where enrollment tokens are used up in the
    same transaction that stores the key they enrolled; ``audit_log`` gives the audit
    record's item, written in the same transaction as the key it is about.
    """

    def __init__(
        self, client: Any, *, table_name: str, tokens_table: str, audit_log: DynamoAuditLog
    ) -> None:
        self._client = client
        self._table = table_name
        self._tokens_table = tokens_table
        self._audit_log = audit_log

    def list_for_user(self, user_name: str) -> list[StoredCredential]:
        return list(self.key_set(user_name).keys)

    def key_set(self, user_name: str) -> KeySet:
        version = 0
        keys: list[StoredCredential] = []
        for item in self._query(
            KeyConditionExpression=f"{USER_NAME} = :u",
            ExpressionAttributeValues={":u": {"S": user_name}},
            ConsistentRead=True,
        ):
            if item[CREDENTIAL_ID]["S"] == KEY_SET_ID:
                version = int(item["version"]["N"])
            elif not item[CREDENTIAL_ID]["S"].startswith("#"):
                keys.append(_credential_from_item(item))
        return KeySet(version=version, keys=tuple(keys))

    def find_by_id(self, credential_id: bytes) -> list[StoredCredential]:
        return [
            _credential_from_item(item)
            for item in self._query(
                IndexName=CREDENTIAL_ID_INDEX,
                KeyConditionExpression=f"{CREDENTIAL_ID} = :c",
                ExpressionAttributeValues={":c": {"S": websafe_encode(credential_id)}},
            )
            if item.get(USER_NAME, {}).get("S") != GUARD_USER
        ]

    def add(
        self,
        credential: StoredCredential,
        *,
        key_set: KeySetPin,
        max_keys: int,
        step_up: CounterAdvance | None,
        token: TokenUse | None = None,
        audit: AuditRecord | None = None,
    ) -> None:
        """One transaction: the key, its id guard, the key set's next version, the step-up
        counter, the token's use and the audit record."""
        if key_set.count + 1 > max_keys:
            raise KeySetChangedError(f"key cap {max_keys} reached", detail=key_cap_detail(max_keys))
        new_id = f"attribute_not_exists({CREDENTIAL_ID})"
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": _credential_to_item(credential),
                    "ConditionExpression": new_id,
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        **credential_key(GUARD_USER, credential.credential_id),
                        "owner": {"S": credential.user_name},
                    },
                    "ConditionExpression": new_id,
                }
            },
        ]
        failures: list[TapgateError] = [ConflictError(_CONFLICT), ConflictError(_CONFLICT)]
        # When several conditions fail, the first listed names the failure: a used link,
        # then a step-up key that moved, then a key set that changed.
        if token is not None:
            items.append({"Update": self._token_use(token)})
            failures.append(EnrollmentTokenInvalidError("enrollment token used or expired"))
        if step_up is not None:
            items.append({"Update": self._counter_update(step_up)})
            failures.append(
                CeremonyFailedError("step-up key counter did not advance or key was removed")
            )
        items.append(
            {"Update": self._key_set_update(credential.user_name, key_set, delta=1, cap=max_keys)}
        )
        failures.append(KeySetChangedError("key set version moved (or cap) since options"))
        if audit is not None:
            items.append({"Put": self._audit_log.put_request(audit)})
        self._transact(items, failures)

    def _key_set_update(
        self, user_name: str, pin: KeySetPin, *, delta: int, cap: int | None = None
    ) -> dict[str, Any]:
        """Move the user's key set from ``pin.version`` to the next, with its new count."""
        values: dict[str, Any] = {
            ":next": {"N": str(pin.version + 1)},
            ":count": {"N": str(pin.count + delta)},
        }
        if pin.version == 0:
            condition = "attribute_not_exists(version)"
        else:
            condition = "version = :version"
            values[":version"] = {"N": str(pin.version)}
            if cap is not None:
                condition += " AND keyCount < :cap"
                values[":cap"] = {"N": str(cap)}
        return {
            "TableName": self._table,
            "Key": {USER_NAME: {"S": user_name}, CREDENTIAL_ID: {"S": KEY_SET_ID}},
            "UpdateExpression": "SET version = :next, keyCount = :count",
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }

    def _token_use(self, token: TokenUse) -> dict[str, Any]:
        return {
            "TableName": self._tokens_table,
            "Key": {CEREMONY_ID: {"S": ENROLLMENT_PREFIX + token.token_hash}},
            "UpdateExpression": "SET usedAt = :now",
            "ConditionExpression": (
                f"attribute_exists({CEREMONY_ID}) AND attribute_not_exists(usedAt)"
                f" AND {TTL_ATTRIBUTE} > :now AND kind = :kind"
            ),
            "ExpressionAttributeValues": {
                ":now": {"N": str(token.now)},
                ":kind": {"S": ENROLLMENT_KIND},
            },
        }

    def _transact(self, items: list[dict[str, Any]], failures: list[TapgateError]) -> None:
        """Write ``items`` at once; a failed condition raises the matching ``failures`` entry."""
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if error_code(exc) == "TransactionCanceledException":
                reasons = cancellation_codes(exc)
                for reason, failure in zip(reasons, failures, strict=False):
                    if reason == "ConditionalCheckFailed":
                        raise failure from exc
            raise dependency_error(exc, service="dynamodb") from exc
        except BotoCoreError as exc:
            raise dependency_error(exc, service="dynamodb") from exc

    def advance_counter(self, advance: CounterAdvance, *, audit: AuditRecord) -> None:
        """One transaction: the counter's conditional move and the audit record. A failed
        condition says whether the key is gone (revoked since the ceremony began: not a
        possible clone) or its counter did not advance (a race or a clone)."""
        update = {**self._counter_update(advance), "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
        try:
            self._client.transact_write_items(
                TransactItems=[{"Update": update}, {"Put": self._audit_log.put_request(audit)}]
            )
        except ClientError as exc:
            if error_code(exc) == "TransactionCanceledException":
                reasons = exc.response.get("CancellationReasons") or []
                if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                    if not reasons[0].get("Item"):
                        raise CeremonyFailedError(
                            "key removed since the ceremony began (revoked)"
                        ) from exc
                    raise CeremonyFailedError(
                        "sign counter did not advance in the store (race or clone)"
                    ) from exc
            raise dependency_error(exc, service="dynamodb") from exc
        except BotoCoreError as exc:
            raise dependency_error(exc, service="dynamodb") from exc

    def delete(
        self,
        user_name: str,
        credential_id: bytes,
        *,
        key_set: KeySetPin,
        step_up: CounterAdvance | None,
        audit: AuditRecord | None = None,
    ) -> None:
        """One transaction: the key, its id guard, the key set's next version, the approving
        key's counter (when given), the audit."""
        key = credential_key(user_name, credential_id)
        guard = {
            "Delete": {
                "TableName": self._table,
                "Key": credential_key(GUARD_USER, credential_id),
                "ConditionExpression": f"attribute_not_exists({CREDENTIAL_ID}) OR #owner = :owner",
                "ExpressionAttributeNames": {"#owner": "owner"},
                "ExpressionAttributeValues": {":owner": {"S": user_name}},
            }
        }
        if step_up is None:
            items = [
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": key,
                        "ConditionExpression": f"attribute_exists({CREDENTIAL_ID})",
                    }
                },
                guard,
            ]
            failures: list[TapgateError] = [
                NotFoundError("No such credential."),
                NotFoundError("No such credential."),
            ]
        elif step_up.credential_id == credential_id and step_up.user_name == user_name:
            # The key approves its own removal: its delete carries the counter condition.
            condition, values = _counter_condition(step_up)
            items = [
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": key,
                        "ConditionExpression": condition,
                        "ExpressionAttributeValues": values,
                    }
                },
                guard,
            ]
            failures = [
                CeremonyFailedError("key removed or counter did not advance"),
                NotFoundError("No such credential."),
            ]
        else:
            items = [
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": key,
                        "ConditionExpression": f"attribute_exists({CREDENTIAL_ID})",
                    }
                },
                guard,
                {"Update": self._counter_update(step_up)},
            ]
            failures = [
                NotFoundError("No such credential."),
                NotFoundError("No such credential."),
                CeremonyFailedError("approving key counter did not advance"),
            ]
        items.append({"Update": self._key_set_update(user_name, key_set, delta=-1)})
        failures.append(KeySetChangedError("key set version moved since options"))
        if audit is not None:
            items.append({"Put": self._audit_log.put_request(audit)})
        self._transact(items, failures)

    def all_keys(self) -> list[StoredCredential]:
        """Every key: the id guards' partition names each key's owner, then one query per
        owner (a consistent read of that user's key set)."""
        owners = sorted(
            {
                item["owner"]["S"]
                for item in self._query(
                    KeyConditionExpression=f"{USER_NAME} = :u",
                    ExpressionAttributeValues={":u": {"S": GUARD_USER}},
                    ProjectionExpression="#owner",
                    ExpressionAttributeNames={"#owner": "owner"},
                )
                if "owner" in item
            }
        )
        return [key for owner in owners for key in self.key_set(owner).keys]

    def _counter_update(self, advance: CounterAdvance) -> dict[str, Any]:
        condition, values = _counter_condition(advance)
        values[":t"] = {"S": advance.used_at}
        expression = "SET signCount = :new, lastUsedAt = :t"
        if advance.assurance is not None:
            # The level sign-in found lower under newer metadata, kept with the key.
            values[":a"] = assurance_to_attribute(advance.assurance)
            expression += f", {ASSURANCE} = :a"
        return {
            "TableName": self._table,
            "Key": credential_key(advance.user_name, advance.credential_id),
            "UpdateExpression": expression,
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


# -- item mapping -------------------------------------------------------------


def _counter_condition(advance: CounterAdvance) -> tuple[str, dict[str, Any]]:
    if advance.old == 0 and advance.new == 0:
        # An authenticator without a counter: nothing to race on, but the key must exist.
        return (
            f"attribute_exists({CREDENTIAL_ID}) AND signCount = :new",
            {":new": {"N": "0"}},
        )
    return (
        f"attribute_exists({CREDENTIAL_ID}) AND signCount < :new",
        {":new": {"N": str(advance.new)}},
    )


def _credential_to_item(c: StoredCredential) -> Item:
    item: Item = {
        **credential_key(c.user_name, c.credential_id),
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
    if c.assurance is not None:
        item[ASSURANCE] = assurance_to_attribute(c.assurance)
    return item


def _credential_from_item(item: Item) -> StoredCredential:
    return StoredCredential(
        user_name=item[USER_NAME]["S"],
        credential_id=websafe_decode(item[CREDENTIAL_ID]["S"]),
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
        assurance=assurance_from_attribute(item.get(ASSURANCE)),
    )
