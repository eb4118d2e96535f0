"""Listing and removing keys. Removing one, and listing a passkey owner's, takes a fresh
assertion on a ``manage`` ceremony (begun by ``SignIn.options`` with purpose "manage").

A signed caller's manage ceremony pinned their key set when it began; a passkey's owner is
found from the answering credential before the assertion is verified, so that a failure
is filed under that owner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fido2.webauthn import AuthenticationResponse

from tapgate_broker.core import response_rules, webauthn
from tapgate_broker.core.assertions import AssertionVerifier, KeyOwner, discover
from tapgate_broker.core.audit import Auditor
from tapgate_broker.core.ceremonies import binding, require_user
from tapgate_broker.core.clock import now
from tapgate_broker.core.credential_ids import decode_credential_id
from tapgate_broker.core.errors import NotFoundError
from tapgate_broker.core.models import Caller, Ceremony, CeremonyKind, StoredCredential
from tapgate_broker.core.ports import CeremonyStore, Clock, CounterAdvance, CredentialStore


@dataclass(frozen=True)
class KeyListing:
    """A user's keys, and whose they are (a passkey names its owner)."""

    user_name: str
    credentials: list[StoredCredential]


class KeyManagement:
    def __init__(
        self,
        *,
        credentials: CredentialStore,
        ceremonies: CeremonyStore,
        verifier: AssertionVerifier,
        auditor: Auditor,
        clock: Clock,
    ) -> None:
        self._credentials = credentials
        self._ceremonies = ceremonies
        self._verifier = verifier
        self._auditor = auditor
        self._clock = clock

    def own_keys(self, caller: Caller) -> list[StoredCredential]:
        """The signed caller's keys (API Gateway proved who they are)."""
        return self._credentials.list_for_user(require_user(caller))

    def passkey_keys(
        self, caller: Caller, *, ceremony_id: str, credential: Mapping[str, Any]
    ) -> KeyListing:
        """A passkey's owner and their keys, after a fresh discoverable assertion with UV."""
        response = webauthn.parse_assertion(credential)
        response_rules.check_assertion(response)
        ceremony = self._consume(caller, ceremony_id)
        with self._auditor.attempt(
            "list-keys", user=None, caller=caller, credential_id=response.raw_id
        ) as attempt:
            owner = self._owner(ceremony, response)
            attempt.user = owner.user_name
            self._credentials.advance_counter(self._verify(ceremony, response, owner))
            stored = self._credentials.list_for_user(owner.user_name)
        return KeyListing(user_name=owner.user_name, credentials=stored)

    def delete(
        self,
        caller: Caller,
        *,
        credential_id: str,
        ceremony_id: str,
        credential: Mapping[str, Any],
    ) -> None:
        """Remove a key after a fresh assertion: of the signed caller, or of a passkey's owner."""
        target = decode_credential_id(credential_id)
        response = webauthn.parse_assertion(credential)
        response_rules.check_assertion(response)
        ceremony = self._consume(caller, ceremony_id)
        with self._auditor.attempt(
            "revoke", user=caller.user_name, caller=caller, credential_id=target
        ) as attempt:
            owner = self._owner(ceremony, response)
            attempt.user = owner.user_name
            advance = self._verify(ceremony, response, owner)
            if caller.user_name is not None and ceremony.key_set is not None:
                # The signed manage ceremony's snapshot is the key set it pinned.
                owned_ids = {s.credential_id for s in ceremony.allowed}
                key_set = ceremony.key_set
            else:
                current = self._credentials.key_set(owner.user_name)
                owned_ids = {c.credential_id for c in current.keys}
                key_set = current.pin
            if target not in owned_ids:
                raise NotFoundError("No such credential.")
            self._credentials.delete(
                owner.user_name,
                target,
                key_set=key_set,
                step_up=advance,
                audit=self._auditor.success_record(attempt),
            )

    def _consume(self, caller: Caller, ceremony_id: str) -> Ceremony:
        return self._ceremonies.consume(
            ceremony_id,
            kind=CeremonyKind.MANAGE,
            user_name=caller.user_name,
            binding=binding(caller),
            now=now(self._clock),
        )

    def _owner(self, ceremony: Ceremony, response: AuthenticationResponse) -> KeyOwner:
        if ceremony.user_name is None:
            return discover(self._credentials, response)
        return KeyOwner(user_name=ceremony.user_name, allowed=ceremony.allowed)

    def _verify(
        self, ceremony: Ceremony, response: AuthenticationResponse, owner: KeyOwner
    ) -> CounterAdvance:
        return self._verifier.verify(
            state=ceremony.state,
            allowed=owner.allowed,
            response=response,
            user_name=owner.user_name,
        )
