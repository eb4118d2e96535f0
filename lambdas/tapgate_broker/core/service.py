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
    RegistrationResponse,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from tapgate_broker.core import enrollment, identity, response_rules, webauthn
from tapgate_broker.core.browser_sign_in import BrowserSignIn
from tapgate_broker.core.errors import (
    BadRequestError,
    CeremonyFailedError,
    ConflictError,
    EnrollmentTokenInvalidError,
    ForbiddenError,
    NotFoundError,
    TapgateError,
)
from tapgate_broker.core.identity import DEFAULT_IDENTITY_ROLES, Principal
from tapgate_broker.core.key_material import check_public_key
from tapgate_broker.core.key_sets import DEFAULT_MAX_KEYS_PER_USER, key_cap_detail
from tapgate_broker.core.models import (
    ANONYMOUS,
    AuditRecord,
    Binding,
    Caller,
    Ceremony,
    CeremonyKind,
    CredentialSnapshot,
    EnrollmentToken,
    IssuedCredentials,
    IssuedEnrollment,
    KeySet,
    RoleConfig,
    SignIn,
    StoredCredential,
    UserVerification,
    Via,
)
from tapgate_broker.core.ports import (
    AuditLog,
    CeremonyStore,
    Clock,
    CodeStore,
    ConsoleSignIn,
    CounterAdvance,
    CredentialStore,
    EnrollmentStore,
    RoleDirectory,
    RoleIssuer,
    TokenUse,
)
from tapgate_broker.core.user_names import is_user_name
from tapgate_contract import limits

logger = logging.getLogger(__name__)

STS_MIN_SECONDS = limits.MIN_SESSION_SECONDS
NICKNAME_MAX = limits.NICKNAME_MAX_LENGTH
KNOWN_TRANSPORTS = frozenset(t.value for t in AuthenticatorTransport)


@dataclass(frozen=True)
class BrokerConfig:
    rp_id: str
    rp_name: str
    origins: tuple[str, ...]
    roles: tuple[RoleConfig, ...]
    ceremony_ttl_seconds: int = limits.CEREMONY_TTL_SECONDS
    audit_retention_days: int = limits.AUDIT_RETENTION_DAYS
    admins: tuple[str, ...] = ()  # IAM user names or IAM role ARNs
    enrollment_ttl_seconds: int = limits.ENROLLMENT_TTL_SECONDS
    identity_roles: tuple[str, ...] = DEFAULT_IDENTITY_ROLES  # role ARNs or ARN patterns
    max_keys_per_user: int = DEFAULT_MAX_KEYS_PER_USER

    @property
    def accepted_identity_roles(self) -> tuple[str, ...]:
        """Roles whose sessions are base identities: the configured ones and admin roles."""
        return self.identity_roles + tuple(a for a in self.admins if ":role/" in a)

    @property
    def page_origin(self) -> str:
        """Where the web page lives: the first configured origin."""
        return self.origins[0]


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
        enrollments: EnrollmentStore,
        console: ConsoleSignIn,
        role_directory: RoleDirectory,
        codes: CodeStore | None = None,
        clock: Clock = time.time,
    ) -> None:
        self._config = config
        self._credentials = credentials
        self._ceremonies = ceremonies
        self._audit = audit
        self._issuer = issuer
        self._enrollments = enrollments
        self._console = console
        self._role_directory = role_directory
        self._codes = codes
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

    def identify(self, arn: str, principal_id: str | None) -> Principal:
        """The user behind a verified caller (a role session's role is looked up)."""
        return identity.identify(
            arn,
            principal_id,
            identity_roles=self._config.accepted_identity_roles,
            roles=self._role_directory,
        )

    def list_credentials(self, caller: Caller) -> list[StoredCredential]:
        return self._credentials.list_for_user(_require_user(caller))

    # -- registration ----------------------------------------------------------

    def registration_options(
        self, caller: Caller, *, nickname: str | None, via: Via = Via.SIGV4
    ) -> OptionsResult:
        """Creation options for the signed caller: on ``/registration/options`` (``SIGV4``,
        MFA-gated by the API's resource policy) for a first or further key, on
        ``/registration/step-up/options`` (``SIGV4_STEP_UP``) for a further key only. A
        user who has keys must answer with a step-up assertion either way."""
        user_name = _require_user(caller)
        key_set = self._credentials.key_set(user_name)
        if via is Via.SIGV4_STEP_UP and not key_set.keys:
            raise ForbiddenError(
                "You have no security key yet: register your first one with "
                "/v1/registration/options (it needs an MFA session) or an enrollment link."
            )
        return self._begin_registration(
            user_name,
            key_set=key_set,
            nickname=nickname,
            step_up=bool(key_set.keys),
            binding=_signed_binding(caller, via),
        )

    def _begin_registration(
        self,
        user_name: str,
        *,
        key_set: KeySet,
        nickname: str | None,
        step_up: bool,
        binding: Binding,
    ) -> OptionsResult:
        clean_nickname = normalize_nickname(nickname)
        max_keys = self._config.max_keys_per_user
        if len(key_set.keys) >= max_keys:
            raise ConflictError(key_cap_detail(max_keys), reason=f"key cap {max_keys} reached")
        existing = key_set.keys
        user_handle = existing[0].user_handle if existing else secrets.token_bytes(32)
        options, state = self._server.register_begin(
            PublicKeyCredentialUserEntity(id=user_handle, name=user_name, display_name=user_name),
            credentials=[_descriptor(c) for c in existing],
            resident_key_requirement=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        )
        step_up_public_key = None
        step_up_state = None
        if step_up:
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
            allowed=tuple(_snapshot(c) for c in existing) if step_up else (),
            step_up_state=dict(step_up_state) if step_up_state is not None else None,
            binding=binding,
            key_set=key_set.pin,
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
        via: Via = Via.SIGV4,
    ) -> StoredCredential:
        user_name = _require_user(caller)
        clean_nickname = normalize_nickname(nickname) if nickname is not None else None
        response = webauthn.parse_registration(credential)
        response_rules.check_registration(response, offered=webauthn.ALLOWED_ALGORITHMS)
        step_up_response = (
            webauthn.parse_assertion(step_up, field="stepUp") if step_up is not None else None
        )
        if step_up_response is not None:
            response_rules.check_assertion(step_up_response, field="stepUp")
        transports = _transports(credential)
        ceremony = self._ceremonies.consume(
            ceremony_id,
            kind=CeremonyKind.REGISTRATION,
            user_name=user_name,
            binding=_signed_binding(caller, via),
            now=self._now(),
        )
        return self._complete_registration(
            caller,
            ceremony,
            response=response,
            transports=transports,
            nickname=clean_nickname,
            step_up=step_up_response,
        )

    def _complete_registration(
        self,
        caller: Caller,
        ceremony: Ceremony,
        *,
        response: RegistrationResponse,
        transports: tuple[str, ...],
        nickname: str | None,
        step_up: AuthenticationResponse | None,
        token: TokenUse | None = None,
        issued_by: str = "",
    ) -> StoredCredential:
        """Verify a consumed registration ceremony and store the key (audited either way)."""
        user_name = str(ceremony.user_name)
        try:
            if ceremony.key_set is None:
                raise CeremonyFailedError("registration ceremony without a key-set pin")
            advance = None
            # Step-up is decided by the key set the ceremony was begun against; the key's
            # transaction below fails if that key set changed since (a key added meanwhile).
            if ceremony.allowed:
                if step_up is None or ceremony.step_up_state is None:
                    raise CeremonyFailedError("a second key needs a step-up assertion")
                _, advance = self._verify_assertion(
                    state=ceremony.step_up_state,
                    allowed=ceremony.allowed,
                    response=step_up,
                    user_name=user_name,
                )
            response_rules.check_client_data(response.response.client_data)
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
                nickname=nickname if nickname is not None else ceremony.nickname,
                transports=transports,
                backup_eligible=auth_data.is_backup_eligible(),
                backup_state=auth_data.is_backed_up(),
            )
            # The success record is written in the key's own transaction: a key is never
            # stored without it, and a failed write stores neither.
            success = self._audit_record(
                caller,
                user_name,
                "register",
                "success",
                credential_id=stored.credential_id,
                extra=(
                    {"via": "enrollment-token", "issuedBy": issued_by}
                    if token is not None
                    else None
                ),
            )
            self._credentials.add(
                stored,
                key_set=ceremony.key_set,
                max_keys=self._config.max_keys_per_user,
                step_up=advance,
                token=token,
                audit=success,
            )
        except TapgateError as exc:
            self._record(caller, user_name, "register", "failure", reason=exc.reason)
            raise
        return stored

    # -- enrollment tokens -------------------------------------------------------

    def create_enrollment(self, caller: Caller, *, user_name: str | None) -> IssuedEnrollment:
        """An enrollment link: for anyone if the caller is an admin, else for a keyless self."""
        caller_name = _require_user(caller)
        target = enrollment.check_user_name(user_name) if user_name is not None else caller_name
        admin = enrollment.is_admin(caller.arn, self._config.admins, role_arn=caller.role_arn)
        if not admin:
            if target != caller_name:
                raise ForbiddenError("Only an admin may create an enrollment link for others.")
            if self._credentials.list_for_user(caller_name):
                raise ForbiddenError(
                    "You already have a key; add another with a step-up (tapgate register)."
                )
        token, token_hash = enrollment.new_token()
        expires_at = self._now() + self._config.enrollment_ttl_seconds
        self._enrollments.put(
            EnrollmentToken(
                token_hash=token_hash,
                user_name=target,
                issued_by=str(caller.arn),
                admin_issued=admin,
                expires_at=expires_at,
            )
        )
        self._record(
            caller,
            target,
            "enrollment-issued",
            "success",
            extra={"issuedBy": str(caller.arn), "adminIssued": str(admin).lower()},
        )
        return IssuedEnrollment(token=token, user_name=target, expires_at=expires_at)

    def enrollment_url(self, issued: IssuedEnrollment) -> str:
        """The page's link; the token rides in the fragment, which browsers never send."""
        return f"{self._config.page_origin}/v1/enroll#token={issued.token}"

    def enrollment_options(
        self, caller: Caller, *, token: str, nickname: str | None
    ) -> tuple[OptionsResult, str]:
        """Registration options for the token's user; the token stays usable until verify."""
        record, key_set = self._usable_token(token)
        result = self._begin_registration(
            record.user_name,
            key_set=key_set,
            nickname=nickname,
            step_up=False,
            binding=_token_binding(record.token_hash),
        )
        return result, record.user_name

    def enrollment_verify(
        self,
        caller: Caller,
        *,
        token: str,
        ceremony_id: str,
        credential: Mapping[str, Any],
        nickname: str | None,
    ) -> StoredCredential:
        clean_nickname = normalize_nickname(nickname) if nickname is not None else None
        response = webauthn.parse_registration(credential)
        response_rules.check_registration(response, offered=webauthn.ALLOWED_ALGORITHMS)
        transports = _transports(credential)
        record, _ = self._usable_token(token)
        # The consume's condition checks the ceremony was begun with this very token.
        ceremony = self._ceremonies.consume(
            ceremony_id,
            kind=CeremonyKind.REGISTRATION,
            user_name=record.user_name,
            binding=_token_binding(record.token_hash),
            now=self._now(),
        )
        return self._complete_registration(
            caller,
            ceremony,
            response=response,
            transports=transports,
            nickname=clean_nickname,
            step_up=None,
            token=TokenUse(token_hash=record.token_hash, now=self._now()),
            issued_by=record.issued_by,
        )

    def _usable_token(self, token: str) -> tuple[EnrollmentToken, KeySet]:
        record = self._enrollments.get(enrollment.hash_token(token))
        if record is None:
            raise EnrollmentTokenInvalidError("unknown enrollment token")
        if not record.usable(self._now()):
            raise EnrollmentTokenInvalidError("enrollment token expired or used")
        if not is_user_name(record.user_name):
            raise EnrollmentTokenInvalidError("enrollment token for an unusable user name")
        key_set = self._credentials.key_set(record.user_name)
        if key_set.keys and not record.admin_issued:
            raise EnrollmentTokenInvalidError("self-issued token, and the user now has a key")
        return record, key_set

    # -- authentication ----------------------------------------------------------

    def authentication_options(
        self, caller: Caller, *, role_arn: str | None, purpose: str
    ) -> OptionsResult:
        if purpose not in ("sign-in", "manage"):
            raise BadRequestError('purpose must be "sign-in" or "manage"')
        role = self._role(role_arn) if role_arn is not None else None
        kind = CeremonyKind.MANAGE if purpose == "manage" else CeremonyKind.AUTHENTICATION
        key_set: KeySet | None = None
        if caller.user_name is None:
            # Discoverable passkey: no user yet, so no allow list, and UV always.
            uv = UserVerification.REQUIRED
            existing: tuple[StoredCredential, ...] = ()
        else:
            key_set = self._credentials.key_set(caller.user_name)
            existing = key_set.keys
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
            binding=_binding(caller),
            key_set=key_set.pin if key_set is not None and kind is CeremonyKind.MANAGE else None,
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
        sign_in = self.verify_sign_in(
            caller, ceremony_id=ceremony_id, credential=credential, role=role
        )
        issued = self.assume_for(caller, sign_in, duration_seconds=duration)
        return AuthenticationResult(
            credentials=issued, user_name=sign_in.user_name, credential_id=sign_in.credential_id
        )

    def verify_sign_in(
        self,
        caller: Caller,
        *,
        ceremony_id: str,
        credential: Mapping[str, Any],
        role: RoleConfig,
        event: str = "authenticate",
    ) -> SignIn:
        """Verify a sign-in assertion for ``role`` and advance the key's counter: every check
        before a role is assumed. A failure is audited as ``event``."""
        response = webauthn.parse_assertion(credential)
        response_rules.check_assertion(response)
        ceremony = self._ceremonies.consume(
            ceremony_id,
            kind=CeremonyKind.AUTHENTICATION,
            user_name=caller.user_name,
            binding=_binding(caller),
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
            if role.require_sign_counter and advance.new == 0:
                raise CeremonyFailedError(
                    f"role {role.arn} requires a key with a signature counter; this one has none"
                )
            self._credentials.advance_counter(advance)
        except TapgateError as exc:
            self._record(
                caller,
                user_name or "-unknown-",
                event,
                "failure",
                credential_id=credential_id,
                role_arn=role.arn,
                reason=exc.reason,
            )
            raise
        return SignIn(
            user_name=user_name,
            credential_id=credential_id,
            role=role,
            user_verified=response.response.authenticator_data.is_user_verified(),
        )

    def assume_for(
        self,
        caller: Caller,
        sign_in: SignIn,
        *,
        duration_seconds: int,
        extra: Mapping[str, str] | None = None,
    ) -> IssuedCredentials:
        """Assume the role of a verified sign-in; audited as ``authenticate`` either way."""
        try:
            issued = self._issuer.assume(
                role_arn=sign_in.role.arn,
                user_name=sign_in.user_name,
                credential_id=sign_in.credential_id,
                user_verified=sign_in.user_verified,
                duration_seconds=duration_seconds,
            )
            # Inside the try: if this write fails, the credentials are withheld (503)
            # and the failure record below still tells that the ceremony was used.
            self._record(
                caller,
                sign_in.user_name,
                "authenticate",
                "success",
                credential_id=sign_in.credential_id,
                role_arn=sign_in.role.arn,
                extra=extra,
            )
        except TapgateError as exc:
            self._record(
                caller,
                sign_in.user_name,
                "authenticate",
                "failure",
                credential_id=sign_in.credential_id,
                role_arn=sign_in.role.arn,
                reason=exc.reason,
                extra=extra,
            )
            raise
        return issued

    @property
    def browser_sign_in(self) -> BrowserSignIn:
        """Browser sign-in for the CLI (core.browser_sign_in)."""
        if self._codes is None:
            raise ForbiddenError("Browser sign-in is not set up on this deployment.")
        return BrowserSignIn(broker=self, codes=self._codes, clock=self._clock)

    def role_config(self, role_arn: str) -> RoleConfig:
        """A gated role's configuration; ForbiddenError for any other role."""
        return self._role(role_arn)

    def session_seconds(self, role: RoleConfig, requested: int | None) -> int:
        """The session length to ask STS for; BadRequestError outside the role's range."""
        return self._duration(role, requested)

    def audit(self, caller: Caller, user_name: str, event: str, outcome: str, **facts: Any) -> None:
        """Write an audit record now (``facts``: credential_id, role_arn, reason, extra)."""
        self._record(caller, user_name, event, outcome, **facts)

    def console_url(self, issued: IssuedCredentials) -> str:
        """A console sign-in link from freshly issued credentials (a bearer secret)."""
        return self._console.sign_in_url(issued)

    def passkey_credentials(
        self, caller: Caller, *, ceremony_id: str, credential: Mapping[str, Any]
    ) -> tuple[str, list[StoredCredential]]:
        """A passkey's owner and their keys, after a fresh discoverable assertion with UV."""
        response = webauthn.parse_assertion(credential)
        response_rules.check_assertion(response)
        ceremony = self._consume_manage(caller, ceremony_id)
        user_name: str | None = None
        try:
            user_name, allowed = self._manage_owner(ceremony, response)
            advance = self._verify_manage(ceremony, response, user_name, allowed)
            self._credentials.advance_counter(advance)
            stored = self._credentials.list_for_user(user_name)
        except TapgateError as exc:
            self._record(
                caller,
                user_name or "-unknown-",
                "list-keys",
                "failure",
                credential_id=response.raw_id,
                reason=exc.reason,
            )
            raise
        self._record(caller, user_name, "list-keys", "success", credential_id=response.raw_id)
        return user_name, stored

    def delete_credential(
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
        ceremony = self._consume_manage(caller, ceremony_id)
        user_name = caller.user_name
        try:
            user_name, allowed = self._manage_owner(ceremony, response)
            advance = self._verify_manage(ceremony, response, user_name, allowed)
            if caller.user_name is not None and ceremony.key_set is not None:
                # The signed manage ceremony's snapshot is the key set it pinned.
                owned_ids = {s.credential_id for s in ceremony.allowed}
                key_set = ceremony.key_set
            else:
                current = self._credentials.key_set(user_name)
                owned_ids = {c.credential_id for c in current.keys}
                key_set = current.pin
            if target not in owned_ids:
                raise NotFoundError("No such credential.")
            success = self._audit_record(
                caller, user_name, "revoke", "success", credential_id=target
            )
            self._credentials.delete(
                user_name, target, key_set=key_set, step_up=advance, audit=success
            )
        except TapgateError as exc:
            self._record(
                caller,
                user_name or "-unknown-",
                "revoke",
                "failure",
                credential_id=target,
                reason=exc.reason,
            )
            raise

    def _consume_manage(self, caller: Caller, ceremony_id: str) -> Ceremony:
        return self._ceremonies.consume(
            ceremony_id,
            kind=CeremonyKind.MANAGE,
            user_name=caller.user_name,
            binding=_binding(caller),
            now=self._now(),
        )

    def _manage_owner(
        self, ceremony: Ceremony, response: AuthenticationResponse
    ) -> tuple[str, tuple[CredentialSnapshot, ...]]:
        """Whose keys a manage ceremony is about: the signed caller's, or (passkey) the
        owner of the answering credential, found before the assertion is verified so that
        a failure is filed under that owner."""
        if ceremony.user_name is None:
            return self._discover(response)
        return ceremony.user_name, ceremony.allowed

    def _verify_manage(
        self,
        ceremony: Ceremony,
        response: AuthenticationResponse,
        user_name: str,
        allowed: Sequence[CredentialSnapshot],
    ) -> CounterAdvance:
        """Verify a manage ceremony's assertion; the approving key's counter move."""
        _, advance = self._verify_assertion(
            state=ceremony.state, allowed=allowed, response=response, user_name=user_name
        )
        return advance

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
        response_rules.check_client_data(response.response.client_data)
        try:
            stored = webauthn.credential_data_from_bytes(snapshot.credential_data)
            # A key stored before registration checked keys must not reach fido2's verify,
            # whose errors for malformed keys are not ValueError (a 500, no audit record).
            check_public_key(stored.public_key, offered=webauthn.ALLOWED_ALGORITHMS)
        except ValueError as exc:  # KeyMaterialError is one
            raise CeremonyFailedError(f"stored key not usable: {exc}") from exc
        try:
            # With a checked key, fido2 reports every failed check (type, origin,
            # challenge, RP ID hash, flags, signature) as ValueError.
            self._server.authenticate_complete(state, [stored], response)
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
        self, caller: Caller, user_name: str, event: str, outcome: str, **facts: Any
    ) -> None:
        """Write an audit record now (``facts`` as for ``_audit_record``)."""
        self._audit.record(self._audit_record(caller, user_name, event, outcome, **facts))

    def _audit_record(
        self,
        caller: Caller,
        user_name: str,
        event: str,
        outcome: str,
        *,
        credential_id: bytes = b"",
        role_arn: str = "",
        reason: str = "",
        extra: Mapping[str, str] | None = None,
    ) -> AuditRecord:
        return AuditRecord(
            user_name=user_name,
            caller_arn=caller.arn or ANONYMOUS,
            at=self._iso_now(precise=True),
            event=event,
            outcome=outcome,
            credential_id=websafe_encode(credential_id) if credential_id else "",
            role_arn=role_arn,
            source_ip=caller.source_ip,
            user_agent=caller.user_agent[:512],
            reason=reason[:512],
            extra=dict(extra or {}),
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
    """A credential id from a URL path: base64url of 1 to MAX_CREDENTIAL_ID_BYTES bytes."""
    longest = -(-response_rules.MAX_CREDENTIAL_ID_BYTES * 4 // 3)
    if not value or len(value) > longest or not all(c.isalnum() or c in "-_" for c in value):
        raise BadRequestError("credentialId must be base64url")
    try:
        decoded = websafe_decode(value)
    except ValueError as exc:
        raise BadRequestError("credentialId must be base64url") from exc
    response_rules.check_credential_id(decoded, field="credentialId")
    return decoded


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


def _binding(caller: Caller) -> Binding:
    """A signed caller's ceremonies are bound to its principal, an unsigned one's to passkeys."""
    if caller.arn is None:
        return Binding(via=Via.PASSKEY, principal=ANONYMOUS)
    return Binding(via=Via.SIGV4, principal=caller.arn)


def _signed_binding(caller: Caller, via: Via) -> Binding:
    if caller.arn is None:
        raise ForbiddenError("This route needs a signed (SigV4) request.")
    return Binding(via=via, principal=caller.arn)


def _token_binding(token_hash: str) -> Binding:
    return Binding(via=Via.ENROLLMENT_LINK, principal=f"token:{token_hash}")


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
