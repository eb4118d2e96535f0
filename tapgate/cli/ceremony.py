"""The network and key half of the commands: SigV4 session, authenticator, WebAuthn ceremonies.

Imported only when a command needs the API or a key (never on a cache hit):
this is where botocore and fido2 come in. Errors from the API client, the
authenticators and the terminal are translated to ``CliError`` here.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fido2.client import (
    ClientError,
    DefaultClientDataCollector,
    Fido2Client,
    PinRequiredError,
    WebAuthnClient,
)
from fido2.ctap import CtapError
from fido2.webauthn import PublicKeyCredentialCreationOptions, PublicKeyCredentialRequestOptions

from tapgate import tty
from tapgate.authenticators.usb import NoSecurityKeyError, TerminalInteraction, usb_client
from tapgate.cli import context
from tapgate.cli.errors import CliError
from tapgate.client.api import TapgateApi, load_base_credentials, region_from_api_url


@dataclass(frozen=True)
class Session:
    """A signed connection to one tapgate API, and how to reach the user's key."""

    api: TapgateApi
    local_state: dict[str, Any] | None
    authenticator: str  # "usb" or "soft:PATH"
    base_credentials: Any = field(default=None, repr=False)  # what signs the API requests

    @property
    def local_mode(self) -> bool:
        return self.local_state is not None

    def origin_for(self, rp_id: str | None) -> str:
        """The WebAuthn origin: local mode's, TAPGATE_ORIGIN, or ``https://{rpId}``."""
        override = os.environ.get(context.ENV_ORIGIN)
        if override:
            return override.rstrip("/")
        if self.local_state is not None:
            return str(self.local_state["origin"]).rstrip("/")
        if not rp_id:
            raise CliError("the API's WebAuthn options name no RP ID; set TAPGATE_ORIGIN")
        return f"https://{rp_id}"


def open_session(args: argparse.Namespace, *, api_url: str | None = None) -> Session:
    environ = os.environ
    url = api_url or context.api_url(args, environ)
    state = context.local_state_for(url, args, environ)
    if state is None:
        context.check_local_mode_running(url, args, environ)
    spec = context.authenticator_spec(args, environ)
    if spec.startswith("soft:"):
        check_soft_allowed(local_mode=state is not None)
    explicit_region = getattr(args, "api_region", None) or environ.get(context.ENV_API_REGION)
    credentials, profile_region = load_base_credentials(
        profile=getattr(args, "profile", None), region=None
    )
    region = (
        explicit_region
        or (str(state["region"]) if state is not None and state.get("region") else None)
        or region_from_api_url(url)
        or profile_region
    )
    if not region:
        raise CliError("no AWS region to sign API requests for: pass --api-region")
    unreachable = None
    if state is not None:  # its state file is left from a run that did not stop cleanly
        state_file = os.path.abspath(context.state_file_path(args, environ))
        unreachable = context.local_mode_not_running(url, state_file)
    api = TapgateApi(
        api_url=url, region=region, credentials=credentials, unreachable_message=unreachable
    )
    return Session(api=api, local_state=state, authenticator=spec, base_credentials=credentials)


def check_soft_allowed(*, local_mode: bool) -> None:
    from tapgate.authenticators.soft import (  # noqa: PLC0415
        SoftKeyNotAllowedError,
        assert_soft_key_allowed,
    )

    try:
        assert_soft_key_allowed(local_mode=local_mode)
    except SoftKeyNotAllowedError as exc:
        raise CliError(str(exc)) from exc


def webauthn_client(
    session: Session,
    *,
    origin: str,
    spec: str | None = None,
    touch_message: str = "Touch your security key.",
) -> WebAuthnClient:
    chosen = spec or session.authenticator
    interaction = TerminalInteraction(touch_message=touch_message)
    if chosen.startswith("soft:"):
        return _soft_client(chosen[len("soft:") :], origin, interaction=interaction)
    try:
        return usb_client(origin, interaction=interaction)
    except NoSecurityKeyError as exc:
        raise CliError(str(exc)) from exc


def _soft_client(path: str, origin: str, *, interaction: TerminalInteraction) -> WebAuthnClient:
    """The soft key as a CTAP device behind the same client and prompts as a USB key."""
    from tapgate.authenticators.soft import SoftAuthenticator, SoftKeyError  # noqa: PLC0415

    try:
        device = SoftAuthenticator.load(path)
    except SoftKeyError as exc:
        raise CliError(f"cannot use the software key at {path}: {exc}") from exc
    return Fido2Client(device, DefaultClientDataCollector(origin), user_interaction=interaction)


# -- ceremonies ---------------------------------------------------------------------


def get_assertion(client: WebAuthnClient, public_key: Mapping[str, Any]) -> dict[str, Any]:
    """An AuthenticationResponseJSON from the key for these request options."""
    options = PublicKeyCredentialRequestOptions.from_dict(dict(public_key))
    with _key_errors():
        selection = client.get_assertion(options)
        return dict(selection.get_response(0))


def make_credential(client: WebAuthnClient, public_key: Mapping[str, Any]) -> dict[str, Any]:
    """A RegistrationResponseJSON from the key for these creation options."""
    options = PublicKeyCredentialCreationOptions.from_dict(dict(public_key))
    with _key_errors(registering=True):
        return dict(client.make_credential(options))


def role_credentials(
    session: Session, *, role_arn: str, duration_seconds: int | None
) -> dict[str, Any]:
    """Options, one touch, verify: the API's credential_process document for the role."""
    options = session.api.authentication_options(role_arn=role_arn)
    ceremony_id, public_key = ceremony_parts(session, options)
    client = webauthn_client(session, origin=session.origin_for(public_key.get("rpId")))
    assertion = get_assertion(client, public_key)
    return session.api.authentication_verify(
        ceremony_id=ceremony_id,
        credential=assertion,
        role_arn=role_arn,
        duration_seconds=duration_seconds,
    )


def ceremony_parts(session: Session, options: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The ceremony id and the WebAuthn options, before anything asks for a touch."""
    ceremony_id = options.get("ceremonyId")
    public_key = options.get("publicKey")
    if not isinstance(ceremony_id, str) or not isinstance(public_key, dict):
        session.api.check_is_tapgate()  # a wrong --api-url, named as such
        raise CliError("the tapgate API answered options without ceremonyId and publicKey")
    return ceremony_id, public_key


@contextmanager
def _key_errors(*, registering: bool = False) -> Iterator[None]:
    soft = sys.modules.get("tapgate.authenticators.soft")
    soft_errors: tuple[type[Exception], ...] = (soft.SoftKeyError,) if soft is not None else ()
    try:
        yield
    except soft_errors as exc:
        raise CliError(f"the software key failed: {exc}") from exc
    except PinRequiredError as exc:
        raise CliError("the security key needs its PIN and none was given") from exc
    except ClientError as exc:
        raise CliError(_describe_client_error(exc, registering=registering)) from exc
    except CtapError as exc:
        raise CliError(f"the security key refused: {exc.code.name}") from exc
    except tty.NoTerminalError as exc:
        raise CliError(f"the key needs a PIN but {exc}") from exc
    except OSError as exc:
        raise CliError(f"lost the connection to the security key: {exc}") from exc


_CTAP_MESSAGES = {
    CtapError.ERR.PIN_INVALID: "wrong PIN for the security key",
    CtapError.ERR.PIN_BLOCKED: "the security key's PIN is blocked (too many wrong PINs)",
    CtapError.ERR.PIN_AUTH_BLOCKED: "too many wrong PINs: remove and reinsert the security key",
    CtapError.ERR.PIN_NOT_SET: "the security key has no PIN set and this role requires one",
    CtapError.ERR.OPERATION_DENIED: "the security key denied the operation",
}


def _describe_client_error(exc: ClientError, *, registering: bool) -> str:
    cause = exc.cause
    if isinstance(cause, CtapError) and cause.code in _CTAP_MESSAGES:
        return _CTAP_MESSAGES[cause.code]
    if exc.code is ClientError.ERR.DEVICE_INELIGIBLE:
        if registering:
            return "this security key is already registered with tapgate"
        return "this security key is not registered with tapgate for you"
    if exc.code is ClientError.ERR.TIMEOUT:
        return "timed out waiting for the security key (no touch?)"
    if exc.code is ClientError.ERR.CONFIGURATION_UNSUPPORTED:
        return "the security key does not support what the API asked for"
    if exc.code is ClientError.ERR.BAD_REQUEST and cause is None:
        return "the API's RP ID does not match the origin; check --api-url / TAPGATE_ORIGIN"
    detail = f" ({cause})" if cause else ""
    return f"the security key failed: {exc.code.name.lower().replace('_', ' ')}{detail}"
