"""DynamoDB adapters: credentials, ceremonies, enrollment tokens and audit records.

Each takes an injected low-level boto3 DynamoDB client. Access patterns are
single-item reads and writes and queries by key; nothing scans.

A credential id is unique across users: next to each key's item
``(userName, credentialId)`` the credentials table holds a guard item
``(GUARD_USER, credentialId)`` written and removed in the same transaction.
``GUARD_USER`` starts with ``#``, which no IAM user or session name can
contain, so it never collides with a user's partition; the guard also appears
in the ``byCredentialId`` index, where ``find_by_id`` skips it.

Each user's partition also holds one key-set item ``(userName, KEY_SET_ID)`` with a
``version`` and a ``keyCount``: every transaction that adds or removes a key checks that the
version is the one its ceremony was begun against and moves it on, so a decision made when
the ceremony began (step-up or not, the key cap) holds when the key is stored. ``#`` is
outside the base64url alphabet, so ``KEY_SET_ID`` is never a credential id; the item lands
in the ``byCredentialId`` index under that one key, which no lookup asks for.

Enrollment tokens live in the ceremonies table under ``enrollment#<sha256>``
(``#`` is outside the ceremony-id alphabet, so no client-supplied ceremony id
can address one), with kind ``enrollment`` so no ceremony consume can match. Browser
sign-in codes live there too, under ``code#<sha256>`` with kind ``code``.
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
from tapgate_broker.core.code_exchange import CodeInvalidError, SignInCode
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
    Binding,
    Ceremony,
    CeremonyKind,
    CredentialSnapshot,
    EnrollmentToken,
    KeySet,
    KeySetPin,
    StoredCredential,
    UserVerification,
    Via,
)
from tapgate_broker.core.ports import CounterAdvance, TokenUse
from tapgate_contract.tables import (
    AUDIT_AT,
    CEREMONY_ID,
    CREDENTIAL_ID,
    CREDENTIAL_ID_INDEX,
    TTL_ATTRIBUTE,
    USER_NAME,
)

GUARD_USER = "#credential-id"
KEY_SET_ID = "#keyset"
ENROLLMENT_KIND = "enrollment"
ENROLLMENT_PREFIX = "enrollment#"
CODE_KIND = "code"
CODE_PREFIX = "code#"
Item = dict[str, dict[str, Any]]
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
                        **_credential_key(GUARD_USER, credential.credential_id),
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
                reasons = _cancellation_codes(exc)
                for reason, failure in zip(reasons, failures, strict=False):
                    if reason == "ConditionalCheckFailed":
                        raise failure from exc
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

    def delete(
        self,
        user_name: str,
        credential_id: bytes,
        *,
        key_set: KeySetPin,
        step_up: CounterAdvance,
        audit: AuditRecord | None = None,
    ) -> None:
        """One transaction: the key, its id guard, the key set's next version, the approving
        key's counter, the audit."""
        key = _credential_key(user_name, credential_id)
        guard = {
            "Delete": {
                "TableName": self._table,
                "Key": _credential_key(GUARD_USER, credential_id),
                "ConditionExpression": f"attribute_not_exists({CREDENTIAL_ID}) OR #owner = :owner",
                "ExpressionAttributeNames": {"#owner": "owner"},
                "ExpressionAttributeValues": {":owner": {"S": user_name}},
            }
        }
        if step_up.credential_id == credential_id and step_up.user_name == user_name:
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
            failures: list[TapgateError] = [
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
        try:
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression=f"attribute_not_exists({CEREMONY_ID})",
            )
        except (ClientError, BotoCoreError) as exc:
            raise dependency_error(exc, service="dynamodb") from exc

    def get(self, token_hash: str) -> EnrollmentToken | None:
        try:
            answer = self._client.get_item(
                TableName=self._table,
                Key={CEREMONY_ID: {"S": ENROLLMENT_PREFIX + token_hash}},
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise dependency_error(exc, service="dynamodb") from exc
        item = answer.get("Item")
        if not item or item.get("kind", {}).get("S") != ENROLLMENT_KIND:
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


class DynamoCodeStore:
    """Browser sign-in codes in the ceremonies table, keyed by ``code#<sha256 hex>``; the
    redeeming transaction checks the signing key's item in the credentials table."""

    def __init__(self, client: Any, *, table_name: str, credentials_table: str) -> None:
        self._client = client
        self._table = table_name
        self._credentials_table = credentials_table

    def put(self, code: SignInCode) -> None:
        item: Item = {
            CEREMONY_ID: {"S": CODE_PREFIX + code.code_hash},
            "kind": {"S": CODE_KIND},
            "fromCeremony": {"S": code.ceremony_id},
            "userName": {"S": code.user_name},
            "credentialId": {"S": websafe_encode(code.credential_id)},
            "roleArn": {"S": code.role_arn},
            "userVerified": {"BOOL": code.user_verified},
            "codeChallenge": {"S": code.code_challenge},
            "redirectPort": {"N": str(code.redirect_port)},
            TTL_ATTRIBUTE: {"N": str(code.expires_at)},
        }
        try:
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression=f"attribute_not_exists({CEREMONY_ID})",
            )
        except (ClientError, BotoCoreError) as exc:
            raise dependency_error(exc, service="dynamodb") from exc

    def get(self, code_hash: str) -> SignInCode | None:
        try:
            answer = self._client.get_item(
                TableName=self._table,
                Key={CEREMONY_ID: {"S": CODE_PREFIX + code_hash}},
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise dependency_error(exc, service="dynamodb") from exc
        item = answer.get("Item")
        if not item or item.get("kind", {}).get("S") != CODE_KIND:
            return None
        used = item.get("usedAt", {}).get("N")
        return SignInCode(
            code_hash=code_hash,
            ceremony_id=item["fromCeremony"]["S"],
            user_name=item["userName"]["S"],
            credential_id=websafe_decode(item["credentialId"]["S"]),
            role_arn=item["roleArn"]["S"],
            user_verified=bool(item["userVerified"]["BOOL"]),
            code_challenge=item["codeChallenge"]["S"],
            redirect_port=int(item["redirectPort"]["N"]),
            expires_at=int(item[TTL_ATTRIBUTE]["N"]),
            used_at=int(used) if used is not None else None,
        )

    def redeem(self, code: SignInCode, *, now: int) -> None:
        """One transaction: the code used up (if unused, unexpired, with the challenge and
        port that were checked) and the signing key still registered."""
        items = [
            {
                "Update": {
                    **self._use(code.code_hash, now=now),
                    "ConditionExpression": (
                        f"attribute_exists({CEREMONY_ID}) AND attribute_not_exists(usedAt)"
                        f" AND {TTL_ATTRIBUTE} > :now AND kind = :kind"
                        " AND codeChallenge = :challenge AND redirectPort = :port"
                    ),
                    "ExpressionAttributeValues": {
                        ":now": {"N": str(now)},
                        ":kind": {"S": CODE_KIND},
                        ":challenge": {"S": code.code_challenge},
                        ":port": {"N": str(code.redirect_port)},
                    },
                }
            },
            {
                "ConditionCheck": {
                    "TableName": self._credentials_table,
                    "Key": _credential_key(code.user_name, code.credential_id),
                    "ConditionExpression": f"attribute_exists({CREDENTIAL_ID})",
                }
            },
        ]
        failures: list[TapgateError] = [
            CodeInvalidError("code used or expired meanwhile"),
            CeremonyFailedError("the key that signed was removed before the code was redeemed"),
        ]
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if error_code(exc) == "TransactionCanceledException":
                for reason, failure in zip(_cancellation_codes(exc), failures, strict=False):
                    if reason == "ConditionalCheckFailed":
                        raise failure from exc
            raise dependency_error(exc, service="dynamodb") from exc
        except BotoCoreError as exc:
            raise dependency_error(exc, service="dynamodb") from exc

    def burn(self, code_hash: str, *, now: int) -> None:
        try:
            self._client.update_item(
                **self._use(code_hash, now=now),
                ConditionExpression=f"attribute_exists({CEREMONY_ID}) AND kind = :kind",
                ExpressionAttributeValues={":now": {"N": str(now)}, ":kind": {"S": CODE_KIND}},
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return  # gone already: nothing left to burn
            raise dependency_error(exc, service="dynamodb") from exc
        except BotoCoreError as exc:
            raise dependency_error(exc, service="dynamodb") from exc

    def _use(self, code_hash: str, *, now: int) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Key": {CEREMONY_ID: {"S": CODE_PREFIX + code_hash}},
            "UpdateExpression": "SET usedAt = :now",
        }


class DynamoAuditLog:
    """Audit table: PK userName, SK at (ISO time + random suffix); TTL expiresAt."""

    def __init__(self, client: Any, *, table_name: str, retention_days: int) -> None:
        self._client = client
        self._table = table_name
        self._retention = retention_days * 86400

    def record(self, record: AuditRecord) -> None:
        try:
            self._client.put_item(**self.put_request(record))
        except (ClientError, BotoCoreError) as exc:
            raise dependency_error(exc, service="dynamodb") from exc

    def put_request(self, record: AuditRecord) -> dict[str, Any]:
        """The PutItem parameters of a record (also used inside other transactions)."""
        at = datetime.strptime(record.at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        item: Item = {
            USER_NAME: {"S": record.user_name},
            AUDIT_AT: {"S": f"{record.at}#{_random_suffix()}"},
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
        }
        item.update({k: {"S": v} for k, v in optional.items() if v})
        item.update({k: {"S": v} for k, v in record.extra.items() if v and k not in item})
        return {"TableName": self._table, "Item": item}


# -- item mapping -------------------------------------------------------------


def _credential_key(user_name: str, credential_id: bytes) -> Item:
    return {USER_NAME: {"S": user_name}, CREDENTIAL_ID: {"S": websafe_encode(credential_id)}}


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
    )


def _ceremony_to_item(c: Ceremony) -> Item:
    item: Item = {
        CEREMONY_ID: {"S": c.ceremony_id},
        "kind": {"S": c.kind.value},
        "state": {"S": json.dumps(c.state)},
        TTL_ATTRIBUTE: {"N": str(c.expires_at)},
        "userVerification": {"S": c.user_verification.value},
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


def _cancellation_codes(exc: ClientError) -> list[str]:
    reasons = exc.response.get("CancellationReasons") or []
    return [str(r.get("Code", "")) for r in reasons]


def _random_suffix() -> str:
    return secrets.token_hex(4)
