"""Browser sign-in codes (``tapgate_broker.core.code_exchange``) in the ceremonies table,
under ``code#<sha256>`` with kind ``code`` (``#`` is outside the ceremony-id alphabet, so no
client-supplied ceremony id can address one, and no ceremony consume matches the kind)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from fido2.utils import websafe_decode, websafe_encode

from tapgate_broker.adapters.aws_errors import dependency_error, error_code
from tapgate_broker.adapters.dynamodb.ceremonies import put_new, read_kind
from tapgate_broker.adapters.dynamodb.keys import (
    CODE_KIND,
    CODE_PREFIX,
    Item,
    cancellation_codes,
    credential_key,
)
from tapgate_broker.core.code_exchange import CodeInvalidError, SignInCode
from tapgate_broker.core.errors import CeremonyFailedError, TapgateError
from tapgate_contract.tables import CEREMONY_ID, CREDENTIAL_ID, TTL_ATTRIBUTE


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
            "assurance": {"S": code.assurance},
            "codeChallenge": {"S": code.code_challenge},
            "redirectPort": {"N": str(code.redirect_port)},
            TTL_ATTRIBUTE: {"N": str(code.expires_at)},
        }
        put_new(self._client, self._table, item)

    def get(self, code_hash: str) -> SignInCode | None:
        item = read_kind(self._client, self._table, CODE_PREFIX + code_hash, CODE_KIND)
        if item is None:
            return None
        used = item.get("usedAt", {}).get("N")
        return SignInCode(
            code_hash=code_hash,
            ceremony_id=item["fromCeremony"]["S"],
            user_name=item["userName"]["S"],
            credential_id=websafe_decode(item["credentialId"]["S"]),
            role_arn=item["roleArn"]["S"],
            user_verified=bool(item["userVerified"]["BOOL"]),
            assurance=item["assurance"]["S"],
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
                    "Key": credential_key(code.user_name, code.credential_id),
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
                for reason, failure in zip(cancellation_codes(exc), failures, strict=False):
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
