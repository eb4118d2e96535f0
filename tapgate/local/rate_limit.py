"""The local gateway's per-IP throttle on the open ceremony routes (the stack's WAF rule)."""

from __future__ import annotations

import threading
import time
from typing import Protocol

from tapgate.local.routes import THROTTLED_PREFIXES, RouteAuth
from tapgate.local.sigv4 import Clock


class RateLimiter(Protocol):
    """Decides whether one more request from ``key`` may pass now."""

    def check(self, key: str) -> float | None:
        """None to allow; otherwise the seconds to wait before trying again."""
        ...


class TokenBucketLimiter:
    """Per-key token bucket: ``burst`` requests at once, refilled at ``rate_per_second``."""

    def __init__(
        self,
        *,
        rate_per_second: float,
        burst: int,
        clock: Clock = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        if rate_per_second <= 0 or burst < 1:
            raise ValueError("rate_per_second must be > 0 and burst >= 1")
        self._rate = rate_per_second
        self._burst = float(burst)
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, updated_at)
        self._lock = threading.Lock()

    def check(self, key: str) -> float | None:
        with self._lock:
            now = self._clock()
            tokens, updated = self._buckets.get(key, (self._burst, now))
            tokens = min(self._burst, tokens + (now - updated) * self._rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                self._forget_full_buckets(now)
                return None
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self._rate

    def _forget_full_buckets(self, now: float) -> None:
        if len(self._buckets) <= self._max_keys:
            return
        for key, (tokens, updated) in list(self._buckets.items()):
            if tokens + (now - updated) * self._rate >= self._burst:
                del self._buckets[key]


def throttled(path: str, auth: RouteAuth) -> bool:
    """The per-IP limit covers the open ceremony routes, like the stack's strict WAF rule
    (the page and its files are left to the looser all-requests rule, which local mode
    does not model)."""
    return auth is RouteAuth.NONE and path.startswith(THROTTLED_PREFIXES)
