"""Debian's Chromium under Selenium 4, with Chrome's WebAuthn virtual authenticator.

Nothing is downloaded: the driver and browser paths are explicit and Selenium
Manager is told to stay offline. A missing Chromium is a loud failure (``make test``
installs it through ``make browser-deps``), never a skip.
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.wait import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "browser"
PHONE = (390, 844)
DESKTOP = (1280, 900)
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# Runs before any page script: collects CSP violations (inline code or styles, foreign
# origins) so a test can assert there are none.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""
# Runs before any page script: hides the native WebAuthn JSON helpers so the page's
# own base64url fallback does the conversions.
WITHOUT_JSON_HELPERS = """
delete PublicKeyCredential.parseCreationOptionsFromJSON;
delete PublicKeyCredential.parseRequestOptionsFromJSON;
delete PublicKeyCredential.prototype.toJSON;
"""

# A browser without WebAuthn at all (an old or locked-down one).
WITHOUT_WEBAUTHN = "delete window.PublicKeyCredential;"


class ChromiumMissingError(RuntimeError):
    """Debian's chromium / chromium-driver are not installed (run `make browser-deps`)."""


@dataclass
class Browser:
    """A driver plus the id of its virtual authenticator."""

    driver: webdriver.Chrome
    authenticator_id: str

    def wait(self, seconds: float = 15) -> WebDriverWait[webdriver.Chrome]:
        # The page replaces list items as it goes; a stale element means "look again".
        return WebDriverWait(
            self.driver, seconds, ignored_exceptions=(StaleElementReferenceException,)
        )

    def set_user_verified(self, verified: bool) -> None:
        """Whether the virtual authenticator passes user verification from now on."""
        self.driver.execute_cdp_cmd(
            "WebAuthn.setUserVerified",
            {"authenticatorId": self.authenticator_id, "isUserVerified": verified},
        )

    def allow_clipboard(self, origin: str) -> None:
        """Let ``origin`` write and read the clipboard, as a person's click would."""
        self.driver.execute_cdp_cmd(
            "Browser.grantPermissions",
            {"permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"], "origin": origin},
        )

    def clipboard(self) -> str:
        return str(
            self.driver.execute_async_script(
                "const done = arguments[0];"
                "navigator.clipboard.readText().then(done, (e) => done(`ERROR ${e}`));"
            )
        )

    def csp_violations(self) -> list[str]:
        """Content-Security-Policy violations the current document reported."""
        return list(self.driver.execute_script("return window.__cspViolations || []"))

    def console_messages(self) -> list[str]:
        """What reached the browser's console since the last call (any level)."""
        return [str(entry.get("message", "")) for entry in self.driver.get_log("browser")]

    def credentials(self) -> list[dict[str, Any]]:
        """What the virtual authenticator holds (resident and not)."""
        answer = self.driver.execute_cdp_cmd(
            "WebAuthn.getCredentials", {"authenticatorId": self.authenticator_id}
        )
        return list(answer["credentials"])

    def screenshot(self, name: str) -> Path:
        """Save the whole page (not just the viewport) as tests/artifacts/browser/NAME.png."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        size = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": clip,
            },
        )
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


def require_chromium() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        raise ChromiumMissingError(
            f"missing {', '.join(missing)}: run `make browser-deps` "
            "(apt-get install chromium chromium-driver)"
        )


@contextmanager
def chromium(
    *,
    window: tuple[int, int] = DESKTOP,
    mobile: bool = False,
    without_json_helpers: bool = False,
    without_webauthn: bool = False,
) -> Iterator[Browser]:
    """A fresh headless Chromium (own profile) with one virtual platform authenticator."""
    require_chromium()
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never fetch a driver
    profile = tempfile.mkdtemp(prefix="tapgate-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={window[0]},{window[1]}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=str(CHROMEDRIVER))
    driver = webdriver.Chrome(service=service, options=options)
    try:
        if mobile:
            driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": window[0], "height": window[1], "deviceScaleFactor": 3, "mobile": True},
            )
            driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True})
        driver.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_CSP_VIOLATIONS}
        )
        if without_json_helpers:
            driver.execute_cdp_cmd(
                "Page.addScriptToEvaluateOnNewDocument", {"source": WITHOUT_JSON_HELPERS}
            )
        if without_webauthn:
            driver.execute_cdp_cmd(
                "Page.addScriptToEvaluateOnNewDocument", {"source": WITHOUT_WEBAUTHN}
            )
        driver.execute_cdp_cmd("WebAuthn.enable", {"enableUI": False})
        added = driver.execute_cdp_cmd(
            "WebAuthn.addVirtualAuthenticator",
            {
                "options": {
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": True,
                    "hasUserVerification": True,
                    "isUserVerified": True,
                    "automaticPresenceSimulation": True,
                }
            },
        )
        yield Browser(driver=driver, authenticator_id=added["authenticatorId"])
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
