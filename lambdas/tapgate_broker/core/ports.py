"""What the core needs from the outside world. Adapters implement these."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from tapgate_broker.core.code_exchange import SignInCode
from tapgate_broker.core.models import (
    AuditRecord,
    Binding,
    Ceremony,
    CeremonyKind,
    EnrollmentToken,
    IssuedCredentials,
    KeySet,
    KeySetPin,
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

    def advance_counter(self, advance: CounterAdvance) -> None:
        """Raises CeremonyFailedError when the condition fails (clone or race)."""

    def delete(
        self,
        user_name: str,
        credential_id: bytes,
        *,
        key_set: KeySetPin,
        step_up: CounterAdvance,
        audit: AuditRecord | None = None,
    ) -> None:
        """Remove a key, move the key set to its next version, advance the approving key's
        counter, write the audit record: atomically.

        Raises NotFoundError if the key does not exist and KeySetChangedError if the key
        set is no longer at ``key_set.version``.
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
