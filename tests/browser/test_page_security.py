"""The page's security properties: response headers, no inline code, nothing from
another origin, and the failure messages and base64url fallback of its modules
(exercised in Chromium by importing the very modules the page loads)."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser import page
from tests.browser.chrome import Browser
from tests.browser.local_api import send

pytestmark = pytest.mark.browser
OPEN_ROUTE_BURST = 10_000  # not about throttling: see conftest

WEB = Path(__file__).resolve().parents[2] / "lambdas" / "tapgate_broker" / "web"
PAGE_PATHS = ("/v1/", "/v1/enroll")
STATIC_FILES = sorted(p.name for p in WEB.iterdir() if p.suffix in (".js", ".css", ".svg"))


def csp_directives(header: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.parametrize("path", [*PAGE_PATHS, *(f"/v1/static/{n}" for n in STATIC_FILES)])
def test_security_headers_on_page_responses(state: dict[str, Any], path: str) -> None:
    reply = send("GET", state["apiUrl"] + path)
    assert reply.status == 200, reply.body[:300]
    csp = csp_directives(reply.headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert not any("unsafe" in value for values in csp.values() for value in values), csp
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["Referrer-Policy"] == "no-referrer"
    expected_type = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}.get(
        Path(path).suffix, "text/html"
    )
    assert reply.headers["Content-Type"].startswith(expected_type)


def test_an_unknown_static_file_is_not_found_and_still_gets_the_headers(
    state: dict[str, Any],
) -> None:
    reply = send("GET", state["apiUrl"] + "/v1/static/nope.js")
    assert reply.status == 404
    assert "frame-ancestors 'none'" in reply.headers["Content-Security-Policy"]


def test_the_html_has_no_inline_code_and_only_relative_urls() -> None:
    html = (WEB / "index.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all("src=" in tag for tag in scripts), scripts
    assert "<style" not in html
    assert not re.search(r"\sstyle\s*=", html)
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    for url in re.findall(r'(?:src|href)="([^"]*)"', html):
        assert not re.match(r"^(/|[a-z]+:)", url), f"not a relative URL: {url}"


@pytest.mark.parametrize("name", [n for n in STATIC_FILES if n.endswith(".js")])
def test_modules_log_nothing_and_build_no_html(name: str) -> None:
    source = (WEB / name).read_text(encoding="utf-8")
    for forbidden in (
        "console.",
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "eval(",
        "new Function",
        "document.write",
        "localStorage",
        "sessionStorage",
    ):
        assert forbidden not in source, f"{name} uses {forbidden}"
    assert not re.search(r"https?://", source), f"{name} names an absolute URL"


def test_the_pages_load_only_their_own_origin_without_csp_violations(
    state: dict[str, Any], browser: Browser
) -> None:
    for path in PAGE_PATHS:
        page.open_page(browser, state["apiUrl"] + path)
        assert browser.csp_violations() == [], path
        loaded = browser.driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
        )
        assert loaded and all(url.startswith(state["apiUrl"] + "/v1/") for url in loaded), loaded
    # The stylesheet applied (a blocked one would leave the default, transparent, body).
    background = browser.driver.execute_script(
        "return getComputedStyle(document.body).backgroundColor"
    )
    assert background not in ("", "rgba(0, 0, 0, 0)")


# --- the modules themselves, imported in the browser ---------------------------------

RUN_MODULES = """
const done = arguments[arguments.length - 1];
const load = (name) => import(new URL(`static/${name}`, document.baseURI));
(async () => {
  const [api, messages, webauthn, formats] = await Promise.all(
    ["api.js", "messages.js", "webauthn.js", "formats.js"].map(load));
  const problem = (status, slug, retryAfter = null) =>
    new api.ApiError({ status, slug, title: "", detail: "", retryAfter });
  const dom = (name) => new DOMException("x", name);
  const say = (error, context) => messages.describe(error, context).message;
  const bytes = new Uint8Array(256).map((_, i) => i);
  const b64 = webauthn.toBase64url(bytes);
  return {
    linkInvalid: say(problem(401, "enrollment-token-invalid"), "enroll"),
    linkFatal: messages.describe(problem(401, "enrollment-token-invalid"), "enroll").fatal,
    ceremonyFailed: say(problem(401, "ceremony-failed"), "signin"),
    throttled: say(problem(429, "throttled", 7), "signin"),
    throttledOne: say(problem(429, "throttled", 1), "signin"),
    throttledUnknown: say(problem(429, "throttled"), "signin"),
    throttledWait: messages.describe(problem(429, "throttled", 7), "signin").retryAfter,
    forbidden: say(problem(403, "forbidden"), "signin"),
    forbiddenManage: say(problem(403, "forbidden"), "manage"),
    busy: say(problem(503, "dependency-unavailable", 2), "signin"),
    internal: say(problem(500, "internal"), "signin"),
    notAllowed: say(dom("NotAllowedError"), "signin"),
    notSupported: say(dom("NotSupportedError"), "signin"),
    noWebAuthn: say(new webauthn.NoWebAuthnError(), "enroll"),
    alreadyRegistered: say(dom("InvalidStateError"), "enroll"),
    network: say(new api.NetworkError(), "signin"),
    retryAfterSeconds: api.retryAfterSeconds("12"),
    retryAfterDate: api.retryAfterSeconds(new Date(Date.now() + 30000).toUTCString()),
    b64,
    roundTrip: Array.from(new Uint8Array(webauthn.toBuffer(b64))).every((v, i) => v === i),
    padded: webauthn.toBase64url(webauthn.toBuffer("AQID==")),
    rejects: (() => { try { webauthn.toBuffer("not base64!"); return false; }
                      catch (e) { return e instanceof TypeError; } })(),
    shell: formats.shellQuote("it's"),
    process: JSON.parse(formats.processJSON({ AccessKeyId: "A", SecretAccessKey: "S",
      SessionToken: "T", Expiration: "E", consoleUrl: "secret-link", RoleArn: "R" })),
  };
})().then(done, (error) => done({ error: String(error) }));
"""


def test_failure_messages_and_the_base64url_fallback(
    state: dict[str, Any], browser: Browser
) -> None:
    page.open_page(browser, state["apiUrl"] + "/v1/")
    got = browser.driver.execute_async_script(RUN_MODULES)
    assert "error" not in got, got
    assert got["linkInvalid"] == "This link has expired or was already used. Ask for a new one."
    assert got["linkFatal"] is True
    assert "could not be verified" in got["ceremonyFailed"]
    assert got["throttled"] == "Too many attempts. Wait 7 seconds and try again."
    assert got["throttledOne"] == "Too many attempts. Wait 1 second and try again."
    assert got["throttledUnknown"] == "Too many attempts. Wait a few seconds and try again."
    assert got["throttledWait"] == 7
    assert "not allowed" in got["forbidden"] and "not allowed" in got["forbiddenManage"]
    assert got["busy"] == "The service is busy. Wait 2 seconds and try again."
    assert got["internal"] == "Something went wrong on the server. Try again later."
    assert "cancelled or timed out" in got["notAllowed"]
    no_support = "This browser or device has no passkey or security key support."
    assert got["notSupported"].startswith(no_support)
    assert got["noWebAuthn"].startswith(no_support)
    assert "already registered" in got["alreadyRegistered"]
    assert "could not be reached" in got["network"]
    assert got["retryAfterSeconds"] == 12
    assert 28 <= got["retryAfterDate"] <= 31
    assert "=" not in got["b64"] and "+" not in got["b64"] and "/" not in got["b64"]
    assert got["b64"] == base64.urlsafe_b64encode(bytes(range(256))).decode().rstrip("=")
    assert got["roundTrip"] is True
    assert got["padded"] == "AQID"
    assert got["rejects"] is True
    assert got["shell"] == "'it'\\''s'"
    assert got["process"] == {
        "Version": 1,
        "AccessKeyId": "A",
        "SecretAccessKey": "S",
        "SessionToken": "T",
        "Expiration": "E",
    }
