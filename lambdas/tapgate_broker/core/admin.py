"""Admin use cases: list any user's keys, revoke one or all of them, and the key inventory.

Who is an admin is ``enrollment.is_admin`` (the ``admins`` configuration), the one admin
check. Every admin action that changes state needs a fresh assertion from the admin's OWN
key, answering an ``admin`` ceremony (``begin``) begun by the same principal: a stolen admin
session without the admin's key can revoke nothing. A revocation removes each key in its own
transaction with the key's id guard and the user's key-set item (its version checked and
moved on, as every add and delete does), the audit record, and, in the first one, the
approving key's counter. A ceremony begun with a key before its revocation cannot finish: its
counter write (or the key set it pinned) no longer matches.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from fido2.server import Fido2Server
from fido2.utils import websafe_encode
from fido2.webauthn import (
    AuthenticationResponse,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    PublicKeyCredentialType,
    UserVerificationRequirement,
)

from tapgate_broker.core import enrollment, response_rules, webauthn
from tapgate_broker.core.errors import (
    BadRequestError,
    ConflictError,
    ForbiddenError,
    KeySetChangedError,
    NotFoundError,
    TapgateError,
)
from tapgate_broker.core.models import (
    AuditRecord,
    Binding,
    Caller,
    Ceremony,
    CeremonyKind,
    CredentialSnapshot,
    KeySetPin,
    StoredCredential,
    Via,
)
from tapgate_broker.core.ports import CeremonyStore, CounterAdvance, CredentialStore
from tapgate_contract import limits

# A revoke-all re-reads the key set when another write moved it meanwhile; this many times.
REVOKE_ALL_ATTEMPTS = 3
ALL_KEYS = None  # ``revoke(credential_id=ALL_KEYS)``


class Verify(Protocol):
    def __call__(
        self,
        *,
        state: Mapping[str, Any],
        allowed: Sequence[CredentialSnapshot],
        response: AuthenticationResponse,
        user_name: str,
    ) -> tuple[CredentialSnapshot, CounterAdvance]: ...


class MakeRecord(Protocol):
    def __call__(
        self,
        caller: Caller,
        user_name: str,
        event: str,
        outcome: str,
        *,
        credential_id: bytes = ...,
        role_arn: str = ...,
        reason: str = ...,
        extra: Mapping[str, str] | None = ...,
    ) -> AuditRecord: ...


@dataclass(frozen=True)
class AdminOptions:
    ceremony_id: str
    public_key: dict[str, Any]


@dataclass(frozen=True)
class Report:
    """The key inventory: every key, and which of them are unused for ``unused_days``."""

    generated_at: str
    unused_days: int
    keys: tuple[StoredCredential, ...]
    unused: tuple[StoredCredential, ...]

    @property
    def users(self) -> dict[str, int]:
        return dict(sorted(Counter(k.user_name for k in self.keys).items()))

    @property
    def by_aaguid(self) -> dict[str, int]:
        return dict(sorted(Counter(k.aaguid for k in self.keys).items()))


class AdminDesk:
    """The admin routes' use cases; built by the Broker, which lends its verifier."""

    def __init__(
        self,
        *,
        admins: tuple[str, ...],
        credentials: CredentialStore,
        ceremonies: CeremonyStore,
        server: Fido2Server,
        verify: Verify,
        make_record: MakeRecord,
        write_record: Callable[[AuditRecord], None],
        new_ceremony: Callable[[], tuple[str, int]],  # a fresh id and its expiry
        clock: Callable[[], float],
    ) -> None:
        self._admins = admins
        self._credentials = credentials
        self._ceremonies = ceremonies
        self._server = server
        self._verify = verify
        self._make_record = make_record
        self._write_record = write_record
        self._new_ceremony = new_ceremony
        self._clock = clock

    def require_admin(self, caller: Caller) -> str:
        """The admin's user name; 403 for anyone not in ``admins``."""
        if caller.user_name is None or not enrollment.is_admin(
            caller.arn, self._admins, role_arn=caller.role_arn
        ):
            raise ForbiddenError("Only an admin may use this route.", reason="not an admin")
        return caller.user_name

    # -- the admin's own fresh assertion -------------------------------------------

    def begin(self, caller: Caller) -> AdminOptions:
        """Request options for the admin's own keys: the approval of one admin action."""
        admin = self.require_admin(caller)
        own = self._credentials.key_set(admin).keys
        if not own:
            raise ForbiddenError(
                "An admin action needs a touch of your own security key; register one first.",
                reason="admin without a key",
            )
        options, state = self._server.authenticate_begin(
            [_descriptor(c) for c in own],
            user_verification=UserVerificationRequirement.PREFERRED,
        )
        ceremony_id, expires_at = self._new_ceremony()
        self._ceremonies.put(
            Ceremony(
                ceremony_id=ceremony_id,
                kind=CeremonyKind.ADMIN,
                user_name=admin,
                state=dict(state),
                expires_at=expires_at,
                allowed=tuple(_snapshot(c) for c in own),
                binding=_binding(caller),
            )
        )
        return AdminOptions(ceremony_id=ceremony_id, public_key=webauthn.options_json(options))

    # -- queries -----------------------------------------------------------------

    def list_keys(self, caller: Caller, *, user_name: str) -> list[StoredCredential]:
        self.require_admin(caller)
        return self._credentials.list_for_user(enrollment.check_user_name(user_name))

    def report(self, caller: Caller, *, unused_days: int) -> Report:
        self.require_admin(caller)
        if not 1 <= unused_days <= limits.REPORT_UNUSED_DAYS_MAX:
            raise BadRequestError(
                f"unusedDays must be between 1 and {limits.REPORT_UNUSED_DAYS_MAX}"
            )
        now = datetime.fromtimestamp(self._clock(), tz=UTC)
        cutoff = (now - timedelta(days=unused_days)).strftime("%Y-%m-%dT%H:%M:%SZ")
        keys = tuple(
            sorted(self._credentials.all_keys(), key=lambda k: (k.user_name, k.created_at))
        )
        # ISO 8601 UTC strings of one format compare as times.
        unused = tuple(k for k in keys if (k.last_used_at or k.created_at) < cutoff)
        return Report(
            generated_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            unused_days=unused_days,
            keys=keys,
            unused=unused,
        )

    # -- revocation ----------------------------------------------------------------

    def revoke(
        self,
        caller: Caller,
        *,
        user_name: str,
        credential_id: bytes | None,
        reason: object,
        ceremony_id: str,
        credential: Mapping[str, Any],
    ) -> list[bytes]:
        """Revoke one key (``credential_id``) or all keys (``ALL_KEYS``) of ``user_name``
        after a fresh assertion from the admin's own key; the ids revoked."""
        admin = self.require_admin(caller)
        target = enrollment.check_user_name(user_name)
        why = check_reason(reason)
        response = webauthn.parse_assertion(credential)
        response_rules.check_assertion(response)
        action = "revoke-all" if credential_id is ALL_KEYS else "revoke"
        ceremony = self._ceremonies.consume(
            ceremony_id,
            kind=CeremonyKind.ADMIN,
            user_name=admin,
            binding=_binding(caller),
            now=int(self._clock()),
        )
        facts = {"adminAction": action}
        try:
            _, advance = self._verify(
                state=ceremony.state,
                allowed=ceremony.allowed,
                response=response,
                user_name=admin,
            )
            if credential_id is ALL_KEYS:
                return self._revoke_all(caller, target, advance=advance, why=why, facts=facts)
            self._revoke_one(caller, target, credential_id, advance=advance, why=why, facts=facts)
            return [credential_id]
        except TapgateError as exc:
            self._write_record(
                self._make_record(
                    caller,
                    target,
                    "revoke",
                    "failure",
                    credential_id=credential_id or b"",
                    reason=exc.reason,
                    extra={**facts, "adminReason": why},
                )
            )
            raise

    def _revoke_one(
        self,
        caller: Caller,
        target: str,
        credential_id: bytes,
        *,
        advance: CounterAdvance,
        why: str,
        facts: Mapping[str, str],
    ) -> None:
        key_set = self._credentials.key_set(target)
        if credential_id not in {k.credential_id for k in key_set.keys}:
            raise NotFoundError("No such credential.")
        self._credentials.delete(
            target,
            credential_id,
            key_set=key_set.pin,
            step_up=advance,
            audit=self._success(caller, target, credential_id, why=why, facts=facts),
        )

    def _revoke_all(
        self,
        caller: Caller,
        target: str,
        *,
        advance: CounterAdvance,
        why: str,
        facts: Mapping[str, str],
    ) -> list[bytes]:
        """One transaction per key with the key-set item; the approving counter moves in the
        first. Another write to the key set meanwhile (a key added or removed) makes the next
        transaction fail; the key set is read again and the rest revoked."""
        pending: CounterAdvance | None = advance
        revoked: list[bytes] = []
        for _ in range(REVOKE_ALL_ATTEMPTS):
            key_set = self._credentials.key_set(target)
            pin = key_set.pin
            try:
                for key in key_set.keys:
                    self._credentials.delete(
                        target,
                        key.credential_id,
                        key_set=pin,
                        step_up=pending,
                        audit=self._success(
                            caller, target, key.credential_id, why=why, facts=facts
                        ),
                    )
                    pending = None
                    revoked.append(key.credential_id)
                    pin = KeySetPin(version=pin.version + 1, count=pin.count - 1)
            except (KeySetChangedError, NotFoundError):
                continue
            if pending is not None:  # the user had no key: the approval is still used up
                self._credentials.advance_counter(pending)
                self._write_record(self._success(caller, target, b"", why=why, facts=facts))
            return revoked
        raise ConflictError(
            "The user's keys kept changing during the revocation; run it again.",
            reason=f"key set moved {REVOKE_ALL_ATTEMPTS} times during revoke-all",
        )

    def _success(
        self,
        caller: Caller,
        target: str,
        credential_id: bytes,
        *,
        why: str,
        facts: Mapping[str, str],
    ) -> AuditRecord:
        return self._make_record(
            caller,
            target,
            "revoke",
            "success",
            credential_id=credential_id,
            reason=why,
            extra=dict(facts),
        )


def check_reason(value: object) -> str:
    """An admin action's reason: a string of 1..ADMIN_REASON_MAX_LENGTH characters (NFC,
    trimmed), without control or invisible characters."""
    longest = limits.ADMIN_REASON_MAX_LENGTH
    if not isinstance(value, str):
        raise BadRequestError(f"reason must be a string of 1 to {longest} characters")
    clean = unicodedata.normalize("NFC", value).strip()
    if not 1 <= len(clean) <= longest:
        raise BadRequestError(f"reason must be a string of 1 to {longest} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in clean):
        raise BadRequestError("reason must not contain control or invisible characters")
    return clean


def report_document(report: Report) -> dict[str, Any]:
    """The inventory as the API answers it (no key material, no user handles)."""
    return {
        "generatedAt": report.generated_at,
        "unusedDays": report.unused_days,
        "users": [{"userName": u, "keyCount": n} for u, n in report.users.items()],
        "unusedKeys": [_key_row(k) for k in report.unused],
        "keysByAaguid": [{"aaguid": a, "keyCount": n} for a, n in report.by_aaguid.items()],
        "keys": [_key_row(k) for k in report.keys],
    }


def _key_row(key: StoredCredential) -> dict[str, Any]:
    return {
        "userName": key.user_name,
        "credentialId": websafe_encode(key.credential_id),
        "nickname": key.nickname,
        "aaguid": key.aaguid,
        "createdAt": key.created_at,
        "lastUsedAt": key.last_used_at,
    }


def _binding(caller: Caller) -> Binding:
    if caller.arn is None:
        raise ForbiddenError("This route needs a signed (SigV4) request.")
    return Binding(via=Via.SIGV4, principal=caller.arn)


def _descriptor(credential: StoredCredential) -> PublicKeyCredentialDescriptor:
    return PublicKeyCredentialDescriptor(
        type=PublicKeyCredentialType.PUBLIC_KEY,
        id=credential.credential_id,
        transports=[AuthenticatorTransport(t) for t in credential.transports] or None,
    )


def _snapshot(credential: StoredCredential) -> CredentialSnapshot:
    return CredentialSnapshot(
        credential_id=credential.credential_id,
        credential_data=credential.credential_data,
        sign_count=credential.sign_count,
    )
