"""Verifying an assertion against a ceremony: the one path every sign-in, step-up and key
management answer takes.

fido2 checks type, origin, challenge, RP ID hash, flags and the signature; here come the
rules it leaves to us: the answering key must be one the ceremony offered, a stored key
must still be usable, client data must not be cross-origin, and the sign counter must
advance. The counter's move is returned, not written: the caller writes it, with its
condition, in the same transaction as the change the assertion approves.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fido2.server import Fido2Server
from fido2.webauthn import AuthenticationResponse

from tapgate_broker.core import response_rules, webauthn
from tapgate_broker.core.ceremonies import snapshot
from tapgate_broker.core.clock import iso_now
from tapgate_broker.core.credential_ids import short_id
from tapgate_broker.core.errors import CeremonyFailedError
from tapgate_broker.core.key_material import check_public_key
from tapgate_broker.core.models import CredentialSnapshot
from tapgate_broker.core.ports import Clock, CounterAdvance, CredentialStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeyOwner:
    """Whose key answered, and the keys an assertion of theirs may come from."""

    user_name: str
    allowed: tuple[CredentialSnapshot, ...]


class AssertionVerifier:
    def __init__(self, server: Fido2Server, *, clock: Clock) -> None:
        self._server = server
        self._clock = clock

    def verify(
        self,
        *,
        state: Mapping[str, Any],
        allowed: Sequence[CredentialSnapshot],
        response: AuthenticationResponse,
        user_name: str,
    ) -> CounterAdvance:
        """Verify ``response`` for a ceremony's ``state``; the answering key's counter move."""
        key = next((s for s in allowed if s.credential_id == response.raw_id), None)
        if key is None:
            raise CeremonyFailedError("credential is not one of the user's keys")
        response_rules.check_client_data(response.response.client_data)
        try:
            stored = webauthn.credential_data_from_bytes(key.credential_data)
            # A key stored before registration checked keys must not reach fido2's verify,
            # whose errors for malformed keys are not ValueError (a 500, no audit record).
            check_public_key(stored.public_key, offered=webauthn.ALLOWED_ALGORITHMS)
        except ValueError as exc:  # KeyMaterialError is one
            raise CeremonyFailedError(f"stored key not usable: {exc}") from exc
        try:
            # With a checked key, fido2 reports every failed check (type, origin,
            # challenge, RP ID hash, flags, signature) as ValueError.
            self._server.authenticate_complete(state, [stored], response)
        except ValueError as exc:
            raise CeremonyFailedError(f"assertion: {exc}") from exc
        received = response.response.authenticator_data.counter
        try:
            webauthn.check_counter(stored=key.sign_count, received=received)
        except CeremonyFailedError:
            logger.warning(
                "possible cloned authenticator",
                extra={
                    "user": user_name,
                    "credential": short_id(key.credential_id),
                    "stored_counter": key.sign_count,
                    "received_counter": received,
                },
            )
            raise
        return CounterAdvance(
            user_name=user_name,
            credential_id=key.credential_id,
            old=key.sign_count,
            new=received,
            used_at=iso_now(self._clock),
        )


def discover(credentials: CredentialStore, response: AuthenticationResponse) -> KeyOwner:
    """The owner of a discoverable credential; the user handle must match."""
    user_handle = response.response.user_handle
    for stored in credentials.find_by_id(response.raw_id):
        if user_handle is not None and secrets.compare_digest(user_handle, stored.user_handle):
            return KeyOwner(user_name=stored.user_name, allowed=(snapshot(stored),))
    raise CeremonyFailedError("no credential matches this id and user handle")
