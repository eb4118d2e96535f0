"""Using a soft key: the local-mode guard and a ready `Fido2Client` over the key file."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final

from fido2.client import DefaultClientDataCollector, Fido2Client, UserInteraction
from fido2.ctap2.pin import ClientPin

from tapgate.authenticators.soft.device import SoftAuthenticator
from tapgate.authenticators.soft.errors import SoftKeyNotAllowedError

ALLOW_SOFT_KEY_ENV: Final = "TAPGATE_ALLOW_SOFT_KEY"


def assert_soft_key_allowed(*, local_mode: bool, environ: Mapping[str, str] | None = None) -> None:
    """Refuse the software authenticator unless in local mode or explicitly allowed.

    A soft key's private keys sit in a file, so it is no second factor: it is for local
    mode, tests and demos. `TAPGATE_ALLOW_SOFT_KEY=1` allows it anywhere.
    """
    env = os.environ if environ is None else environ
    if local_mode or env.get(ALLOW_SOFT_KEY_ENV) == "1":
        return
    raise SoftKeyNotAllowedError(
        "the software authenticator keeps its private keys in a file, so it is not a "
        "hardware key: it is allowed in local mode only; set "
        f"{ALLOW_SOFT_KEY_ENV}=1 to use it elsewhere (tests and demos)"
    )


class _FixedPinInteraction(UserInteraction):
    """Answers the client's PIN prompt with a fixed PIN (or none)."""

    def __init__(self, pin: str | None) -> None:
        self._pin = pin

    def prompt_up(self) -> None:
        """Nothing to prompt: the software key touches itself."""

    def request_pin(self, permissions: ClientPin.PERMISSION, rp_id: str | None) -> str | None:
        return self._pin

    def request_uv(self, permissions: ClientPin.PERMISSION, rp_id: str | None) -> bool:
        return True


def soft_client(
    path: str | os.PathLike[str], origin: str, *, pin: str | None = None
) -> Fido2Client:
    """A `Fido2Client` for `origin` over the soft key in `path`, entering `pin` when asked.

    `origin` is the web origin the ceremonies claim (`http://localhost:PORT` is fine for
    RP ID `localhost`); python-fido2 checks the RP ID of each request against it.
    """
    return Fido2Client(
        SoftAuthenticator.load(path),
        DefaultClientDataCollector(origin),
        user_interaction=_FixedPinInteraction(pin),
    )
