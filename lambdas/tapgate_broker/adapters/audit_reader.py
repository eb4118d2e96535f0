"""Reading the audit table: one user's events by the table's key, everyone's by the day index.

Each call is one DynamoDB Query, newest first, with the window as a key condition and the
role, kind and outcome as a filter. Start keys are built here from a ``Position`` the core
checked, never taken from a client.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tapgate_broker.adapters.aws_errors import dependency_error
from tapgate_broker.core.models import AuditEvent, EventFilter, Position
from tapgate_contract.audit_events import STORED_OUTCOMES
from tapgate_contract.tables import AUDIT_AT, AUDIT_DAY, AUDIT_TIME_INDEX, TTL_ATTRIBUTE, USER_NAME

Item = dict[str, dict[str, Any]]
_OUTCOME_OF_STORED = {stored: outcome for outcome, stored in STORED_OUTCOMES.items()}
# The stored attributes an event answers by name; any other string attribute is a detail.
_NAMED = {
    USER_NAME,
    AUDIT_AT,
    AUDIT_DAY,
    TTL_ATTRIBUTE,
    "event",
    "outcome",
    "callerArn",
    "credentialId",
    "roleArn",
    "sourceIp",
    "userAgent",
    "reason",
    "nickname",
    "sessionSeconds",
}
# Past the last suffix character: ``at <= until#~`` keeps every record of ``until``'s instant.
_AFTER_SUFFIX = "#~"


class DynamoAuditReader:
    def __init__(self, client: Any, *, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def user_events(
        self, user_name: str, *, filter: EventFilter, limit: int, start: Position | None
    ) -> tuple[list[AuditEvent], Position | None]:
        request: dict[str, Any] = {"KeyConditionExpression": "#pk = :pk"}
        values: dict[str, Any] = {":pk": {"S": user_name}}
        names = {"#pk": USER_NAME}
        if start is not None:
            request["ExclusiveStartKey"] = {
                USER_NAME: {"S": user_name},
                AUDIT_AT: {"S": start.at},
            }
        return self._query(request, names, values, filter=filter, limit=limit)

    def day_events(
        self, day: str, *, filter: EventFilter, limit: int, start: Position | None
    ) -> tuple[list[AuditEvent], Position | None]:
        request: dict[str, Any] = {
            "IndexName": AUDIT_TIME_INDEX,
            "KeyConditionExpression": "#pk = :pk",
        }
        values: dict[str, Any] = {":pk": {"S": day}}
        names = {"#pk": AUDIT_DAY}
        if start is not None and start.at:
            request["ExclusiveStartKey"] = {
                AUDIT_DAY: {"S": day},
                AUDIT_AT: {"S": start.at},
                USER_NAME: {"S": start.user},
            }
        return self._query(request, names, values, filter=filter, limit=limit)

    def _query(
        self,
        request: dict[str, Any],
        names: dict[str, str],
        values: dict[str, Any],
        *,
        filter: EventFilter,
        limit: int,
    ) -> tuple[list[AuditEvent], Position | None]:
        request["KeyConditionExpression"] += " AND #at BETWEEN :since AND :until"
        names["#at"] = AUDIT_AT
        values[":since"] = {"S": filter.since}
        values[":until"] = {"S": filter.until + _AFTER_SUFFIX}
        conditions = []
        for attribute, value in (
            ("roleArn", filter.role_arn),
            ("event", filter.kind),
            ("outcome", STORED_OUTCOMES[filter.outcome] if filter.outcome else None),
        ):
            if value is not None:
                names[f"#{attribute}"] = attribute
                values[f":{attribute}"] = {"S": value}
                conditions.append(f"#{attribute} = :{attribute}")
        if conditions:
            request["FilterExpression"] = " AND ".join(conditions)
        try:
            answer = self._client.query(
                TableName=self._table,
                ScanIndexForward=False,
                Limit=limit,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                **request,
            )
        except (ClientError, BotoCoreError) as exc:
            raise dependency_error(exc, service="dynamodb") from exc
        events = [_event(item) for item in answer.get("Items", [])]
        last = answer.get("LastEvaluatedKey")
        position = (
            Position(
                day=last[AUDIT_AT]["S"][:10], user=last[USER_NAME]["S"], at=last[AUDIT_AT]["S"]
            )
            if last
            else None
        )
        return events, position


def _event(item: Item) -> AuditEvent:
    def text(name: str) -> str:
        return str(item.get(name, {}).get("S", ""))

    seconds = item.get("sessionSeconds", {}).get("N")
    return AuditEvent(
        at=text(AUDIT_AT).split("#", 1)[0],
        user=text(USER_NAME),
        kind=text("event"),
        outcome=_OUTCOME_OF_STORED.get(text("outcome"), text("outcome")),
        caller_arn=text("callerArn"),
        reason=text("reason"),
        role_arn=text("roleArn"),
        session_seconds=int(seconds) if seconds is not None else None,
        credential_id=text("credentialId"),
        nickname=text("nickname"),
        source_ip=text("sourceIp"),
        user_agent=text("userAgent"),
        details={k: v["S"] for k, v in item.items() if k not in _NAMED and "S" in v},
    )
