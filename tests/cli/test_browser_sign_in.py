"""The CLI's side of browser sign-in (tapgate.browser_sign_in): the loopback listener, PKCE,
state, and what the user sees. A fake "browser" calls the callback; no broker is involved
(tests/functional/test_browser_sign_in.py has the broker's rules, tests/browser the whole).
"""

from __future__ import annotations

import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tapgate.browser_sign_in import BrowserSignInError, Pkce, s256, sign_in
from tapgate.cli.main import main

API = "https://api.example.com"
ROLE = "arn:aws:iam::123456789012:role/admin"


class Browser:
    """Opens the page URL like a browser would, then follows the page's redirect to the
    CLI's callback with ``code`` and ``state`` (the real one unless told otherwise)."""

    def __init__(self, *, state: str | None = None, code: str = "c" * 43) -> None:
        self.state = state
        self.code = code
        self.opened: list[str] = []
        self.page: dict[str, Any] = {}
        self.threads: list[threading.Thread] = []

    def __call__(self, url: str) -> bool:
        self.opened.append(url)
        thread = threading.Thread(target=self.callback, args=(url,), daemon=True)
        thread.start()
        self.threads.append(thread)
        return True

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=10)

    def callback(self, url: str) -> None:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        target = f"http://127.0.0.1:{query['port']}/callback?" + urllib.parse.urlencode(
            {"code": self.code, "state": self.state or query["state"]}
        )
        try:
            with urllib.request.urlopen(target, timeout=10) as answer:
                self.page = {"status": answer.status, "text": answer.read().decode()}
        except urllib.error.HTTPError as exc:
            self.page = {"status": exc.code, "text": exc.read().decode()}


def run(browser: Browser, **kwargs: Any) -> tuple[list[tuple[str, Pkce, int]], list[str]]:
    exchanged: list[tuple[str, Pkce, int]] = []
    said: list[str] = []

    def exchange(code: str, pkce: Pkce, port: int) -> dict[str, Any]:
        exchanged.append((code, pkce, port))
        return {"AccessKeyId": "ASIA..."}

    answer = sign_in(
        api_url=API,
        role_arn=ROLE,
        open_browser=True,
        say=said.append,
        exchange=exchange,
        opener=browser,
        **kwargs,
    )
    assert answer == {"AccessKeyId": "ASIA..."}
    return exchanged, said


def test_the_code_from_the_callback_is_exchanged_with_the_verifier_of_the_challenge():
    browser = Browser()
    exchanged, said = run(browser)
    browser.join()
    [url] = browser.opened
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{API}/v1/"
    assert query["signin"] == "cli"
    assert query["role"] == ROLE
    [(code, pkce, port)] = exchanged
    assert code == "c" * 43
    assert port == int(query["port"])
    assert s256(pkce.verifier) == query["code_challenge"]  # only its hash left the process
    assert pkce.verifier not in url
    assert len(pkce.verifier) == 43
    assert query["state"] == pkce.state
    assert browser.page["status"] == 200
    assert "you can close this tab" in browser.page["text"]
    assert "http" not in browser.page["text"]  # no further redirect
    assert url in said[0]


def test_a_callback_with_another_state_stops_with_a_clear_message_and_exchanges_nothing():
    browser = Browser(state="someone-elses-state-0123456789")
    with pytest.raises(BrowserSignInError, match="wrong state"):
        run(browser)
    browser.join()
    assert browser.page["status"] == 400
    assert "nothing was issued" in browser.page["text"]


def test_without_a_browser_the_address_is_printed_and_nothing_opened():
    exchanged: list[str] = []
    said: list[str] = []
    browser = Browser()

    def never(url: str) -> bool:
        raise AssertionError("no browser may be opened")

    def user_reads(message: str) -> None:
        said.append(message)
        browser(message.splitlines()[-1])  # the person opens the printed address

    sign_in(
        api_url=API,
        role_arn=ROLE,
        open_browser=False,
        say=user_reads,
        exchange=lambda code, pkce, port: exchanged.append(code) or {},
        opener=never,
    )
    assert exchanged == ["c" * 43]
    assert said[0].startswith("To sign in with your passkey, open this address")


def test_waiting_ends_after_the_timeout():
    ticks = iter([0.0, 301.0])
    with pytest.raises(BrowserSignInError, match="within 300 seconds"):
        sign_in(
            api_url=API,
            role_arn=ROLE,
            open_browser=False,
            say=lambda message: None,
            exchange=lambda code, pkce, port: {},
            clock=lambda: next(ticks),
        )


def test_no_open_without_browser_is_a_usage_error(isolated_cli: Path, capsys):
    code = main(["credentials", "--role", ROLE, "--api-url", API, "--no-open"])
    assert code != 0
    assert "--no-open goes with --browser" in capsys.readouterr().err


def test_ctrl_c_while_waiting_closes_the_listener():
    opened: list[str] = []

    def interrupted(url: str) -> bool:
        opened.append(url)
        raise KeyboardInterrupt  # as if Ctrl-C arrived while waiting

    with pytest.raises(KeyboardInterrupt):
        sign_in(
            api_url=API,
            role_arn=ROLE,
            open_browser=True,
            say=lambda message: None,
            exchange=lambda code, pkce, port: {},
            opener=interrupted,
        )
    port = int(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(opened[0]).query))["port"])
    with socket.socket() as probe:  # nothing listens there any more
        assert probe.connect_ex(("127.0.0.1", port)) != 0
