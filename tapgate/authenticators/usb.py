"""A real security key over USB HID, through python-fido2's WebAuthn client.

``Fido2Client`` speaks CTAP2 and falls back to CTAP1/U2F by itself for old keys.
On Windows 10 1903+ the OS owns FIDO devices, so ``WindowsClient`` (the
Windows WebAuthn API, which draws its own touch and PIN prompts) is used
instead. Prompts for touch and PIN go to the terminal (``tapgate.tty``).
"""

from __future__ import annotations

import sys

from fido2.client import DefaultClientDataCollector, Fido2Client, UserInteraction, WebAuthnClient
from fido2.ctap2.pin import ClientPin

from tapgate import tty


class NoSecurityKeyError(Exception):
    """No FIDO security key is plugged in (or none this user may open)."""


class TerminalInteraction(UserInteraction):
    """Touch and PIN prompts on the controlling terminal; never stdout."""

    def __init__(self, *, touch_message: str = "Touch your security key.") -> None:
        self.touch_message = touch_message
        self.pin_asked = False

    def prompt_up(self) -> None:
        tty.say(self.touch_message)

    def request_pin(self, permissions: ClientPin.PERMISSION, rp_id: str | None) -> str | None:
        self.pin_asked = True
        return tty.ask_secret("PIN for your security key: ") or None

    def request_uv(self, permissions: ClientPin.PERMISSION, rp_id: str | None) -> bool:
        return True


def usb_client(origin: str, *, interaction: UserInteraction) -> WebAuthnClient:
    """A WebAuthn client for the first security key found, bound to ``origin``."""
    collector = DefaultClientDataCollector(origin)
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        from fido2.client.windows import WindowsClient  # noqa: PLC0415

        if WindowsClient.is_available():
            return WindowsClient(collector)
    from fido2.hid import CtapHidDevice  # noqa: PLC0415

    try:
        devices = list(CtapHidDevice.list_devices())
    except OSError as exc:
        raise NoSecurityKeyError(f"cannot list USB security keys: {exc}") from exc
    if not devices:
        raise NoSecurityKeyError("no security key found: plug one in and try again")
    # Several keys: the first one. fido2 filters allowCredentials per device, so a
    # key that holds none of the user's credentials fails clearly (not registered).
    return Fido2Client(devices[0], collector, user_interaction=interaction)
