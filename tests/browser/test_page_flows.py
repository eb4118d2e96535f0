"""The page's three screens in Chromium, through its own UI, against ``tapgate local``.

A virtual authenticator (CTAP2, resident keys, user verification) stands in for the
security key; each test starts its own browser, so each has its own authenticator.
Keys are enrolled for the demo user, the one user the local gated role trusts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from tests.browser import page
from tests.browser.chrome import PHONE, Browser
from tests.browser.local_api import create_enrollment, my_credentials

pytestmark = pytest.mark.browser
OPEN_ROUTE_BURST = 10_000  # not about throttling: see conftest

LINK_INVALID = "This link has expired or was already used. Ask for a new one."
NOT_VERIFIED = "could not be verified"
CANCELLED = "cancelled or timed out"
NO_SUPPORT = "This browser or device has no passkey or security key support."


def demo_user(state: dict[str, Any]) -> str:
    return str(state["demoUser"]["userName"])


def gated_role(state: dict[str, Any]) -> str:
    return str(state["gatedRoles"][0]["arn"])


def enroll_new_key(state: dict[str, Any], browser: Browser, nickname: str) -> dict[str, Any]:
    """Enroll a key for the demo user through the page; answer its summary from the API."""
    before = {c["credentialId"] for c in my_credentials(state)}
    page.enroll(browser, create_enrollment(state, demo_user(state))["url"], nickname)
    added = [c for c in my_credentials(state) if c["credentialId"] not in before]
    assert len(added) == 1, added
    return added[0]


def test_enroll_from_a_link(
    state: dict[str, Any],
    browser: Browser,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    # Every logger at every level, the handler's structured logger too: the token is in none.
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="tapgate")
    link = create_enrollment(state, demo_user(state))
    token = link["token"]

    assert page.open_enrollment(browser, link["url"]) == "enroll-form"
    # The page read the token and took it out of the address bar and the history entry.
    assert token not in browser.driver.current_url
    assert browser.driver.current_url == f"{state['apiUrl']}/v1/enroll"
    assert page.text(browser, "enroll-user") == demo_user(state)
    browser.screenshot("enroll-1-form")

    assert page.register_key(browser, "Work YubiKey") == "enroll-done"
    assert page.text(browser, "enroll-done-text") == (
        f"Done. “Work YubiKey” is registered for {demo_user(state)}. You can now sign in with it."
    )
    browser.screenshot("enroll-2-done")

    stored = browser.credentials()
    assert len(stored) == 1 and stored[0]["isResidentCredential"] is True
    summaries = my_credentials(state)
    assert [c["nickname"] for c in summaries] == ["Work YubiKey"]
    assert summaries[0]["credentialId"] == stored[0]["credentialId"].rstrip("=").replace(
        "+", "-"
    ).replace("/", "_")

    # The page sent the token in no URL (only as "Authorization: Bearer") and logged it nowhere.
    requested = browser.driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert any("/v1/enrollment/verify" in url for url in requested), requested
    assert not any(token in url for url in requested), requested
    console = browser.console_messages()
    assert not any(token in message for message in console), console
    assert browser.csp_violations() == []
    out, err = capfd.readouterr()
    # Selenium's own debug log repeats the URL the test navigates to: not the server's.
    server_records = [r for r in caplog.records if not r.name.startswith("selenium")]
    logged = "\n".join([out, err, *(caplog.handler.format(r) for r in server_records)])
    # The capture saw the requests (so the next assertion means something) ...
    assert "/v1/enrollment/options" in logged and "/v1/enrollment/verify" in logged
    # ... and the token is in no log line, of the gateway or of the handler.
    assert token not in logged


def test_a_used_link_is_refused(state: dict[str, Any], browser: Browser) -> None:
    link = create_enrollment(state, demo_user(state))["url"]
    page.enroll(browser, link, "Spare key")

    assert page.open_enrollment(browser, link) == "enroll-error"
    assert page.text(browser, "enroll-error") == LINK_INVALID
    assert not page.visible(browser, "enroll-form")
    browser.screenshot("enroll-3-link-used")


def test_a_cancelled_touch_on_a_link_can_be_retried(
    state: dict[str, Any], browser: Browser
) -> None:
    # enrollment/options checks the token without using it up: the same page retries.
    browser.set_user_verified(False)  # the person declines the PIN / fingerprint prompt
    assert page.open_enrollment(browser, create_enrollment(state, demo_user(state))["url"]) == (
        "enroll-form"
    )
    assert page.register_key(browser, "Second try") == "enroll-error"
    assert CANCELLED in page.text(browser, "enroll-error")
    browser.screenshot("enroll-5-cancelled")

    browser.set_user_verified(True)
    assert page.register_key(browser, "Second try") == "enroll-done", page.text(
        browser, "enroll-error"
    )
    assert "Second try" in [c["nickname"] for c in my_credentials(state)]


def test_registering_the_same_key_twice_is_explained(
    state: dict[str, Any], browser: Browser
) -> None:
    enroll_new_key(state, browser, "Only once")
    link = create_enrollment(state, demo_user(state))
    assert page.open_enrollment(browser, link["url"]) == "enroll-form"
    # The options exclude the user's keys, so this authenticator refuses to register again.
    assert page.register_key(browser, "Twice") == "enroll-error"
    assert "already registered" in page.text(browser, "enroll-error")
    assert page.visible(browser, "enroll-form")  # the link still works with another key
    assert "Twice" not in [c["nickname"] for c in my_credentials(state)]


def test_a_link_without_its_token_explains_what_to_do(
    state: dict[str, Any], browser: Browser
) -> None:
    assert page.open_enrollment(browser, f"{state['apiUrl']}/v1/enroll") == "enroll-error"
    assert "needs the whole enrollment link" in page.text(browser, "enroll-error")


def test_sign_in_with_the_passkey_gives_working_credentials_and_a_console_link(
    state: dict[str, Any], browser: Browser
) -> None:
    enroll_new_key(state, browser, "Laptop key")
    page.open_sign_in(browser, state["apiUrl"])
    browser.screenshot("signin-1-roles")

    assert page.sign_in(browser, gated_role(state)) == "session", page.text(browser, "signin-error")
    browser.screenshot("signin-2-credentials")
    shown = page.shown_credentials(browser)
    assert shown.process["Version"] == 1
    assert shown.exports["AWS_ACCESS_KEY_ID"] == shown.process["AccessKeyId"]
    assert shown.exports["AWS_SECRET_ACCESS_KEY"] == shown.process["SecretAccessKey"]
    assert shown.exports["AWS_SESSION_TOKEN"] == shown.process["SessionToken"]
    assert shown.exports["AWS_CREDENTIAL_EXPIRATION"] == shown.process["Expiration"]
    assert page.text(browser, "session-identity") == demo_user(state)
    assert "in " in page.text(browser, "session-remaining")  # "in 59 minutes"

    # Both copy buttons put exactly what is shown on the clipboard.
    browser.allow_clipboard(state["apiUrl"])
    for block in ("export-lines", "process-json"):
        copy = browser.driver.find_element("css selector", f"button[data-copy={block}]")
        copy.click()
        page.wait_for_text(browser, copy, "Copied")
        assert browser.clipboard() == page.element(browser, block).get_attribute("textContent")

    # The credentials work against the local AWS endpoint, as the gated role.
    sts = boto3.client(
        "sts",
        endpoint_url=state["awsEndpointUrl"],
        region_name=state["region"],
        aws_access_key_id=shown.exports["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=shown.exports["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=shown.exports["AWS_SESSION_TOKEN"],
    )
    arn = sts.get_caller_identity()["Arn"]
    role_name = gated_role(state).rsplit("/", 1)[-1]
    assert arn.startswith(f"arn:aws:sts::{arn.split(':')[4]}:assumed-role/{role_name}/"), arn

    # "Open the AWS console" goes to the local federation stand-in, signed in as that role.
    assert shown.console_url, "no console link on the page"
    driver = browser.driver
    before = set(driver.window_handles)
    page.element(browser, "console-link").click()
    browser.wait().until(lambda d: len(d.window_handles) > len(before), "no console tab opened")
    (console_tab,) = set(driver.window_handles) - before
    driver.switch_to.window(console_tab)
    browser.wait().until(lambda d: d.title == "AWS console (tapgate local stand-in)")
    assert arn in driver.find_element("tag name", "body").text
    browser.screenshot("signin-3-console-stand-in")

    secrets = (shown.exports["AWS_SECRET_ACCESS_KEY"], shown.exports["AWS_SESSION_TOKEN"])
    driver.switch_to.window(next(iter(before)))
    console = browser.console_messages()
    assert not any(s in message for s in secrets for message in console), console
    assert browser.csp_violations() == []

    page.element(browser, "signout").click()
    assert not page.visible(browser, "session")
    assert page.element(browser, "export-lines").get_attribute("textContent") == ""


def test_list_and_remove_a_key(state: dict[str, Any], browsers: Callable[..., Browser]) -> None:
    phone, laptop = browsers(), browsers()
    doomed = enroll_new_key(state, phone, "Old phone")
    kept = enroll_new_key(state, laptop, "Laptop")

    page.open_sign_in(laptop, state["apiUrl"])
    assert page.show_my_keys(laptop) == "keys", page.text(laptop, "keys-error")
    assert page.text(laptop, "keys-user") == demo_user(state)
    listed = page.listed_keys(laptop)
    assert {doomed["credentialId"], kept["credentialId"]} <= set(listed)
    assert "Old phone" in listed[doomed["credentialId"]].text
    assert "Last used" in listed[doomed["credentialId"]].text
    # A virtual authenticator attests nothing and is not backup eligible: device-bound.
    assert "Assurance" in listed[doomed["credentialId"]].text
    assert "device-bound" in listed[doomed["credentialId"]].text
    laptop.screenshot("keys-1-list")

    page.remove_key(laptop, doomed["credentialId"])
    assert page.text(laptop, "keys-status") == "Removed “Old phone”."
    laptop.screenshot("keys-2-removed")
    remaining = {c["credentialId"] for c in my_credentials(state)}
    assert doomed["credentialId"] not in remaining and kept["credentialId"] in remaining

    # The removed key no longer signs in: the generic "could not be verified".
    page.open_sign_in(phone, state["apiUrl"])
    assert page.sign_in(phone, gated_role(state)) == "signin-error"
    assert NOT_VERIFIED in page.text(phone, "signin-error")
    phone.screenshot("signin-4-removed-key-refused")


def test_the_fallback_without_native_json_helpers(
    state: dict[str, Any], browsers: Callable[..., Browser]
) -> None:
    browser = browsers(without_json_helpers=True)
    page.open_sign_in(browser, state["apiUrl"])
    helpers = browser.driver.execute_script(
        "return [typeof PublicKeyCredential.parseCreationOptionsFromJSON,"
        " typeof PublicKeyCredential.prototype.toJSON]"
    )
    assert helpers == ["undefined", "undefined"]
    assert browser.driver.execute_script(
        "return document.documentElement.dataset.webauthnJson"
    ) == ("fallback")

    enroll_new_key(state, browser, "Fallback key")
    page.open_sign_in(browser, state["apiUrl"])
    assert page.sign_in(browser, gated_role(state)) == "session", page.text(browser, "signin-error")
    assert page.shown_credentials(browser).process["AccessKeyId"]


def test_native_helpers_are_used_where_present(state: dict[str, Any], browser: Browser) -> None:
    page.open_sign_in(browser, state["apiUrl"])
    assert browser.driver.execute_script(
        "return document.documentElement.dataset.webauthnJson"
    ) == ("native")


def test_phone_sized_enroll_and_sign_in(
    state: dict[str, Any], browsers: Callable[..., Browser]
) -> None:
    phone = browsers(window=PHONE, mobile=True)
    link = create_enrollment(state, demo_user(state))["url"]
    assert page.open_enrollment(phone, link) == "enroll-form"
    assert_fits_phone(phone, "enroll-button")
    phone.screenshot("phone-1-enroll-form")
    assert page.register_key(phone, "Phone") == "enroll-done"
    phone.screenshot("phone-2-enroll-done")

    page.open_sign_in(phone, state["apiUrl"])
    assert_fits_phone(phone, "signin-button")
    phone.screenshot("phone-3-signin-roles")
    assert page.sign_in(phone, gated_role(state)) == "session", page.text(phone, "signin-error")
    assert_fits_phone(phone, "console-link")
    phone.screenshot("phone-4-signin-credentials")


def assert_fits_phone(browser: Browser, button_id: str) -> None:
    """No sideways scrolling, and the main button is a full-width, thumb-sized target."""
    width, scroll_width = browser.driver.execute_script(
        "return [window.innerWidth, document.documentElement.scrollWidth]"
    )
    assert width == PHONE[0] and scroll_width <= width, (width, scroll_width)
    size = page.element(browser, button_id).size
    assert size["height"] >= 44 and size["width"] >= width * 0.8, size


def test_a_cancelled_touch_says_so(state: dict[str, Any], browser: Browser) -> None:
    enroll_new_key(state, browser, "Declined key")
    # Passkey sign-in requires user verification; a key whose owner declines the PIN,
    # fingerprint or face check is what a cancelled prompt looks like to the page.
    browser.set_user_verified(False)
    page.open_sign_in(browser, state["apiUrl"])
    assert page.sign_in(browser, gated_role(state)) == "signin-error"
    assert CANCELLED in page.text(browser, "signin-error")
    assert page.element(browser, "signin-button").is_enabled()  # and one may try again
    browser.screenshot("signin-5-cancelled")


def test_a_browser_without_webauthn_is_told_so(
    state: dict[str, Any], browsers: Callable[..., Browser]
) -> None:
    browser = browsers(without_webauthn=True)
    page.open_sign_in(browser, state["apiUrl"])
    assert page.text(browser, "support").startswith(NO_SUPPORT)
    assert page.sign_in(browser, gated_role(state)) == "signin-error"
    assert page.text(browser, "signin-error").startswith(NO_SUPPORT)
    browser.screenshot("signin-6-no-webauthn")
