"""When the per-IP limit on the unauthenticated routes trips, the page says how long
to wait (from Retry-After) and keeps the button disabled until then.

Its own module: the token bucket of this local mode is drained on purpose.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser import page
from tests.browser.chrome import Browser
from tests.browser.local_api import Reply, send

pytestmark = pytest.mark.browser

MAX_REQUESTS = 500  # a bound, not a target: the limiter trips long before


def drain(state: dict[str, Any]) -> Reply:
    for _ in range(MAX_REQUESTS):
        reply = send(
            "POST",
            state["apiUrl"] + "/v1/passkey/options",
            headers={"Content-Type": "application/json"},
            data=b"{}",
        )
        if reply.status == 429:
            return reply
        assert reply.status == 200, reply.body[:300]
    raise AssertionError(f"no 429 after {MAX_REQUESTS} unauthenticated requests")


def test_too_many_attempts_says_how_long_to_wait(state: dict[str, Any], browser: Browser) -> None:
    page.open_sign_in(browser, state["apiUrl"])  # the page and its files load first
    refused = drain(state)
    assert refused.json()["type"].endswith("/throttled")
    wait = int(refused.headers["Retry-After"])
    assert wait >= 1

    assert page.sign_in(browser, state["gatedRoles"][0]["arn"]) == "signin-error"
    message = page.text(browser, "signin-error")
    match = re.fullmatch(r"Too many attempts\. Wait (\d+) seconds and try again\.", message)
    assert match, message
    assert 1 <= int(match[1]) <= wait + 1
    assert not page.element(browser, "signin-button").is_enabled()
    browser.screenshot("signin-7-throttled")
