"""An expired enrollment link is refused by the page with the same clear message.

This module's local mode gives enrollment tokens a 3-second lifetime (the broker
reads ``TAPGATE_ENROLLMENT_TTL_SECONDS``; the stack sets 900).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest

from tests.browser import page
from tests.browser.chrome import Browser
from tests.browser.local_api import create_enrollment, send

pytestmark = pytest.mark.browser
OPEN_ROUTE_BURST = 10_000  # not about throttling: see conftest

TTL_SECONDS = 3
LOCAL_ENVIRONMENT = {"TAPGATE_ENROLLMENT_TTL_SECONDS": str(TTL_SECONDS)}
LINK_INVALID = "This link has expired or was already used. Ask for a new one."


def options_status(state: dict[str, Any], token: str) -> int:
    reply = send(
        "POST",
        state["apiUrl"] + "/v1/enrollment/options",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        data=b"{}",
    )
    return reply.status


def test_an_expired_link_is_refused(state: dict[str, Any], browser: Browser) -> None:
    link = create_enrollment(state, state["demoUser"]["userName"])
    expires = datetime.fromisoformat(link["expiresAt"].replace("Z", "+00:00")).timestamp()
    assert 0 < expires - time.time() <= TTL_SECONDS + 1, link["expiresAt"]
    assert options_status(state, link["token"]) == 200  # valid until then ...

    time.sleep(max(0.0, expires - time.time()) + 1.5)
    assert page.open_enrollment(browser, link["url"]) == "enroll-error"
    assert page.text(browser, "enroll-error") == LINK_INVALID
    assert not page.visible(browser, "enroll-form")
    assert link["token"] not in browser.driver.current_url
    browser.screenshot("enroll-4-link-expired")
    assert options_status(state, link["token"]) == 401  # ... and not after
