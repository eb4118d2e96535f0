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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fido2.server import Fido2Server
from fido2.utils import websafe_encode
from fido2.webauthn import UserVerificationRequirement

from tapgate_broker.core import enrollment, response_rules, webauthn
from tapgate_broker.core.assertions import AssertionVerifier
from tapgate_broker.core.audit import Attempt, Auditor
from tapgate_broker.core.ceremonies import (
    binding,
    descriptor,
    new_ceremony_id,
    require_user,
    snapshot,
)
from tapgate_broker.core.clock import now
from tapgate_broker.core.errors import (
    BadRequestError,
    ConflictError,
    ForbiddenError,
    KeySetChangedError,
    NotFoundError,
)
from tapgate_broker.core.models import (
    Caller,
    Ceremony,
    CeremonyKind,
    KeySetPin,
    StoredCredential,
)
from tapgate_broker.core.ports import CeremonyStore, Clock, CounterAdvance, CredentialStore
from tapgate_contract import audit_events, limits

# A revoke-all re-reads the key set when another write moved it meanwhile; this many times.
REVOKE_ALL_ATTEMPTS = 3
ALL_KEYS = None  # ``revoke(credential_id=ALL_KEYS)``
REVOKE_EVENT = "revoke"


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
    """The admin routes' use cases."""

    def __init__(
        self,
        *,
        server: Fido2Server,
        credentials: CredentialStore,
        ceremonies: CeremonyStore,
        verifier: AssertionVerifier,
        auditor: Auditor,
        clock: Clock,
        admins: tuple[str, ...],
        ceremony_ttl_seconds: int,
    ) -> None:
        self._server = server
        self._credentials = credentials
        self._ceremonies = ceremonies
        self._verifier = verifier
        self._auditor = auditor
        self._clock = clock
        self._admins = admins
        self._ceremony_ttl = ceremony_ttl_seconds

    def require_admin(self, caller: Caller) -> str:
        """The admin's user name; 403 for anyone not in ``admins``."""
        user = require_user(caller)
        if not enrollment.is_admin(caller.arn, self._admins, role_arn=caller.role_arn):
            raise ForbiddenError("Only an admin may use this route.", reason="not an admin")
        return user

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
            [descriptor(c) for c in own],
            user_verification=UserVerificationRequirement.PREFERRED,
        )
        ceremony = Ceremony(
            ceremony_id=new_ceremony_id(),
            kind=CeremonyKind.ADMIN,
            user_name=admin,
            state=dict(state),
            expires_at=now(self._clock) + self._ceremony_ttl,
            allowed=tuple(snapshot(c) for c in own),
            binding=binding(caller),
        )
        self._ceremonies.put(ceremony)
        return AdminOptions(
            ceremony_id=ceremony.ceremony_id, public_key=webauthn.options_json(options)
        )

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
        moment = datetime.fromtimestamp(self._clock(), tz=UTC)
        cutoff = (moment - timedelta(days=unused_days)).strftime("%Y-%m-%dT%H:%M:%SZ")
        keys = tuple(
            sorted(self._credentials.all_keys(), key=lambda k: (k.user_name, k.created_at))
        )
        # ISO 8601 UTC strings of one format compare as times.
        unused = tuple(k for k in keys if (k.last_used_at or k.created_at) < cutoff)
        return Report(
            generated_at=moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
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
        after a fresh assertion from the admin's own key; the ids revoked. Audited under the
        user whose keys they are, with the admin's reason and the admin's ARN as caller."""
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
            binding=binding(caller),
            now=now(self._clock),
        )
        with self._auditor.attempt(
            REVOKE_EVENT,
            user=target,
            caller=caller,
            credential_id=credential_id or b"",
            extra={audit_events.ADMIN_ACTION: action, audit_events.ADMIN_REASON: why},
        ) as attempt:
            advance = self._verifier.verify(
                state=ceremony.state,
                allowed=ceremony.allowed,
                response=response,
                user_name=admin,
            )
            if credential_id is ALL_KEYS:
                return self._revoke_all(attempt, target, advance=advance)
            self._revoke_one(attempt, target, credential_id, advance=advance)
            return [credential_id]

    def _revoke_one(
        self, attempt: Attempt, target: str, credential_id: bytes, *, advance: CounterAdvance
    ) -> None:
        key_set = self._credentials.key_set(target)
        if credential_id not in {k.credential_id for k in key_set.keys}:
            raise NotFoundError("No such credential.")
        self._credentials.delete(
            target,
            credential_id,
            key_set=key_set.pin,
            step_up=advance,
            audit=self._auditor.success_record(attempt),
        )

    def _revoke_all(self, attempt: Attempt, target: str, *, advance: CounterAdvance) -> list[bytes]:
        """One transaction per key with the key-set item (one success record each); the
        approving counter moves in the first. Another write to the key set meanwhile (a key
        added or removed) makes the next transaction fail; the key set is read again and the
        rest revoked."""
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
                        audit=self._auditor.success_record(
                            attempt, credential_id=key.credential_id
                        ),
                    )
                    pending = None
                    revoked.append(key.credential_id)
                    pin = KeySetPin(version=pin.version + 1, count=pin.count - 1)
            except (KeySetChangedError, NotFoundError):
                continue
            if pending is not None:
                # The user had no key: the approval is used up all the same, with the
                # attempt's success record (naming no key) in the same transaction.
                self._credentials.advance_counter(
                    pending, audit=self._auditor.success_record(attempt)
                )
            return revoked
        raise ConflictError(
            "The user's keys kept changing during the revocation; run it again.",
            reason=f"key set moved {REVOKE_ALL_ATTEMPTS} times during revoke-all",
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
