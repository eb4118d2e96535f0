"""The page's screens as a person uses them: find, type, click, wait, read.

Element ids are the page's (lambdas/tapgate_broker/web/index.html); each helper waits
for the outcome a person would see, a success or a message, and fails with what the
page showed otherwise.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from tests.browser.chrome import Browser


def element(browser: Browser, element_id: str) -> WebElement:
    return browser.driver.find_element(By.ID, element_id)


def visible(browser: Browser, element_id: str) -> bool:
    return element(browser, element_id).is_displayed()


def text(browser: Browser, element_id: str) -> str:
    return str(element(browser, element_id).text)


def wait_for_text(browser: Browser, target: WebElement, expected: str) -> None:
    browser.wait().until(lambda _: target.text == expected, f"never showed {expected!r}")


def wait_for_any(browser: Browser, *element_ids: str, seconds: float = 20) -> str:
    """Wait until one of the elements is displayed; answer its id."""
    found: list[str] = []

    def shown(_: Any) -> bool:
        found[:] = [i for i in element_ids if visible(browser, i)]
        return bool(found)

    browser.wait(seconds).until(shown, f"none of {element_ids} appeared")
    return found[0]


def json_conversion(browser: Browser) -> str:
    """Which WebAuthn JSON path the page took: "native" or "fallback"."""
    return str(
        browser.driver.execute_script("return document.documentElement.dataset.webauthnJson")
    )


def open_page(browser: Browser, url: str) -> None:
    browser.driver.get(url)
    try:
        browser.wait(30).until(
            lambda d: d.execute_script("return document.documentElement.dataset.ready") == "true"
        )
    except TimeoutException as exc:
        loaded = browser.driver.execute_script(
            "return performance.getEntriesByType('resource')"
            ".map(e => `${e.name} ${e.responseStatus ?? ''}`)"
        )
        raise AssertionError(
            f"the page's module did not start at {browser.driver.current_url}; "
            f"console: {browser.console_messages()}; resources: {loaded}"
        ) from exc


def open_enrollment(browser: Browser, url: str) -> str:
    """Open an enrollment link; answer "enroll-form" or "enroll-error"."""
    open_page(browser, url)
    return wait_for_any(browser, "enroll-form", "enroll-error")


def register_key(browser: Browser, nickname: str) -> str:
    """On the enrollment form: name the key, press the button; answer the outcome's id."""
    field = element(browser, "enroll-nickname")
    field.clear()
    field.send_keys(nickname)
    element(browser, "enroll-button").click()
    return wait_for_any(browser, "enroll-done", "enroll-error")


def enroll(browser: Browser, url: str, nickname: str) -> None:
    """Open the link and register a key; fail with the page's message otherwise."""
    shown = open_enrollment(browser, url)
    assert shown == "enroll-form", text(browser, "enroll-error")
    outcome = register_key(browser, nickname)
    assert outcome == "enroll-done", text(browser, "enroll-error")


def open_sign_in(browser: Browser, api_url: str) -> None:
    open_page(browser, f"{api_url}/v1/")
    browser.wait().until(
        lambda _: element(browser, "signin-button").is_enabled(), "no roles were offered"
    )


def choose_role(browser: Browser, role_arn: str) -> None:
    radio = browser.driver.find_element(By.CSS_SELECTOR, f'input[name=role][value="{role_arn}"]')
    browser.driver.find_element(
        By.CSS_SELECTOR, f'label[for="{radio.get_attribute("id")}"]'
    ).click()
    assert radio.is_selected()


def sign_in(browser: Browser, role_arn: str) -> str:
    """Choose the role, press "Sign in with a passkey"; answer "session" or "signin-error"."""
    choose_role(browser, role_arn)
    element(browser, "signin-button").click()
    return wait_for_any(browser, "session", "signin-error")


@dataclass(frozen=True)
class ShownCredentials:
    """The credentials as the page shows them, in both of its formats."""

    exports: dict[str, str]
    process: dict[str, Any]
    console_url: str | None


_EXPORT = re.compile(r"^export (?P<name>[A-Z_]+)='(?P<value>[^']*)'$")


def shown_credentials(browser: Browser) -> ShownCredentials:
    exports: dict[str, str] = {}
    # textContent, not .text: the block may scroll, and .text reads only what is visible.
    lines = element(browser, "export-lines").get_attribute("textContent") or ""
    for line in lines.splitlines():
        match = _EXPORT.match(line)
        assert match, f"not a shell export line: {line!r}"
        exports[match["name"]] = match["value"]
    process = json.loads(element(browser, "process-json").get_attribute("textContent") or "")
    link = element(browser, "console-link")
    return ShownCredentials(
        exports=exports,
        process=process,
        console_url=link.get_attribute("href") if link.is_displayed() else None,
    )


def show_my_keys(browser: Browser) -> str:
    """On "My keys", press "Show my keys"; answer "keys" or "keys-error"."""
    element(browser, "tab-keys").click()
    button = element(browser, "keys-button")
    browser.wait().until(lambda _: button.is_enabled())
    button.click()
    outcome = wait_for_any(browser, "keys", "keys-error")
    browser.wait().until(lambda _: button.get_attribute("aria-busy") is None)
    return outcome


def listed_keys(browser: Browser) -> dict[str, WebElement]:
    """The listed keys by credential id."""
    items = browser.driver.find_elements(By.CSS_SELECTOR, "#keys-list li.key")
    return {str(item.get_attribute("data-credential-id")): item for item in items}


def remove_key(browser: Browser, credential_id: str) -> None:
    """Press "Remove" on a key, confirm, and wait until it leaves the list or fails."""
    item = listed_keys(browser)[credential_id]
    item.find_element(By.CSS_SELECTOR, "button.remove").click()
    confirm = item.find_element(By.CSS_SELECTOR, "button.confirm-remove")
    assert confirm.is_displayed()
    confirm.click()
    error = item.find_element(By.CSS_SELECTOR, "p.key-error")
    browser.wait().until(
        lambda _: credential_id not in listed_keys(browser) or error.is_displayed(),
        "the key neither left the list nor showed an error",
    )
    assert credential_id not in listed_keys(browser), error.text
