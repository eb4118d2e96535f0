"""Test-session wide settings.

``make test`` runs the suite on two pytest-xdist workers (``--dist loadgroup``). Every test
is grouped with the rest of its module, so module-scoped worlds (a local mode, a browser,
a synthesized template) are built once and tests that build on each other stay on one
worker; the long fuzzing runs are the exception: each target is a group of its own, so the
four long runs spread over both workers.
"""

from __future__ import annotations

import pytest

# Tests that stand alone and cost minutes each: one xdist group per test, not per module.
ALONE = ("test_fuzz_long",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        alone = getattr(item, "originalname", None) in ALONE
        item.add_marker(pytest.mark.xdist_group(name=item.nodeid if alone else item.location[0]))
