"""The broker offers ES256, EdDSA and RS256; software keys that have only EdDSA or only RS256
register through the HTTP API and sign in to a gated role, so the two are exercised end to
end (the broker's verify path, counter checks and STS), not only offered."""

from __future__ import annotations

import pytest
from fido2.cose import RS256, EdDSA

from tapgate.authenticators.soft import SoftAuthenticator
from tests.support import fixtures
from tests.support.deployment import GATED_ROLE

# The shared moto deployment's fixtures, named here so pytest finds them.
aws = fixtures.aws
clock = fixtures.clock
harness = fixtures.harness
settings = fixtures.settings


@pytest.mark.parametrize("algorithm", [EdDSA.ALGORITHM, RS256.ALGORITHM])
def test_a_key_with_only_this_algorithm_registers_and_signs_in(harness, algorithm):
    key = harness.tmp / f"key{algorithm}.json"
    SoftAuthenticator.create(key, algorithms=(algorithm,))

    registered = harness.register("alice", key)
    first = harness.authenticate("alice", key, GATED_ROLE)
    second = harness.authenticate("alice", key, GATED_ROLE)

    assert registered.status == 201, registered.body
    assert (first.status, second.status) == (200, 200), (first.body, second.body)
    assert first.body["RoleArn"] == GATED_ROLE
    (item,) = harness.key_items()
    assert item["signCount"]["N"] == "2"
