"""The broker's use cases: one method per HTTP API v1 operation.

Ceremonies are stateless here: ``*_options`` store the fido2 state in the
ceremonies table, ``*_verify`` consume it exactly once. Policy that fido2
leaves to the caller lives here: sign counters, user verification per role,
ceremony kind and user binding, expiry, and the step-up rule for adding and
removing keys.
"""

from __future__ import annotations

import logging
import secrets
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import (
    AuthenticationResponse,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    PublicKeyCredentialType,
    PublicKeyCredentialUserEntity,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from tapgate_broker.core import webauthn
from tapgate_broker.core.errors import (
    BadRequestError,
    CeremonyFailedError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    TapgateError,
)
from tapgate_broker.core.models import (
    AuditRecord,
    Caller,
    Ceremony,
    CeremonyKind,
    CredentialSnapshot,
    IssuedCredentials,
    RoleConfig,
    StoredCredential,
    UserVerification,
)
from tapgate_broker.core.ports import (
    AuditLog,
    CeremonyStore,
    Clock,
    CounterAdvance,
    CredentialStore,
    RoleIssuer,
)

logger = logging.getLogger(__name__)

STS_MIN_SECONDS = 900
NICKNAME_MAX = 64
KNOWN_TRANSPORTS = frozenset(t.value for t in AuthenticatorTransport)


@dataclass(frozen=True)
class BrokerConfig:
    rp_id: str
    rp_name: str
    origins: tuple[str, ...]
    roles: tuple[RoleConfig, ...]
    ceremony_ttl_seconds: int = 300
    audit_retention_days: int = 400


@dataclass(frozen=True)
class OptionsResult:
    ceremony_id: str
    public_key: dict[str, Any]
    step_up: dict[str, Any] | None = None


@dataclass(frozen=True)
class AuthenticationResult:
    credentials: IssuedCredentials
    user_name: str
    credential_id: bytes


class Broker:
    """Runs WebAuthn ceremonies and issues gated role credentials."""

    def __init__(
        self,
        *,
        config: BrokerConfig,
        credentials: CredentialStore,
        ceremonies: CeremonyStore,
        audit: AuditLog,
        issuer: RoleIssuer,
        clock: Clock = time.time,
    ) -> None:
        self._config = config
        self._credentials = credentials
        self._ceremonies = ceremonies
        self._audit = audit
        self._issuer = issuer
        self._clock = clock
        self._server = webauthn.make_server(
            rp_id=config.rp_id, rp_name=config.rp_name, origins=config.origins
        )
        self._roles = {role.arn: role for role in config.roles}

    # -- queries ---------------------------------------------------------------

    @property
    def roles(self) -> tuple[RoleConfig, ...]:
        return self._config.roles

    @property
    def rp_id(self) -> str:
        return self._config.rp_id

    def list_credentials(self, caller: Caller) -> list[StoredCredential]:
        return self._credentials.list_for_user(_require_user(caller))

    # -- registration ----------------------------------------------------------

    def registration_options(self, caller: Caller, *, nickname: str | None) -> OptionsResult:
        user_name = _require_user(caller)
        clean_nickname = normalize_nickname(nickname)
        existing = self._credentials.list_for_user(user_name)
        user_handle = existing[0].user_handle if existing else secrets.token_bytes(32)
        options, state = self._server.register_begin(
            PublicKeyCredentialUserEntity(id=user_handle, name=user_name, display_name=user_name),
            credentials=[_descriptor(c) for c in existing],
            resident_key_requirement=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        )
        step_up_public_key = None
        step_up_state = None
        if existing:
            step_up_options, step_up_state = self._server.authenticate_begin(
                [_descriptor(c) for c in existing],
                user_verification=UserVerificationRequirement.PREFERRED,
            )
            step_up_public_key = webauthn.options_json(step_up_options)
        ceremony = Ceremony(
            ceremony_id=_new_ceremony_id(),
            kind=CeremonyKind.REGISTRATION,
            user_name=user_name,
            state=dict(state),
            expires_at=self._expiry(),
            user_handle=user_handle,
            nickname=clean_nickname,
            allowed=tuple(_snapshot(c) for c in existing),
            step_up_state=dict(step_up_state) if step_up_state is not None else None,
        )
        self._ceremonies.put(ceremony)
        return OptionsResult(
            ceremony_id=ceremony.ceremony_id,
            public_key=webauthn.options_json(options),
            step_up=step_up_public_key,
        )

    def registration_verify(
        self,
        caller: Caller,
        *,
        ceremony_id: str,
        credential: Mapping[str, Any],
        nickname: str | None,
        step_up: Mapping[str, Any] | None,
    ) -> StoredCredential:
        user_name = _require_user(caller)
        clean_nickname = normalize_nickname(nickname) if nickname is not None else None
        response = webauthn.parse_registration(credential)
        step_up_response = (
            webauthn.parse_assertion(step_up, field="stepUp") if step_up is not None else None
        )
        transports = _transports(credential)
        ceremony = self._ceremonies.consume(
            ceremony_id, kind=CeremonyKind.REGISTRATION, user_name=user_name, now=self._now()
        )
        try:
            advance = None
            if ceremony.allowed:
                if step_up_response is None or ceremony.step_up_state is None:
                    raise CeremonyFailedError("a second key needs a step-up assertion")
                _, advance = self._verify_assertion(
                    state=ceremony.step_up_state,
                    allowed=ceremony.allowed,
                    response=step_up_response,
                    user_name=user_name,
                )
            try:
                auth_data = self._server.register_complete(ceremony.state, response)
            except ValueError as exc:
                raise CeremonyFailedError(f"registration: {exc}") from exc
            credential_data = auth_data.credential_data
            assert credential_data is not None  # noqa: S101  (parse_registration checked it)
            if self._credentials.find_by_id(credential_data.credential_id):
                raise ConflictError("This security key is already registered.")
            stored = StoredCredential(
                user_name=user_name,
                credential_id=credential_data.credential_id,
                credential_data=bytes(credential_data),
                sign_count=auth_data.counter,
                user_handle=ceremony.user_handle or b"",
                aaguid=str(credential_data.aaguid),
                created_at=self._iso_now(),
                nickname=clean_nickname if clean_nickname is not None else ceremony.nickname,
                transports=transports,
                backup_eligible=auth_data.is_backup_eligible(),
                backup_state=auth_data.is_backed_up(),
            )
            self._credentials.add(stored, step_up=advance)
        except TapgateError as exc:
            self._record(caller, user_name, "register", "failure", reason=exc.reason)
            raise
        self._record(
            caller,
            user_name,
            "register",
            "success",
            credential_id=stored.credential_id,
        )
        return stored

    # -- authentication ----------------------------------------------------------

    def authentication_options(
        self, caller: Caller, *, role_arn: str | None, purpose: str
    ) -> OptionsResult:
        if purpose not in ("sign-in", "manage"):
            raise BadRequestError('purpose must be "sign-in" or "manage"')
        role = self._role(role_arn) if role_arn is not None else None
        kind = CeremonyKind.MANAGE if purpose == "manage" else CeremonyKind.AUTHENTICATION
        if caller.user_name is None:
            # Discoverable passkey sign-in: no user yet, so no allow list, and UV always.
            if kind is CeremonyKind.MANAGE:
                raise ForbiddenError("Managing keys needs a signed (SigV4) request.")
            uv = UserVerification.REQUIRED
            existing: list[StoredCredential] = []
        else:
            existing = self._credentials.list_for_user(caller.user_name)
            if not existing:
                raise NotFoundError("You have no registered security key; register one first.")
            uv = role.user_verification if role is not None else UserVerification.PREFERRED
        options, state = self._server.authenticate_begin(
            [_descriptor(c) for c in existing],
            user_verification=UserVerificationRequirement(uv.value),
        )
        ceremony = Ceremony(
            ceremony_id=_new_ceremony_id(),
            kind=kind,
            user_name=caller.user_name,
            state=dict(state),
            expires_at=self._expiry(),
            role_arn=role.arn if role is not None else None,
            user_verification=uv,
            allowed=tuple(_snapshot(c) for c in existing),
        )
        self._ceremonies.put(ceremony)
        return OptionsResult(
            ceremony_id=ceremony.ceremony_id, public_key=webauthn.options_json(options)
        )

    def authentication_verify(
        self,
        caller: Caller,
        *,
        ceremony_id: str,
        credential: Mapping[str, Any],
        role_arn: str,
        duration_seconds: int | None,
    ) -> AuthenticationResult:
        role = self._role(role_arn)
        duration = self._duration(role, duration_seconds)
        response = webauthn.parse_assertion(credential)
        ceremony = self._ceremonies.consume(
            ceremony_id,
            kind=CeremonyKind.AUTHENTICATION,
            user_name=caller.user_name,
            now=self._now(),
        )
        user_name = ceremony.user_name
        credential_id = response.raw_id
        try:
            if ceremony.role_arn is not None and ceremony.role_arn != role.arn:
                raise BadRequestError("roleArn differs from the one the options were asked for")
            allowed = ceremony.allowed
            state = dict(ceremony.state)
            if user_name is None:
                user_name, allowed = self._discover(response)
            if role.user_verification is UserVerification.REQUIRED:
                state["user_verification"] = UserVerificationRequirement.REQUIRED
            _, advance = self._verify_assertion(
                state=state, allowed=allowed, response=response, user_name=user_name
            )
            self._credentials.advance_counter(advance)
            issued = self._issuer.assume(
                role_arn=role.arn,
                user_name=user_name,
                credential_id=credential_id,
                user_verified=response.response.authenticator_data.is_user_verified(),
                duration_seconds=duration,
            )
            # Inside the try: if this write fails, the credentials are withheld (503)
            # and the failure record below still tells that the ceremony was used.
            self._record(
                caller,
                user_name,
                "authenticate",
                "success",
                credential_id=credential_id,
                role_arn=role.arn,
            )
        except TapgateError as exc:
            self._record(
                caller,
                user_name or "-unknown-",
                "authenticate",
                "failure",
                credential_id=credential_id,
                role_arn=role.arn,
                reason=exc.reason,
            )
            raise
        return AuthenticationResult(
            credentials=issued, user_name=user_name, credential_id=credential_id
        )

    def delete_credential(
        self,
        caller: Caller,
        *,
        credential_id: str,
        ceremony_id: str,
        credential: Mapping[str, Any],
    ) -> None:
        user_name = _require_user(caller)
        target = decode_credential_id(credential_id)
        response = webauthn.parse_assertion(credential)
        ceremony = self._ceremonies.consume(
            ceremony_id, kind=CeremonyKind.MANAGE, user_name=user_name, now=self._now()
        )
        try:
            if not any(s.credential_id == target for s in ceremony.allowed):
                raise NotFoundError("No such credential.")
            _, advance = self._verify_assertion(
                state=ceremony.state,
                allowed=ceremony.allowed,
                response=response,
                user_name=user_name,
            )
            self._credentials.delete(user_name, target, step_up=advance)
        except TapgateError as exc:
            self._record(
                caller, user_name, "revoke", "failure", credential_id=target, reason=exc.reason
            )
            raise
        self._record(caller, user_name, "revoke", "success", credential_id=target)

    # -- helpers ---------------------------------------------------------------

    def _verify_assertion(
        self,
        *,
        state: Mapping[str, Any],
        allowed: Sequence[CredentialSnapshot],
        response: AuthenticationResponse,
        user_name: str,
    ) -> tuple[CredentialSnapshot, CounterAdvance]:
        snapshot = next((s for s in allowed if s.credential_id == response.raw_id), None)
        if snapshot is None:
            raise CeremonyFailedError("credential is not one of the user's keys")
        try:
            self._server.authenticate_complete(
                state, [webauthn.credential_data_from_bytes(snapshot.credential_data)], response
            )
        except ValueError as exc:
            raise CeremonyFailedError(f"assertion: {exc}") from exc
        received = response.response.authenticator_data.counter
        try:
            webauthn.check_counter(stored=snapshot.sign_count, received=received)
        except CeremonyFailedError:
            logger.warning(
                "possible cloned authenticator",
                extra={
                    "user": user_name,
                    "credential": short_id(snapshot.credential_id),
                    "stored_counter": snapshot.sign_count,
                    "received_counter": received,
                },
            )
            raise
        return snapshot, CounterAdvance(
            user_name=user_name,
            credential_id=snapshot.credential_id,
            old=snapshot.sign_count,
            new=received,
            used_at=self._iso_now(),
        )

    def _discover(
        self, response: AuthenticationResponse
    ) -> tuple[str, tuple[CredentialSnapshot, ...]]:
        """Find the owner of a discoverable credential; the user handle must match."""
        user_handle = response.response.user_handle
        for stored in self._credentials.find_by_id(response.raw_id):
            if user_handle is not None and secrets.compare_digest(user_handle, stored.user_handle):
                return stored.user_name, (_snapshot(stored),)
        raise CeremonyFailedError("no credential matches this id and user handle")

    def _role(self, role_arn: str) -> RoleConfig:
        role = self._roles.get(role_arn)
        if role is None:
            raise ForbiddenError("This role is not available through tapgate.")
        return role

    def _duration(self, role: RoleConfig, requested: int | None) -> int:
        if requested is None:
            return role.max_session_seconds
        if not STS_MIN_SECONDS <= requested <= role.max_session_seconds:
            raise BadRequestError(
                f"durationSeconds must be between {STS_MIN_SECONDS} and "
                f"{role.max_session_seconds} for this role"
            )
        return requested

    def _record(
        self,
        caller: Caller,
        user_name: str,
        event: str,
        outcome: str,
        *,
        credential_id: bytes = b"",
        role_arn: str = "",
        reason: str = "",
    ) -> None:
        self._audit.record(
            AuditRecord(
                user_name=user_name,
                at=self._iso_now(precise=True),
                event=event,
                outcome=outcome,
                credential_id=websafe_encode(credential_id) if credential_id else "",
                role_arn=role_arn,
                source_ip=caller.source_ip,
                user_agent=caller.user_agent[:512],
                reason=reason[:512],
            )
        )

    def _now(self) -> int:
        return int(self._clock())

    def _expiry(self) -> int:
        return self._now() + self._config.ceremony_ttl_seconds

    def _iso_now(self, *, precise: bool = False) -> str:
        moment = datetime.fromtimestamp(self._clock(), tz=UTC)
        if precise:
            return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def normalize_nickname(nickname: object) -> str:
    """NFC-normalize a key's nickname and refuse control and format characters."""
    if nickname is None:
        return ""
    if not isinstance(nickname, str):
        raise BadRequestError("nickname must be a string")
    clean = unicodedata.normalize("NFC", nickname).strip()
    if len(clean) > NICKNAME_MAX:
        raise BadRequestError(f"nickname must be at most {NICKNAME_MAX} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in clean):
        raise BadRequestError("nickname must not contain control or invisible characters")
    return clean


def decode_credential_id(value: str) -> bytes:
    if not value or len(value) > 1400 or not all(c.isalnum() or c in "-_" for c in value):
        raise BadRequestError("credentialId must be base64url")
    try:
        return websafe_decode(value)
    except ValueError as exc:
        raise BadRequestError("credentialId must be base64url") from exc


def short_id(credential_id: bytes) -> str:
    """A short, stable, non-secret label for a credential (session tag, logs)."""
    return websafe_encode(credential_id)[:16]


def _transports(credential: Mapping[str, Any]) -> tuple[str, ...]:
    response = credential.get("response")
    raw = response.get("transports") if isinstance(response, Mapping) else None
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        raise BadRequestError("response.transports must be a list of strings")
    return tuple(sorted({t for t in raw if t in KNOWN_TRANSPORTS}))


def _require_user(caller: Caller) -> str:
    if caller.user_name is None:
        raise ForbiddenError("This route needs a signed (SigV4) request.")
    return caller.user_name


def _new_ceremony_id() -> str:
    return secrets.token_urlsafe(24)


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
