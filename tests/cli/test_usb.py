"""The USB authenticator without a key plugged in, and the terminal prompts' routing."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from fido2.hid import CtapHidDevice

from tapgate import tty
from tapgate.authenticators import usb
from tapgate.authenticators.usb import NoSecurityKeyError, TerminalInteraction, usb_client


def no_devices() -> Iterator[Any]:
    return iter(())


def test_no_key_plugged_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(usb.sys, "platform", "linux")
    monkeypatch.setattr(CtapHidDevice, "list_devices", classmethod(lambda cls: no_devices()))
    with pytest.raises(NoSecurityKeyError, match="no security key found"):
        usb_client("https://tapgate.example", interaction=TerminalInteraction())


def test_touch_prompt_never_goes_to_stdout(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tty, "_open_terminal", lambda: None)
    TerminalInteraction(touch_message="Touch it.").prompt_up()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "Touch it.\n"


def test_pin_from_piped_stdin_without_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tty, "_open_terminal", lambda: None)
    monkeypatch.setattr(tty.sys, "stdin", io.StringIO("1234\n"))
    interaction = TerminalInteraction()
    assert interaction.request_pin(permissions=0, rp_id="x") == "1234"  # type: ignore[arg-type]
    assert capsys.readouterr().out == ""


def test_no_terminal_and_no_stdin_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tty, "_open_terminal", lambda: None)
    monkeypatch.setattr(tty.sys, "stdin", io.StringIO(""))
    with pytest.raises(tty.NoTerminalError):
        tty.ask_secret("PIN: ")
