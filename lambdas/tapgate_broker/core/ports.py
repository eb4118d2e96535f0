"""What the core needs from the outside world. Adapters implement these."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from tapgate_broker.core.models import (
    AuditRecord,
    Ceremony,
    CeremonyKind,
    IssuedCredentials,
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


class CredentialStore(Protocol):
    def list_for_user(self, user_name: str) -> list[StoredCredential]: ...

    def find_by_id(self, credential_id: bytes) -> list[StoredCredential]: ...

    def add(self, credential: StoredCredential, *, step_up: CounterAdvance | None) -> None:
        """Store a new key (and advance the step-up key's counter) atomically.

        Raises ConflictError if the user already has that credential id.
        """

    def advance_counter(self, advance: CounterAdvance) -> None:
        """Raises CeremonyFailedError when the condition fails (clone or race)."""

    def delete(self, user_name: str, credential_id: bytes, *, step_up: CounterAdvance) -> None:
        """Remove a key and advance the counter of the key that approved it, atomically.

        Raises NotFoundError if the key does not exist.
        """


class CeremonyStore(Protocol):
    def put(self, ceremony: Ceremony) -> None: ...

    def consume(
        self, ceremony_id: str, *, kind: CeremonyKind, user_name: str | None, now: int
    ) -> Ceremony:
        """Use a ceremony once: one conditional write.

        NotFoundError: unknown, expired, of another kind or of another user.
        ConflictError: already used.
        """


class AuditLog(Protocol):
    def record(self, record: AuditRecord) -> None: ...


class RoleIssuer(Protocol):
    def assume(
        self,
        *,
        role_arn: str,
        user_name: str,
        credential_id: bytes,
        user_verified: bool,
        duration_seconds: int,
    ) -> IssuedCredentials: ...
