"""EventBridge: tapgate's events on the account's default bus, and their metrics.

One PutEvents call per batch (a record raises at most two events). The client is made on
the first batch, so a cold start that sends none never builds it. A failure is logged and
counted (``EventEmissionFailed``) and never reaches the request: the audit table already
holds the record the event was derived from. Each event is also logged as one line (local
mode shows these as what it would have sent; moto's EventBridge takes the events too).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tapgate_broker.core.ports import Signal
from tapgate_contract import signals

logger = logging.getLogger(__name__)

Count = Callable[[str], None]


class EventBridgeSignals:
    def __init__(self, client_factory: Callable[[], Any], *, count: Count) -> None:
        self._client_factory = client_factory
        self._client: Any = None
        self._count_metric = count

    def emit(self, batch: Sequence[Signal]) -> None:
        if not batch:
            return
        for signal in batch:
            if signal.detail_type == signals.COUNTER_REGRESSION_EVENT:
                # Counted before the put: the alarm must not depend on EventBridge.
                self.count(signals.COUNTER_REGRESSION)
            logger.info(
                "EventBridge event %s (user %s)",
                signal.detail_type,
                signal.detail.get("user"),
                extra={"event": signal.detail_type, "user": signal.detail.get("user")}
                | ({"reason": signal.detail["reason"]} if signal.detail.get("reason") else {}),
            )
        entries = [
            {
                "Source": signals.EVENT_SOURCE,
                "DetailType": signal.detail_type,
                "Detail": json.dumps(signal.detail, separators=(",", ":")),
                "EventBusName": signals.EVENT_BUS,
            }
            for signal in batch
        ]
        try:
            if self._client is None:
                self._client = self._client_factory()
            answer = self._client.put_events(Entries=entries)
        except (ClientError, BotoCoreError) as exc:
            logger.error("events not sent to EventBridge", extra={"error": type(exc).__name__})
            self.count(signals.EVENT_EMISSION_FAILED)
            return
        failed = int(answer.get("FailedEntryCount") or 0)
        if failed:
            codes = sorted(
                {str(e.get("ErrorCode")) for e in answer.get("Entries", []) if e.get("ErrorCode")}
            )
            logger.error(
                "EventBridge refused events", extra={"failed": failed, "error": ",".join(codes)}
            )
            self.count(signals.EVENT_EMISSION_FAILED)

    def count(self, name: str) -> None:
        self._count_metric(name)
