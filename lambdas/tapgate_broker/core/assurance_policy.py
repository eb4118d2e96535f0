"""Which keys a role takes: a key's level decided at registration, checked at sign-in.

`core.assurance` says what a key is worth; this module applies it to the broker's roles:

- registration asks for a direct attestation when any role requires `certified` or names
  authenticator models (`aaguids`), and stores the key's `KeyAssurance`;
- authentication options for a role offer only the keys that meet its requirement;
- sign-in re-evaluates a certified key against the current metadata (a model revoked since
  loses `certified`), then refuses a key below the role's requirement or outside its
  models with `AuthenticatorNotAllowedError`; the level it admits is the session's
  `tapgate-assurance` tag.

Metadata is read only when needed: a registration whose statement has an x5c chain, a
sign-in with a certified key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from fido2.webauthn import Aaguid, RegistrationResponse

from tapgate_broker.core.assurance import (
    Assurance,
    AssuranceLevel,
    MetadataIndex,
    assess_registration,
    reassess,
)
from tapgate_broker.core.errors import AuthenticatorNotAllowedError, DependencyError
from tapgate_broker.core.metadata import MetadataStoreError
from tapgate_broker.core.models import KeyAssurance, RoleConfig
from tapgate_contract.tags import ANY_ASSURANCE

logger = logging.getLogger(__name__)

MetadataLookup = Callable[[], MetadataIndex | None]
_Key = TypeVar("_Key")


def required_level(role: RoleConfig) -> AssuranceLevel:
    """The weakest level a role takes ("any": every level, synced included)."""
    if role.assurance == ANY_ASSURANCE:
        return AssuranceLevel.SYNCED
    return AssuranceLevel(role.assurance)


def needs_attestation(roles: Iterable[RoleConfig]) -> bool:
    """Whether registration asks for a direct attestation: some role can use what it proves."""
    return any(r.assurance == AssuranceLevel.CERTIFIED.value or r.aaguids for r in roles)


def to_key_assurance(assurance: Assurance) -> KeyAssurance:
    return KeyAssurance(
        level=assurance.level.value,
        reason=assurance.reason,
        aaguid=str(assurance.aaguid) if assurance.aaguid is not None and assurance.attested else "",
        authenticator=assurance.authenticator or "",
        key_identifier=assurance.key_identifier or b"",
        status=assurance.status or "",
    )


def from_key_assurance(key: KeyAssurance) -> Assurance:
    return Assurance(
        level=AssuranceLevel(key.level),
        reason=key.reason,
        aaguid=Aaguid.parse(key.aaguid) if key.aaguid else None,
        key_identifier=key.key_identifier or None,
        authenticator=key.authenticator or None,
        status=key.status or None,
    )


class AssurancePolicy:
    """The broker's assurance decisions over its roles and the current metadata."""

    def __init__(self, roles: Sequence[RoleConfig], *, metadata: MetadataLookup | None) -> None:
        self._metadata = metadata
        self.attestation = "direct" if needs_attestation(roles) else None

    def assess(self, response: RegistrationResponse) -> KeyAssurance:
        """The level of a key whose registration fido2 verified (register_complete)."""
        attestation_object = response.response.attestation_object
        statement = attestation_object.att_stmt
        has_chain = isinstance(statement, dict) and "x5c" in statement
        metadata = None
        if has_chain and attestation_object.fmt != "none":
            try:
                metadata = self._index()
            except MetadataStoreError as exc:
                # Without it the key would be device-bound for good: let the user retry.
                raise DependencyError(
                    "The authenticator metadata is unavailable; try again shortly.",
                    reason=f"metadata store: {exc}",
                ) from exc
        assurance = assess_registration(
            attestation_object=attestation_object,
            client_data_hash=response.response.client_data.hash,
            metadata=metadata,
        )
        return to_key_assurance(assurance)

    def offered(
        self, role: RoleConfig, keys: Sequence[_Key], assurance: Callable[[_Key], KeyAssurance]
    ) -> tuple[_Key, ...]:
        """The keys to offer for a sign-in to `role`: those whose stored level meets it.

        Raises `AuthenticatorNotAllowedError` when none does (the ceremony could not end well).
        """
        offered = tuple(k for k in keys if _meets(role, assurance(k)))
        if keys and not offered:
            raise AuthenticatorNotAllowedError(
                _refusal(role), reason=f"no key of the user meets {_requirement(role)}"
            )
        return offered

    def admit(self, role: RoleConfig, stored: KeyAssurance | None) -> KeyAssurance:
        """The key's current level if it meets `role`'s requirement; else refuse.

        A stored `certified` level is re-evaluated against the current metadata first.
        """
        if stored is None:
            if role.assurance == ANY_ASSURANCE and not role.aaguids:
                return KeyAssurance(level=AssuranceLevel.SYNCED.value, reason="level unknown")
            raise AuthenticatorNotAllowedError(
                _refusal(role), reason="the key's level is unknown to this ceremony"
            )
        current = self.current(stored)
        if not _meets(role, current):
            raise AuthenticatorNotAllowedError(
                _refusal(role),
                reason=f"key is {current.level} ({current.reason}); role needs "
                f"{_requirement(role)}",
            )
        return current

    def current(self, stored: KeyAssurance) -> KeyAssurance:
        """The stored level under the current metadata (it may only go down)."""
        if stored.level != AssuranceLevel.CERTIFIED.value or self._metadata is None:
            return stored
        try:
            metadata = self._index()
        except MetadataStoreError as exc:
            logger.warning("metadata unavailable; the stored level stands: %s", exc)
            return stored
        return to_key_assurance(reassess(from_key_assurance(stored), metadata=metadata))

    def _index(self) -> MetadataIndex | None:
        return self._metadata() if self._metadata is not None else None


def assurance_facts(
    assurance: KeyAssurance, *, before: KeyAssurance | None = None
) -> dict[str, str]:
    """An audit record's facts about the key's level (and its change at this sign-in)."""
    facts = {"assurance": assurance.level}
    if assurance.authenticator:
        facts["authenticator"] = assurance.authenticator[:128]
    if before is not None and before.level != assurance.level:
        facts["assuranceChange"] = f"{before.level} -> {assurance.level}: {assurance.reason}"[:256]
    return facts


def _meets(role: RoleConfig, key: KeyAssurance) -> bool:
    if not AssuranceLevel(key.level).satisfies(required_level(role)):
        return False
    return not role.aaguids or (bool(key.aaguid) and key.aaguid.lower() in role.aaguids)


def _requirement(role: RoleConfig) -> str:
    models = f" of models {', '.join(role.aaguids)}" if role.aaguids else ""
    return f"{role.assurance}{models}"


def _refusal(role: RoleConfig) -> str:
    """The caller's detail: the level (and models) the role needs."""
    if role.aaguids:
        level = "" if role.assurance == ANY_ASSURANCE else f" {role.assurance}"
        return (
            f"This role needs a{level} security key of an attested model it allows "
            f"(AAGUID {', '.join(role.aaguids)}); use another key or ask your administrator."
        )
    return (
        f"This role needs a {role.assurance} security key; the key you used is not. "
        "Use another key or ask your administrator."
    )
