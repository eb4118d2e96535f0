"""Time as the use cases read it: from the injected clock, never from the wall."""

from __future__ import annotations

from datetime import UTC, datetime

from tapgate_broker.core.ports import Clock


def now(clock: Clock) -> int:
    """Epoch seconds (ceremony and token expiry)."""
    return int(clock())


def iso_now(clock: Clock, *, precise: bool = False) -> str:
    """ISO 8601 UTC with Z: seconds for stored dates, microseconds for audit records."""
    moment = datetime.fromtimestamp(clock(), tz=UTC)
    if precise:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
