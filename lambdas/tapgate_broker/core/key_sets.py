"""The per-user key cap, and what the broker says when it is reached.

A registration ceremony keeps a snapshot of the user's keys (the step-up's allowed list).
With at most ``MAX_KEYS_PER_USER_LIMIT`` keys of at most ~2.7 KB each (a 768-byte
credential id twice, an 8192-bit RSA key), a ceremony item stays far below DynamoDB's
400 KB item limit; tests/unit/test_key_sets.py measures the worst case.
"""

from __future__ import annotations

from tapgate_contract.limits import (  # noqa: F401  (re-exported)
    DEFAULT_MAX_KEYS_PER_USER,
    MAX_KEYS_PER_USER_LIMIT,
)


def key_cap_detail(max_keys: int) -> str:
    return f"You already have the maximum of {max_keys} security keys; remove one first."
