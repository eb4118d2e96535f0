"""In-memory adapters for the broker's ports: fast, thread-safe, no AWS.

Used where moto's cost would drown what is measured (benchmarks, fuzzing the
routes at volume). They keep the adapters' contracts: one atomic consume per
ceremony (checking who began it), a conditional counter advance, a conditional credential
put, and the key set's version pinned by every add and delete.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Callable

from tapgate_broker.api.routes import build_app
from tapgate_broker.core.assurance_policy import MetadataLookup
from tapgate_broker.core.errors import (
    CeremonyFailedError,
    ConflictError,
    EnrollmentTokenInvalidError,
    KeySetChangedError,
    NotFoundError,
)
from tapgate_broker.core.key_sets import key_cap_detail
from tapgate_broker.core.models import (
    AuditEvent,
    AuditRecord,
    Binding,
    Caller,
    Ceremony,
    CeremonyKind,
    EnrollmentToken,
    EventFilter,
    IssuedCredentials,
    KeySet,
    KeySetPin,
    Position,
    RoleConfig,
    StoredCredential,
)
from tapgate_broker.core.ports import CounterAdvance, RoleInfo, TokenUse
from tapgate_broker.core.service import Broker, BrokerConfig
from tapgate_contract.audit_events import STORED_OUTCOMES
from tapgate_contract.tags import ASSURANCE_TAG


class MemoryCredentials:
    def __init__(
        self, enrollments: MemoryEnrollments | None = None, audit: MemoryAudit | None = None
    ) -> None:
        self.items: dict[tuple[str, bytes], StoredCredential] = {}
        self.versions: dict[str, int] = {}  # the key-set item's version per user
        self.enrollments = enrollments
        self.audit = audit
        self._lock = threading.Lock()

    def list_for_user(self, user_name: str) -> list[StoredCredential]:
        return [c for (user, _), c in self.items.items() if user == user_name]

    def key_set(self, user_name: str) -> KeySet:
        with self._lock:
            return KeySet(
                version=self.versions.get(user_name, 0),
                keys=tuple(self.list_for_user(user_name)),
            )

    def find_by_id(self, credential_id: bytes) -> list[StoredCredential]:
        return [c for (_, cid), c in self.items.items() if cid == credential_id]

    def all_keys(self) -> list[StoredCredential]:
        with self._lock:
            return list(self.items.values())

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
        with self._lock:
            key = (credential.user_name, credential.credential_id)
            if key_set.count + 1 > max_keys:
                raise KeySetChangedError("key cap", detail=key_cap_detail(max_keys))
            if any(cid == credential.credential_id for (_, cid) in self.items):
                raise ConflictError("This security key is already registered.")
            self._check_version(credential.user_name, key_set)
            if step_up is not None:
                self._check_advance(step_up)
            if token is not None and self.enrollments is not None:
                self.enrollments.check(token)
            # every condition held: now write all of it, as one transaction would
            if step_up is not None:
                self._advance(step_up)
            if token is not None and self.enrollments is not None:
                self.enrollments.use(token)
            self.versions[credential.user_name] = key_set.version + 1
            self.items[key] = credential
            if audit is not None and self.audit is not None:
                self.audit.record(audit)

    def advance_counter(self, advance: CounterAdvance, *, audit: AuditRecord) -> None:
        with self._lock:
            self._advance(advance)
            if self.audit is not None:
                self.audit.record(audit)

    def delete(
        self,
        user_name: str,
        credential_id: bytes,
        *,
        key_set: KeySetPin,
        step_up: CounterAdvance | None,
        audit: AuditRecord | None = None,
    ) -> None:
        with self._lock:
            if (user_name, credential_id) not in self.items:
                raise NotFoundError("No such credential.")
            self._check_version(user_name, key_set)
            if step_up is None:
                pass
            elif not (step_up.user_name == user_name and step_up.credential_id == credential_id):
                self._check_advance(step_up)
                self._advance(step_up)
            else:
                self._check_advance(step_up)
            self.versions[user_name] = key_set.version + 1
            del self.items[(user_name, credential_id)]
            if audit is not None and self.audit is not None:
                self.audit.record(audit)

    def _check_version(self, user_name: str, pin: KeySetPin) -> None:
        if self.versions.get(user_name, 0) != pin.version:
            raise KeySetChangedError("key set version moved since options")

    def _check_advance(self, advance: CounterAdvance) -> None:
        current = self.items.get((advance.user_name, advance.credential_id))
        if current is None:
            raise CeremonyFailedError("key removed since the ceremony began (revoked)")
        both_zero = advance.old == 0 and advance.new == 0
        if not (current.sign_count < advance.new or (both_zero and current.sign_count == 0)):
            raise CeremonyFailedError("counter did not advance in the store")

    def _advance(self, advance: CounterAdvance) -> None:
        self._check_advance(advance)
        current = self.items[(advance.user_name, advance.credential_id)]
        self.items[(advance.user_name, advance.credential_id)] = dataclasses.replace(
            current,
            sign_count=advance.new,
            last_used_at=advance.used_at,
            assurance=advance.assurance or current.assurance,
        )


class MemoryCeremonies:
    def __init__(self) -> None:
        self.items: dict[str, Ceremony] = {}
        self.consumed: set[str] = set()
        self._lock = threading.Lock()

    def put(self, ceremony: Ceremony) -> None:
        with self._lock:
            self.items[ceremony.ceremony_id] = ceremony

    def consume(
        self,
        ceremony_id: str,
        *,
        kind: CeremonyKind,
        user_name: str | None,
        binding: Binding,
        now: int,
    ) -> Ceremony:
        with self._lock:
            ceremony = self.items.get(ceremony_id)
            if (
                ceremony is None
                or ceremony.kind != kind
                or ceremony.user_name != user_name
                or ceremony.binding != binding
            ):
                raise NotFoundError("Unknown or expired ceremony; start a new one.")
            if ceremony_id in self.consumed:
                raise ConflictError("This ceremony was already used; start a new one.")
            if ceremony.expires_at <= now:
                raise NotFoundError("Unknown or expired ceremony; start a new one.")
            self.consumed.add(ceremony_id)
            return ceremony


class MemoryEnrollments:
    def __init__(self) -> None:
        self.items: dict[str, EnrollmentToken] = {}

    def put(self, token: EnrollmentToken) -> None:
        self.items[token.token_hash] = token

    def get(self, token_hash: str) -> EnrollmentToken | None:
        return self.items.get(token_hash)

    def check(self, token: TokenUse) -> None:
        current = self.items.get(token.token_hash)
        if current is None or not current.usable(token.now):
            raise EnrollmentTokenInvalidError("used or expired")

    def use(self, token: TokenUse) -> None:
        self.check(token)
        current = self.items[token.token_hash]
        self.items[token.token_hash] = dataclasses.replace(current, used_at=token.now)


class MemoryConsole:
    def sign_in_url(self, credentials: IssuedCredentials) -> str:
        return "https://signin.example.invalid/federation?Action=login&SigninToken=fake"


class MemoryAudit:
    """The audit log and its reader (newest first, ``limit`` records per read)."""

    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    def record(self, record: AuditRecord) -> None:
        self.records.append(record)

    def committed(self, record: AuditRecord) -> None:
        """MemoryCredentials wrote it with the key (``record``)."""

    def user_events(
        self, user_name: str, *, filter: EventFilter, limit: int, start: Position | None
    ) -> tuple[list[AuditEvent], Position | None]:
        return self._read(lambda r: r.user_name == user_name, filter, limit, start)

    def day_events(
        self, day: str, *, filter: EventFilter, limit: int, start: Position | None
    ) -> tuple[list[AuditEvent], Position | None]:
        return self._read(lambda r: r.at[:10] == day, filter, limit, start)

    def _read(
        self,
        chosen: Callable[[AuditRecord], bool],
        wanted: EventFilter,
        limit: int,
        start: Position | None,
    ) -> tuple[list[AuditEvent], Position | None]:
        # The stored sort key: the time and a suffix that keeps it unique (here: the index).
        keyed = sorted(
            ((f"{r.at}#{i:08x}", r) for i, r in enumerate(self.records) if chosen(r)),
            key=lambda pair: pair[0],
            reverse=True,
        )
        keyed = [(k, r) for k, r in keyed if wanted.since <= k <= wanted.until + "#~"]
        if start is not None and start.at:
            keyed = [(k, r) for k, r in keyed if k < start.at]
        read, rest = keyed[:limit], keyed[limit:]
        events = [
            _event(r)
            for _, r in read
            if wanted.role_arn in (None, r.role_arn)
            and wanted.kind in (None, r.event)
            and (wanted.outcome is None or STORED_OUTCOMES[wanted.outcome] == r.outcome)
        ]
        last = read[-1] if read and rest else None
        position = Position(day=last[0][:10], user=last[1].user_name, at=last[0]) if last else None
        return events, position


def _event(r: AuditRecord) -> AuditEvent:
    return AuditEvent(
        at=r.at,
        user=r.user_name,
        kind=r.event,
        outcome=next(k for k, v in STORED_OUTCOMES.items() if v == r.outcome),
        caller_arn=r.caller_arn,
        reason=r.reason,
        role_arn=r.role_arn,
        session_seconds=r.session_seconds,
        credential_id=r.credential_id,
        nickname=r.nickname,
        source_ip=r.source_ip,
        user_agent=r.user_agent,
        details=dict(r.extra),
    )


class MemoryRoles:
    """Roles by name, as iam:GetRole would answer (full ARN with path, RoleId)."""

    def __init__(self) -> None:
        self.items: dict[str, RoleInfo] = {}

    def add(self, arn: str, role_id: str) -> None:
        self.items[arn.rsplit("/", 1)[1]] = RoleInfo(arn=arn, role_id=role_id)

    def role(self, name: str, *, role_id: str) -> RoleInfo | None:
        return self.items.get(name)


class MemoryIssuer:
    def __init__(self) -> None:
        self.calls = 0
        self.tags: list[dict[str, str]] = []  # the session tags of each issued session

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
        self.calls += 1
        self.tags.append({ASSURANCE_TAG: assurance})
        return IssuedCredentials(
            access_key_id="ASIA" + uuid.uuid4().hex[:16].upper(),
            secret_access_key=uuid.uuid4().hex,
            session_token=uuid.uuid4().hex,
            expiration="2099-01-01T00:00:00Z",
            role_arn=role_arn,
            source_identity=user_name,
        )


@dataclasses.dataclass
class MemoryDeployment:
    """A Broker over in-memory ports, and the resolver app in front of it."""

    rp_id: str = "localhost"
    origin: str = "http://localhost:8080"
    role_arn: str = "arn:aws:iam::123456789012:role/tapgate-test-admin"
    admins: tuple[str, ...] = ()
    extra_roles: tuple[RoleConfig, ...] = ()
    metadata: MetadataLookup | None = None

    def __post_init__(self) -> None:
        self.enrollments = MemoryEnrollments()
        self.audit = MemoryAudit()
        self.credentials = MemoryCredentials(self.enrollments, self.audit)
        self.ceremonies = MemoryCeremonies()
        self.issuer = MemoryIssuer()
        self.roles = MemoryRoles()
        self.broker = Broker(
            config=BrokerConfig(
                rp_id=self.rp_id,
                rp_name="tapgate",
                origins=(self.origin,),
                roles=(RoleConfig(arn=self.role_arn, name="admin"), *self.extra_roles),
                admins=self.admins,
            ),
            credentials=self.credentials,
            ceremonies=self.ceremonies,
            audit=self.audit,
            issuer=self.issuer,
            enrollments=self.enrollments,
            console=MemoryConsole(),
            role_directory=self.roles,
            audit_reader=self.audit,
            clock=lambda: 1_800_000_000.0,
            metadata=self.metadata,
        )
        self.app = build_app(lambda: self.broker)

    @staticmethod
    def caller(user_name: str) -> Caller:
        return Caller(user_name=user_name, arn=f"arn:aws:iam::123456789012:user/{user_name}")
