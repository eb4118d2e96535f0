"""What the core needs from the outside world. Adapters implement these."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tapgate_broker.core.code_exchange import SignInCode
from tapgate_broker.core.models import (
    AuditEvent,
    AuditRecord,
    Binding,
    Ceremony,
    CeremonyKind,
    EnrollmentToken,
    EventFilter,
    IssuedCredentials,
    KeyAssurance,
    KeySet,
    KeySetPin,
    Position,
    StoredCredential,
)

Clock = Callable[[], float]  # epoch seconds


@dataclass(frozen=True)
class CounterAdvance:
    """Move one credential's sign counter from ``old`` to ``new`` (and stamp last use).

    Written with a condition (stored counter < new, or both zero) so that two
    racing assertions cannot both win.
    """

    user_name: str
    credential_id: bytes
    old: int
    new: int
    used_at: str
    # Set when sign-in found the key's level lower under newer metadata: stored with the
    # counter, so the key's summary shows it from then on.
    assurance: KeyAssurance | None = None


@dataclass(frozen=True)
class TokenUse:
    """Use up an enrollment token in the same write that stores the key it enrolled."""

    token_hash: str
    now: int


class CredentialStore(Protocol):
    def list_for_user(self, user_name: str) -> list[StoredCredential]: ...

    def key_set(self, user_name: str) -> KeySet:
        """The user's keys and the key set's version, from one strongly consistent read."""

    def find_by_id(self, credential_id: bytes) -> list[StoredCredential]: ...

    def all_keys(self) -> list[StoredCredential]:
        """Every user's keys, for the admin inventory: queries by key, never a scan."""

    def add(
        self,
        credential: StoredCredential,
        *,
        key_set: KeySetPin,
        max_keys: int,
        step_up: CounterAdvance | None,
        token: TokenUse | None = None,
        audit: AuditRecord | None = None,
    ) -> None:
        """Store a new key, move the key set to its next version, advance the step-up key's
        counter, use up the token and write the audit record: atomically.

        Raises KeySetChangedError if the key set is no longer at ``key_set.version``
        (another key was added or removed since the ceremony began) or would exceed
        ``max_keys``, ConflictError if any user already has that credential id,
        CeremonyFailedError if the step-up counter moved meanwhile, and
        EnrollmentTokenInvalidError if the token was used or expired meanwhile.
        """

    def advance_counter(self, advance: CounterAdvance, *, audit: AuditRecord) -> None:
        """Move the counter (with its condition) and write the audit record: atomically.

        Raises CeremonyFailedError when the condition fails (clone or race); then neither
        is written.
        """

    def delete(
        self,
        user_name: str,
        credential_id: bytes,
        *,
        key_set: KeySetPin,
        step_up: CounterAdvance | None,
        audit: AuditRecord | None = None,
    ) -> None:
        """Remove a key, move the key set to its next version, advance the approving key's
        counter (``None``: an admin's revoke-all whose approval moved in an earlier write),
        write the audit record: atomically.

        Raises NotFoundError if the key does not exist, KeySetChangedError if the key
        set is no longer at ``key_set.version`` and CeremonyFailedError if the approving
        key's counter moved or the key is gone.
        """


class CeremonyStore(Protocol):
    def put(self, ceremony: Ceremony) -> None: ...

    def consume(
        self,
        ceremony_id: str,
        *,
        kind: CeremonyKind,
        user_name: str | None,
        binding: Binding,
        now: int,
    ) -> Ceremony:
        """Use a ceremony once: one conditional write that also checks who began it.

        NotFoundError: unknown, expired, of another kind or user, or begun on another route
        family or by another caller (such a ceremony is left unused).
        ConflictError: already used.
        """


class EnrollmentStore(Protocol):
    def put(self, token: EnrollmentToken) -> None: ...

    def get(self, token_hash: str) -> EnrollmentToken | None:
        """The token with this hash (a strongly consistent read), or None."""


class CodeStore(Protocol):
    """Browser sign-in codes (core.code_exchange): only their hashes are stored."""

    def put(self, code: SignInCode) -> None: ...

    def get(self, code_hash: str) -> SignInCode | None:
        """The code with this hash (a strongly consistent read), or None."""

    def redeem(self, code: SignInCode, *, now: int) -> None:
        """Use the code once: one conditional write (unused, unexpired, same challenge and
        port) that also checks the key that signed is still registered.

        CodeInvalidError if the code was used or expired meanwhile, CeremonyFailedError if
        the key was removed since it signed.
        """

    def burn(self, code_hash: str, *, now: int) -> None:
        """Use the code up without redeeming it (presented with a wrong verifier)."""


@dataclass(frozen=True)
class RoleInfo:
    """An IAM role as iam:GetRole describes it."""

    arn: str  # full ARN, path included
    role_id: str  # AROA...


class RoleDirectory(Protocol):
    def role(self, name: str, *, role_id: str) -> RoleInfo | None:
        """The role with this name in the broker's account, or None if there is none or the
        broker may not read it. ``role_id`` is the one the caller presented: a cached answer
        with another id is looked up again (a role deleted and created anew)."""


class ConsoleSignIn(Protocol):
    def sign_in_url(self, credentials: IssuedCredentials) -> str:
        """An AWS console sign-in link for these role credentials (a bearer secret)."""


class AuditLog(Protocol):
    def record(self, record: AuditRecord) -> None: ...

    def committed(self, record: AuditRecord) -> None:
        """``record`` was written by another store's transaction, which has committed (a
        key's registration or revocation): nothing to write, but it now exists."""


@dataclass(frozen=True)
class Signal:
    """One event for the account's event bus: a detail type of tapgate_contract.signals
    and its JSON detail."""

    detail_type: str
    detail: Mapping[str, Any]


class SignalSink(Protocol):
    def emit(self, batch: Sequence[Signal]) -> None:
        """Put the events on the bus. Never raises for the bus: a failure is logged and
        counted, and the request that raised the events goes on."""


class AuditReader(Protocol):
    """One read (a DynamoDB Query) of the audit trail, newest first, inside ``filter``'s
    window and matching its role, kind and outcome. Returns the events and where to go on
    from (None: nothing more). A read may return fewer than ``limit`` events (a filter drops
    some after the read) and still have more."""

    def user_events(
        self, user_name: str, *, filter: EventFilter, limit: int, start: Position | None
    ) -> tuple[list[AuditEvent], Position | None]:
        """One user's events (the table's key)."""

    def day_events(
        self, day: str, *, filter: EventFilter, limit: int, start: Position | None
    ) -> tuple[list[AuditEvent], Position | None]:
        """Everyone's events of one UTC day (the day index)."""


class RoleIssuer(Protocol):
    def assume(
        self,
        *,
        role_arn: str,
        user_name: str,
        credential_id: bytes,
        user_verified: bool,
        duration_seconds: int,
        assurance: str,
    ) -> IssuedCredentials:
        """``assurance``: the key's level, the session's ``tapgate-assurance`` tag."""
