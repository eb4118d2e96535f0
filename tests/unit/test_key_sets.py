"""The key cap keeps a ceremony's snapshot of the user's keys inside one DynamoDB item."""

from __future__ import annotations

import json
from typing import Any

from fido2 import cbor

from stacks import config as stack_config
from tapgate_broker.adapters.dynamodb.ceremonies import _ceremony_to_item
from tapgate_broker.core import key_sets
from tapgate_broker.core.key_material import RSA_MAX_BITS
from tapgate_broker.core.models import (
    Binding,
    Ceremony,
    CeremonyKind,
    CredentialSnapshot,
    KeySetPin,
    Via,
)
from tapgate_broker.core.response_rules import MAX_CREDENTIAL_ID_BYTES

DYNAMODB_ITEM_LIMIT = 400 * 1024


def item_size(value: Any) -> int:
    """An upper bound of DynamoDB's size of an attribute value (names counted by the map)."""
    ((kind, inner),) = value.items()
    if kind in ("S", "N"):
        return len(str(inner).encode()) + 1
    if kind == "B":
        return len(inner)
    if kind == "BOOL":
        return 1
    if kind == "L":
        return 3 + sum(item_size(v) + 1 for v in inner)
    return 3 + sum(len(k.encode()) + item_size(v) + 1 for k, v in inner.items())


def test_the_largest_registration_ceremony_fits_one_item():
    credential_id = b"\xff" * MAX_CREDENTIAL_ID_BYTES
    n = (1 << RSA_MAX_BITS) - 1
    cose = cbor.encode({1: 3, 3: -257, -1: n.to_bytes(RSA_MAX_BITS // 8, "big"), -2: b"\1\0\1"})
    data = b"\0" * 16 + len(credential_id).to_bytes(2, "big") + credential_id + cose
    snapshot = CredentialSnapshot(
        credential_id=credential_id, credential_data=data, sign_count=2**32 - 1
    )
    state = {"challenge": "A" * 43, "user_verification": "preferred"}
    ceremony = Ceremony(
        ceremony_id="C" * 32,
        kind=CeremonyKind.REGISTRATION,
        user_name="u" * 64,
        state=state,
        expires_at=2**31,
        binding=Binding(
            Via.SIGV4, "arn:aws:sts::123456789012:assumed-role/" + "r" * 64 + "/" + "u" * 64
        ),
        user_handle=b"h" * 64,
        nickname="n" * 64,
        allowed=(snapshot,) * key_sets.MAX_KEYS_PER_USER_LIMIT,
        step_up_state=state,
        key_set=KeySetPin(version=2**40, count=key_sets.MAX_KEYS_PER_USER_LIMIT),
    )
    item = _ceremony_to_item(ceremony)
    size = sum(len(k.encode()) + item_size(v) for k, v in item.items())
    assert size < DYNAMODB_ITEM_LIMIT * 0.75, size
    assert json.dumps(state)  # the state is what fido2 returns: small, JSON


def test_the_stack_and_the_broker_agree_on_the_cap():
    assert stack_config.DEFAULT_MAX_KEYS_PER_USER == key_sets.DEFAULT_MAX_KEYS_PER_USER
    assert stack_config.MAX_KEYS_PER_USER_LIMIT == key_sets.MAX_KEYS_PER_USER_LIMIT
