"""When the per-IP limit on the open routes trips, the page says how long to wait
(from Retry-After), keeps the button disabled while counting down, and then lets the
person try again.

Its own module, because it drains its local mode's token bucket on purpose. The
refill is slowed to one request per 5 s (the default is 1/s) so the bucket stays
empty from the moment the test drains it until the page's request arrives.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser import page
from tests.browser.chrome import Browser
from tests.browser.local_api import Reply, send

pytestmark = pytest.mark.browser
OPEN_ROUTE_RATE_PER_SECOND = 0.2

MAX_REQUESTS = 200  # a bound, not a target: the burst is 30
WAIT_MESSAGE = re.compile(r"Too many attempts\. Wait (\d+) seconds? and try again\.")


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
    page.choose_role(browser, state["gatedRoles"][0]["arn"])
    refused = drain(state)
    assert refused.json()["type"].endswith("/throttled")
    wait = int(refused.headers["Retry-After"])
    assert 1 <= wait <= 5

    button = page.element(browser, "signin-button")
    button.click()
    assert page.wait_for_any(browser, "signin-error") == "signin-error"
    first = WAIT_MESSAGE.fullmatch(page.text(browser, "signin-error"))
    assert first, page.text(browser, "signin-error")
    assert 1 <= int(first[1]) <= wait
    assert not button.is_enabled()
    browser.screenshot("signin-7-throttled")

    # The count goes down, and when it reaches zero the button is back.
    if int(first[1]) > 1:
        browser.wait(3).until(
            lambda _: (
                (m := WAIT_MESSAGE.fullmatch(page.text(browser, "signin-error")))
                and int(m[1]) < int(first[1])
            ),
            "the wait did not count down",
        )
    browser.wait(wait + 5).until(lambda _: button.is_enabled(), "the button stayed disabled")
    assert page.text(browser, "signin-error") == "You can try again now."
