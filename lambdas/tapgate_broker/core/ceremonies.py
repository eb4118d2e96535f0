"""What every ceremony is made of: its id, who began it (the binding), the keys it offers.

Shared by the use cases; no I/O. A signed caller's ceremonies are bound to its principal
and route family, an enrollment link's to the token's hash, a discoverable passkey's to
nobody (the assertion names the user).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fido2.server import Fido2Server
from fido2.webauthn import (
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    PublicKeyCredentialType,
)

from tapgate_broker.core.errors import ForbiddenError
from tapgate_broker.core.models import (
    ANONYMOUS,
    Binding,
    Caller,
    CredentialSnapshot,
    StoredCredential,
    Via,
)

if TYPE_CHECKING:  # both import this module
    from tapgate_broker.core.assertions import AssertionVerifier
    from tapgate_broker.core.audit import Auditor
    from tapgate_broker.core.ports import CeremonyStore, Clock, CredentialStore

SIGNED_ONLY = "This route needs a signed (SigV4) request."


@dataclass(frozen=True)
class CeremonyPorts:
    """What a use case that begins and finishes its own ceremonies works with."""

    server: Fido2Server
    credentials: CredentialStore
    ceremonies: CeremonyStore
    verifier: AssertionVerifier
    auditor: Auditor
    clock: Clock
    ttl_seconds: int  # how long a begun ceremony may be answered


class CeremonyUseCase:
    """Registration and sign-in: each begins ceremonies and verifies their answers."""

    def __init__(self, ports: CeremonyPorts) -> None:
        self._server = ports.server
        self._credentials = ports.credentials
        self._ceremonies = ports.ceremonies
        self._verifier = ports.verifier
        self._auditor = ports.auditor
        self._clock = ports.clock
        self._ttl = ports.ttl_seconds


@dataclass(frozen=True)
class OptionsResult:
    """A begun ceremony: its id, the WebAuthn options, and what else the client needs."""

    ceremony_id: str
    public_key: dict[str, Any]
    step_up: dict[str, Any] | None = None  # registration of a further key: request options
    user_name: str | None = None  # enrollment link: whose key it enrolls


def new_ceremony_id() -> str:
    return secrets.token_urlsafe(24)


def require_user(caller: Caller) -> str:
    if caller.user_name is None:
        raise ForbiddenError(SIGNED_ONLY)
    return caller.user_name


def binding(caller: Caller) -> Binding:
    """A signed caller's ceremonies are bound to its principal, an unsigned one's to passkeys."""
    if caller.arn is None:
        return Binding(via=Via.PASSKEY, principal=ANONYMOUS)
    return Binding(via=Via.SIGV4, principal=caller.arn)


def signed_binding(caller: Caller, via: Via) -> Binding:
    if caller.arn is None:
        raise ForbiddenError(SIGNED_ONLY)
    return Binding(via=via, principal=caller.arn)


def token_binding(token_hash: str) -> Binding:
    return Binding(via=Via.ENROLLMENT_LINK, principal=f"token:{token_hash}")


def descriptor(credential: StoredCredential) -> PublicKeyCredentialDescriptor:
    return PublicKeyCredentialDescriptor(
        type=PublicKeyCredentialType.PUBLIC_KEY,
        id=credential.credential_id,
        transports=[AuthenticatorTransport(t) for t in credential.transports] or None,
    )


def snapshot(credential: StoredCredential) -> CredentialSnapshot:
    return CredentialSnapshot(
        credential_id=credential.credential_id,
        credential_data=credential.credential_data,
        sign_count=credential.sign_count,
        nickname=credential.nickname,
        assurance=credential.key_assurance,
    )
