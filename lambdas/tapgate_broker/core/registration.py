"""Registering a key: begin (creation options, and a step-up request when the user has keys)
and complete (verify, then store the key, its audit record and the step-up key's counter
move in one transaction pinned to the key set the ceremony began against).

Signed callers come through ``Registration.options``/``verify``; an enrollment link
(``core/enrollment``) begins and completes the same ceremony for the token's user.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Mapping
from typing import Any

from fido2.server import Fido2Server
from fido2.webauthn import (
    AuthenticationResponse,
    AuthenticatorTransport,
    PublicKeyCredentialUserEntity,
    RegistrationResponse,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from tapgate_broker.core import response_rules, webauthn
from tapgate_broker.core.assertions import AssertionVerifier
from tapgate_broker.core.audit import Auditor
from tapgate_broker.core.ceremonies import (
    OptionsResult,
    descriptor,
    new_ceremony_id,
    require_user,
    signed_binding,
    snapshot,
)
from tapgate_broker.core.clock import iso_now, now
from tapgate_broker.core.errors import (
    BadRequestError,
    CeremonyFailedError,
    ConflictError,
    ForbiddenError,
)
from tapgate_broker.core.key_sets import key_cap_detail
from tapgate_broker.core.models import (
    Binding,
    Caller,
    Ceremony,
    CeremonyKind,
    KeySet,
    StoredCredential,
    Via,
)
from tapgate_broker.core.ports import CeremonyStore, Clock, CredentialStore, TokenUse
from tapgate_contract import limits

NICKNAME_MAX = limits.NICKNAME_MAX_LENGTH
KNOWN_TRANSPORTS = frozenset(t.value for t in AuthenticatorTransport)


class Registration:
    """Adds a user's security key, with a step-up assertion from a key they already have."""

    def __init__(
        self,
        *,
        server: Fido2Server,
        credentials: CredentialStore,
        ceremonies: CeremonyStore,
        verifier: AssertionVerifier,
        auditor: Auditor,
        clock: Clock,
        ceremony_ttl_seconds: int,
        max_keys_per_user: int,
    ) -> None:
        self._server = server
        self._credentials = credentials
        self._ceremonies = ceremonies
        self._verifier = verifier
        self._auditor = auditor
        self._clock = clock
        self._ttl = ceremony_ttl_seconds
        self._max_keys = max_keys_per_user

    def options(self, caller: Caller, *, nickname: str | None, via: Via) -> OptionsResult:
        """Creation options for the signed caller: on ``/registration/options`` (``SIGV4``,
        MFA-gated by the API's resource policy) for a first or further key, on
        ``/registration/step-up/options`` (``SIGV4_STEP_UP``) for a further key only. A
        user who has keys must answer with a step-up assertion either way."""
        user_name = require_user(caller)
        key_set = self._credentials.key_set(user_name)
        if via is Via.SIGV4_STEP_UP and not key_set.keys:
            raise ForbiddenError(
                "You have no security key yet: register your first one with "
                "/v1/registration/options (it needs an MFA session) or an enrollment link."
            )
        return self.begin(
            user_name,
            key_set=key_set,
            nickname=nickname,
            step_up=bool(key_set.keys),
            binding=signed_binding(caller, via),
        )

    def verify(
        self,
        caller: Caller,
        *,
        ceremony_id: str,
        credential: Mapping[str, Any],
        nickname: str | None,
        step_up: Mapping[str, Any] | None,
        via: Via,
    ) -> StoredCredential:
        user_name = require_user(caller)
        clean_nickname = normalize_nickname(nickname) if nickname is not None else None
        response = parse_registration(credential)
        step_up_response = (
            webauthn.parse_assertion(step_up, field="stepUp") if step_up is not None else None
        )
        if step_up_response is not None:
            response_rules.check_assertion(step_up_response, field="stepUp")
        transports = parse_transports(credential)
        ceremony = self._ceremonies.consume(
            ceremony_id,
            kind=CeremonyKind.REGISTRATION,
            user_name=user_name,
            binding=signed_binding(caller, via),
            now=now(self._clock),
        )
        return self.complete(
            caller,
            ceremony,
            response=response,
            transports=transports,
            nickname=clean_nickname,
            step_up=step_up_response,
        )

    def begin(
        self,
        user_name: str,
        *,
        key_set: KeySet,
        nickname: str | None,
        step_up: bool,
        binding: Binding,
    ) -> OptionsResult:
        """Store a registration ceremony for ``user_name`` pinned to ``key_set``."""
        clean_nickname = normalize_nickname(nickname)
        if len(key_set.keys) >= self._max_keys:
            raise ConflictError(
                key_cap_detail(self._max_keys), reason=f"key cap {self._max_keys} reached"
            )
        existing = key_set.keys
        user_handle = existing[0].user_handle if existing else secrets.token_bytes(32)
        options, state = self._server.register_begin(
            PublicKeyCredentialUserEntity(id=user_handle, name=user_name, display_name=user_name),
            credentials=[descriptor(c) for c in existing],
            resident_key_requirement=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        )
        step_up_public_key = None
        step_up_state = None
        if step_up:
            step_up_options, step_up_state = self._server.authenticate_begin(
                [descriptor(c) for c in existing],
                user_verification=UserVerificationRequirement.PREFERRED,
            )
            step_up_public_key = webauthn.options_json(step_up_options)
        ceremony = Ceremony(
            ceremony_id=new_ceremony_id(),
            kind=CeremonyKind.REGISTRATION,
            user_name=user_name,
            state=dict(state),
            expires_at=now(self._clock) + self._ttl,
            user_handle=user_handle,
            nickname=clean_nickname,
            allowed=tuple(snapshot(c) for c in existing) if step_up else (),
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

    def complete(
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
        with self._auditor.attempt("register", user=user_name, caller=caller) as attempt:
            if ceremony.key_set is None:
                raise CeremonyFailedError("registration ceremony without a key-set pin")
            advance = None
            # Step-up is decided by the key set the ceremony was begun against; the key's
            # transaction below fails if that key set changed since (a key added meanwhile).
            if ceremony.allowed:
                if step_up is None or ceremony.step_up_state is None:
                    raise CeremonyFailedError("a second key needs a step-up assertion")
                advance = self._verifier.verify(
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
                created_at=iso_now(self._clock),
                nickname=nickname if nickname is not None else ceremony.nickname,
                transports=transports,
                backup_eligible=auth_data.is_backup_eligible(),
                backup_state=auth_data.is_backed_up(),
            )
            # The success record is written in the key's own transaction: a key is never
            # stored without it, and a failed write stores neither.
            success = self._auditor.success_record(
                attempt,
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
                max_keys=self._max_keys,
                step_up=advance,
                token=token,
                audit=success,
            )
        return stored


def parse_registration(credential: Mapping[str, Any]) -> RegistrationResponse:
    """A RegistrationResponseJSON, parsed and held to tapgate's rules before any AWS call."""
    response = webauthn.parse_registration(credential)
    response_rules.check_registration(response, offered=webauthn.ALLOWED_ALGORITHMS)
    return response


def parse_transports(credential: Mapping[str, Any]) -> tuple[str, ...]:
    """The key's transports from the RegistrationResponseJSON (unknown ones dropped)."""
    response = credential.get("response")
    raw = response.get("transports") if isinstance(response, Mapping) else None
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        raise BadRequestError("response.transports must be a list of strings")
    return tuple(sorted({t for t in raw if t in KNOWN_TRANSPORTS}))


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
