"""What every ceremony is made of: its id, who began it (the binding), the keys it offers.

Shared by the use cases; no I/O. A signed caller's ceremonies are bound to its principal
and route family, an enrollment link's to the token's hash, a discoverable passkey's to
nobody (the assertion names the user).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

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

SIGNED_ONLY = "This route needs a signed (SigV4) request."


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
    )
