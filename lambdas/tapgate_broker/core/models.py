"""Records the core works with. Frozen dataclasses; WebAuthn types stay fido2's."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from tapgate_contract.limits import MAX_SESSION_SECONDS
from tapgate_contract.tags import ANY_ASSURANCE


class UserVerification(enum.StrEnum):
    REQUIRED = "required"
    PREFERRED = "preferred"
    DISCOURAGED = "discouraged"


class CeremonyKind(enum.StrEnum):
    REGISTRATION = "registration"
    AUTHENTICATION = "authentication"
    MANAGE = "manage"  # a fresh assertion to revoke a key
    ADMIN = "admin"  # a fresh assertion from an admin's own key approving one admin action


class Via(enum.StrEnum):
    """The route family a ceremony was begun on: it can be finished on that family only."""

    SIGV4 = "sigv4"  # /registration/*, /authentication/*, /credentials/*
    SIGV4_STEP_UP = "sigv4-step-up"  # /registration/step-up/*: a further key, no MFA needed
    ENROLLMENT_LINK = "enrollment-link"  # /enrollment/*: an enrollment token
    PASSKEY = "passkey"  # /passkey/*


ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Binding:
    """Who began a ceremony, and by which route family: its answer must come the same way.

    ``principal`` is the SigV4 caller's principal ARN, ``token:<sha256 of the token>`` for an
    enrollment link, or ``anonymous`` for a discoverable passkey.
    """

    via: Via
    principal: str


@dataclass(frozen=True)
class KeySetPin:
    """What a write that adds or removes a key expects of the user's key set: the version a
    consistent read found (0: never written) and how many keys there were. The write fails
    when the version moved, so a decision made on that read (step-up or not, the key cap)
    still holds when the key is stored."""

    version: int
    count: int


@dataclass(frozen=True)
class RoleConfig:
    arn: str
    name: str
    max_session_seconds: int = MAX_SESSION_SECONDS
    user_verification: UserVerification = UserVerification.PREFERRED
    # Refuse keys without a signature counter (always 0): without one, a cloned key cannot
    # be told from the original (synced passkeys have none).
    require_sign_counter: bool = False
    # The weakest key level the role takes ("any", "device-bound", "certified"), and when
    # not empty the only authenticator models (attested AAGUIDs, lower-case) it takes.
    assurance: str = ANY_ASSURANCE
    aaguids: tuple[str, ...] = ()


@dataclass(frozen=True)
class KeyAssurance:
    """What tapgate knows of a key's authenticator (core.assurance decides it).

    ``level``: "synced", "device-bound" or "certified". ``aaguid``, ``authenticator`` (the
    model's name in the FIDO metadata) and ``key_identifier`` (of the attestation
    certificate, for U2F models without AAGUID) only when its attestation verified; empty
    otherwise. ``reason`` says why the level is what it is (audit trail, ``tapgate list``).
    """

    level: str
    reason: str = ""
    aaguid: str = ""
    authenticator: str = ""
    key_identifier: bytes = b""
    status: str = ""

    @classmethod
    def unattested(cls, *, backup_eligible: bool) -> KeyAssurance:
        """A key stored before tapgate kept levels: what its backup flag says."""
        if backup_eligible:
            return cls(level="synced", reason="backup eligible")
        return cls(level="device-bound", reason="registered before assurance levels")


@dataclass(frozen=True)
class VerifiedSignIn:
    """A verified sign-in assertion (its key's counter advanced): who, which key, what role."""

    user_name: str
    credential_id: bytes
    role: RoleConfig
    user_verified: bool
    assurance: str  # the key's level as judged for this sign-in (the tapgate-assurance tag)


@dataclass(frozen=True)
class Caller:
    """Who is calling: the base identity proven to API Gateway, plus request facts."""

    user_name: str | None  # None: unauthenticated (passkey sign-in)
    arn: str | None
    source_ip: str = ""
    user_agent: str = ""
    role_arn: str | None = None  # a role session's confirmed role: full ARN, path included


@dataclass(frozen=True)
class StoredCredential:
    user_name: str
    credential_id: bytes
    credential_data: bytes  # fido2 AttestedCredentialData bytes (aaguid, id, COSE key)
    sign_count: int
    user_handle: bytes
    aaguid: str
    created_at: str
    last_used_at: str | None = None
    nickname: str = ""
    transports: tuple[str, ...] = ()
    backup_eligible: bool = False
    backup_state: bool = False
    assurance: KeyAssurance | None = None  # None: read from an item without one

    @property
    def key_assurance(self) -> KeyAssurance:
        if self.assurance is not None:
            return self.assurance
        return KeyAssurance.unattested(backup_eligible=self.backup_eligible)


@dataclass(frozen=True)
class KeySet:
    """A user's keys, and the key set's version, as one consistent read found them."""

    version: int
    keys: tuple[StoredCredential, ...]

    @property
    def pin(self) -> KeySetPin:
        return KeySetPin(version=self.version, count=len(self.keys))


@dataclass(frozen=True)
class CredentialSnapshot:
    """What a ceremony remembers of one allowed key: enough to verify without a read."""

    credential_id: bytes
    credential_data: bytes
    sign_count: int
    nickname: str = ""  # for the audit record of the ceremony it answers
    assurance: KeyAssurance | None = None  # None: unknown (the key's requirement refuses)


@dataclass(frozen=True)
class Ceremony:
    ceremony_id: str
    kind: CeremonyKind
    user_name: str | None  # None for discoverable passkey sign-in
    state: dict[str, object]  # fido2 state: holds the challenge; never log it
    expires_at: int  # epoch seconds
    binding: Binding
    role_arn: str | None = None
    user_handle: bytes | None = None
    nickname: str = ""
    allowed: tuple[CredentialSnapshot, ...] = ()
    step_up_state: dict[str, object] | None = None
    key_set: KeySetPin | None = None  # registration and signed manage: what the write expects


@dataclass(frozen=True)
class EnrollmentToken:
    """A one-time enrollment link's server side: only the token's SHA-256 is kept."""

    token_hash: str
    user_name: str  # whose key it enrolls
    issued_by: str  # the caller's ARN
    admin_issued: bool  # an admin's token needs no step-up (the lost-key path)
    expires_at: int  # epoch seconds
    used_at: int | None = None

    def usable(self, now: int) -> bool:
        return self.used_at is None and now < self.expires_at


@dataclass(frozen=True)
class IssuedEnrollment:
    token: str  # the secret: returned once, never stored or logged
    user_name: str
    expires_at: int


@dataclass(frozen=True)
class IssuedCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: str  # ISO 8601 UTC with Z
    role_arn: str
    source_identity: str


@dataclass(frozen=True)
class AuditRecord:
    user_name: str  # whose credential it is about, when known ("-unknown-" otherwise)
    caller_arn: str  # the caller's principal ARN, or "anonymous" for an unsigned request
    at: str  # ISO 8601 UTC
    event: str  # the kind: tapgate_contract.audit_events (register, authenticate, ...)
    outcome: str  # as stored: audit_events.STORED_OUTCOMES' values (success | failure)
    credential_id: str = ""
    role_arn: str = ""
    source_ip: str = ""
    user_agent: str = ""
    reason: str = ""  # why it was refused (audit_events.COUNTER_REGRESSION, ...)
    session_seconds: int | None = None  # an issued session's duration
    nickname: str = ""  # the key's nickname, when the record is about one key
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EventFilter:
    """Which audit events a query asks for, resolved: the window is always explicit."""

    user: str | None
    role_arn: str | None
    kind: str | None
    outcome: str | None
    since: str  # ISO 8601 UTC with microseconds, as the audit table's ``at`` starts
    until: str


@dataclass(frozen=True)
class Position:
    """Where a page ended: the last item read, by the keys DynamoDB continues from."""

    day: str
    user: str
    at: str  # the stored sort key, suffix included


@dataclass(frozen=True)
class AuditEvent:
    """One audit record as the events route answers it (never a secret: see FIELDS); its
    outcome is audit_events.OK or REFUSED."""

    at: str
    user: str
    kind: str
    outcome: str
    caller_arn: str
    reason: str = ""
    role_arn: str = ""
    session_seconds: int | None = None
    credential_id: str = ""
    nickname: str = ""
    source_ip: str = ""
    user_agent: str = ""
    details: Mapping[str, str] = field(default_factory=dict)
