"""Fixtures for the browser tests: ``tapgate local`` in this process, and Chromium.

Each test module gets its own local mode (moto's state is per process and
``start_local`` resets it), so a module may set broker environment variables first
through a module-level ``LOCAL_ENVIRONMENT`` dict (the enrollment link lifetime, say).

Local mode throttles the open ceremony routes (``/v1/passkey/*``, ``/v1/enrollment/*``)
per client IP (burst 30, then 1/s). Modules that run many ceremonies raise the burst
through ``OPEN_ROUTE_BURST`` (a module-level int), and ``test_throttling`` slows the
refill through ``OPEN_ROUTE_RATE_PER_SECOND`` so that a drained bucket stays empty for
long enough to click; both reach ``start_local(open_route_limits=...)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import Any

import pytest

from tapgate.local.server import (
    OPEN_ROUTE_BURST,
    OPEN_ROUTE_RATE_PER_SECOND,
    LocalHandle,
    start_local,
)
from tests.browser.chrome import Browser, chromium, require_chromium


@pytest.fixture(scope="module")
def local(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    require_chromium()  # fail before starting anything when the browser is missing
    environment: dict[str, str] = getattr(request.module, "LOCAL_ENVIRONMENT", {})
    previous = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    state_file: Path = tmp_path_factory.mktemp("local") / "local.json"
    handle: LocalHandle | None = None
    try:
        limits = (
            getattr(request.module, "OPEN_ROUTE_RATE_PER_SECOND", OPEN_ROUTE_RATE_PER_SECOND),
            getattr(request.module, "OPEN_ROUTE_BURST", OPEN_ROUTE_BURST),
        )
        handle = start_local(
            host="localhost", port=0, state_file=state_file, open_route_limits=limits
        )
        yield handle
    finally:
        if handle is not None:
            handle.stop()
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="module")
def state(local: LocalHandle) -> dict[str, Any]:
    return local.state


@pytest.fixture
def browsers() -> Iterator[Callable[..., Browser]]:
    """Start Chromium instances (see ``chromium()`` for options); all quit at the end."""
    with ExitStack() as stack:

        def start(**options: Any) -> Browser:
            manager: AbstractContextManager[Browser] = chromium(**options)
            return stack.enter_context(manager)

        yield start


@pytest.fixture
def browser(browsers: Callable[..., Browser]) -> Browser:
    """One desktop-sized Chromium with a virtual authenticator."""
    return browsers()
