"""The broker offers ES256, EdDSA and RS256; software keys that have only EdDSA or only RS256
register through the HTTP API and sign in to a gated role, so the two are exercised end to
end (the broker's verify path, counter checks and STS), not only offered."""

from __future__ import annotations

import pytest
from fido2.cose import RS256, EdDSA

from tapgate.authenticators.soft import SoftAuthenticator
from tests.functional import conftest as functional

# The functional suite's moto deployment, re-exported so pytest finds it here.
aws = functional.aws
clock = functional.clock
settings = functional.settings
harness = functional.harness


@pytest.mark.parametrize("algorithm", [EdDSA.ALGORITHM, RS256.ALGORITHM])
def test_a_key_with_only_this_algorithm_registers_and_signs_in(harness, algorithm):
    key = harness.tmp / f"key{algorithm}.json"
    SoftAuthenticator.create(key, algorithms=(algorithm,))

    registered = harness.register("alice", key)
    first = harness.authenticate("alice", key, functional.GATED_ROLE)
    second = harness.authenticate("alice", key, functional.GATED_ROLE)

    assert registered.status == 201, registered.body
    assert (first.status, second.status) == (200, 200), (first.body, second.body)
    assert first.body["RoleArn"] == functional.GATED_ROLE
    (item,) = harness.key_items()
    assert item["signCount"]["N"] == "2"
