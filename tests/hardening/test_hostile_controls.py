"""The controls for the hostile-input table: each unbroken request succeeds.

Without them a case could pass because its base request was wrong already.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.hardening.conftest import World
from tests.hardening.test_hostile_input import (
    Request,
    auth_verify,
    enroll_options,
    enroll_verify,
    passkey_delete,
    passkey_list,
    passkey_verify,
    reg_verify,
    revoke,
    send,
)


@pytest.mark.parametrize(
    ("build", "status"),
    [
        (reg_verify, 201),
        (auth_verify, 200),
        (revoke, 204),
        (enroll_options, 200),
        (enroll_verify, 201),
        (passkey_verify, 200),
        (passkey_list, 200),
        (passkey_delete, 204),
    ],
)
def test_the_unmodified_request_succeeds(
    world: World, build: Callable[[World], Request], status: int
) -> None:
    """The control: each route's correct request passes, so each case tests its one change."""
    assert send(world, build(world))["statusCode"] == status
