"""The three DynamoDB tables: what each is for, its keys, index and TTL.

The stack's constructs and local mode's ``create_table`` calls are both built from these
specs, and the broker's adapters address items with the same names. ``key_schema``,
``attribute_definitions`` and ``global_secondary_indexes`` use the shapes DynamoDB's API
and CloudFormation share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tapgate_contract import environment

# Key attributes (all strings).
USER_NAME = "userName"
CREDENTIAL_ID = "credentialId"  # base64url of the WebAuthn credential id
CEREMONY_ID = "ceremonyId"
AUDIT_AT = "at"  # ISO 8601 time plus a random suffix
# The audit trail by time, for everyone's events: partitioned by the UTC day of each record
# ("YYYY-MM-DD", the first ten characters of ``at``), sorted by ``at``. One partition takes
# a day's records: far below a partition's write limit at tapgate's ceremony rates.
AUDIT_DAY = "day"
AUDIT_TIME_INDEX = "byDay"
# The index for discoverable (passkey) sign-in: find a key's owner by credential id.
CREDENTIAL_ID_INDEX = "byCredentialId"
# Epoch seconds; DynamoDB deletes an expired item lazily (days later), so readers check it.
TTL_ATTRIBUTE = "expiresAt"
BILLING_MODE = "PAY_PER_REQUEST"  # every access is a key lookup or a per-user query


@dataclass(frozen=True)
class Index:
    name: str
    partition_key: str
    sort_key: str | None = None
    projection: str = "ALL"

    def key_schema(self) -> list[dict[str, str]]:
        keys = [{"AttributeName": self.partition_key, "KeyType": "HASH"}]
        if self.sort_key is not None:
            keys.append({"AttributeName": self.sort_key, "KeyType": "RANGE"})
        return keys


@dataclass(frozen=True)
class TableSpec:
    """One table: its logical role, the broker variable that names it, keys and settings."""

    role: str
    environment_variable: str
    partition_key: str
    sort_key: str | None = None
    indexes: tuple[Index, ...] = ()
    ttl_attribute: str | None = None
    point_in_time_recovery: bool = False

    def key_schema(self) -> list[dict[str, str]]:
        keys = [{"AttributeName": self.partition_key, "KeyType": "HASH"}]
        if self.sort_key is not None:
            keys.append({"AttributeName": self.sort_key, "KeyType": "RANGE"})
        return keys

    def attribute_definitions(self) -> list[dict[str, str]]:
        names = [self.partition_key, *([self.sort_key] if self.sort_key else [])]
        for index in self.indexes:
            for name in (index.partition_key, index.sort_key):
                if name is not None and name not in names:
                    names.append(name)
        return [{"AttributeName": name, "AttributeType": "S"} for name in names]

    def global_secondary_indexes(self) -> list[dict[str, Any]]:
        return [
            {
                "IndexName": index.name,
                "KeySchema": index.key_schema(),
                "Projection": {"ProjectionType": index.projection},
            }
            for index in self.indexes
        ]


# Registered keys (durable: losing them locks every user out). Beside each key's item, a
# guard item per credential id keeps ids unique across users (the broker's adapter).
CREDENTIALS = TableSpec(
    role="credentials",
    environment_variable=environment.CREDENTIALS_TABLE,
    partition_key=USER_NAME,
    sort_key=CREDENTIAL_ID,
    indexes=(Index(CREDENTIAL_ID_INDEX, CREDENTIAL_ID),),
    point_in_time_recovery=True,
)
# Begun ceremonies and enrollment tokens: minutes-lived, single use.
CEREMONIES = TableSpec(
    role="ceremonies",
    environment_variable=environment.CEREMONIES_TABLE,
    partition_key=CEREMONY_ID,
    ttl_attribute=TTL_ATTRIBUTE,
)
# The audit trail: per user, by time (the table's key), everyone's by time (the day index);
# expires after the retention period.
AUDIT = TableSpec(
    role="audit",
    environment_variable=environment.AUDIT_TABLE,
    partition_key=USER_NAME,
    sort_key=AUDIT_AT,
    indexes=(Index(AUDIT_TIME_INDEX, AUDIT_DAY, sort_key=AUDIT_AT),),
    ttl_attribute=TTL_ATTRIBUTE,
    point_in_time_recovery=True,
)
TABLES = (CREDENTIALS, CEREMONIES, AUDIT)
