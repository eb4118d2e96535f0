"""Signing in: request options, then verify the assertion and issue gated role credentials.

The options route also begins the ``manage`` ceremony that key management
(``core/key_management``) consumes: the same request options, another ceremony kind.
A signed caller's ceremony offers their keys; an unsigned one is a discoverable passkey
ceremony (no allow list, user verification always), whose owner the assertion names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from fido2.webauthn import AuthenticationResponse, UserVerificationRequirement

from tapgate_broker.core import response_rules, webauthn
from tapgate_broker.core.assertions import KeyOwner, discover
from tapgate_broker.core.assurance_policy import AssurancePolicy, assurance_facts
from tapgate_broker.core.audit import Attempt
from tapgate_broker.core.ceremonies import (
    CeremonyPorts,
    CeremonyUseCase,
    OptionsResult,
    binding,
    descriptor,
    new_ceremony_id,
    snapshot,
)
from tapgate_broker.core.clock import now
from tapgate_broker.core.errors import (
    BadRequestError,
    CeremonyFailedError,
    ForbiddenError,
    NotFoundError,
)
from tapgate_broker.core.models import (
    Caller,
    Ceremony,
    CeremonyKind,
    IssuedCredentials,
    KeySet,
    RoleConfig,
    StoredCredential,
    UserVerification,
    VerifiedSignIn,
)
from tapgate_broker.core.ports import (
    ConsoleSignIn,
    RoleIssuer,
)
from tapgate_contract import limits

PURPOSES = {"sign-in": CeremonyKind.AUTHENTICATION, "manage": CeremonyKind.MANAGE}


@dataclass(frozen=True)
class SignInAnswer:
    """A parsed sign-in assertion and the ceremony it used up."""

    ceremony: Ceremony
    response: AuthenticationResponse


@dataclass(frozen=True)
class AuthenticationResult:
    credentials: IssuedCredentials
    user_name: str
    credential_id: bytes


class SignIn(CeremonyUseCase):
    """Issues a gated role's credentials for a fresh assertion of one of the user's keys."""

    def __init__(
        self,
        ports: CeremonyPorts,
        *,
        issuer: RoleIssuer,
        console: ConsoleSignIn,
        roles: tuple[RoleConfig, ...],
        assurance: AssurancePolicy,
    ) -> None:
        super().__init__(ports)
        self._issuer = issuer
        self._console = console
        self._roles = {role.arn: role for role in roles}
        self._assurance = assurance

    def options(self, caller: Caller, *, role_arn: str | None, purpose: str) -> OptionsResult:
        kind = PURPOSES.get(purpose)
        if kind is None:
            raise BadRequestError('purpose must be "sign-in" or "manage"')
        role = self.role(role_arn) if role_arn is not None else None
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
            if role is not None and kind is CeremonyKind.AUTHENTICATION:
                existing = self._assurance.offered(role, existing, lambda c: c.key_assurance)
        options, state = self._server.authenticate_begin(
            [descriptor(c) for c in existing],
            user_verification=UserVerificationRequirement(uv.value),
        )
        ceremony = Ceremony(
            ceremony_id=new_ceremony_id(),
            kind=kind,
            user_name=caller.user_name,
            state=dict(state),
            expires_at=now(self._clock) + self._ttl,
            role_arn=role.arn if role is not None else None,
            allowed=tuple(snapshot(c) for c in existing),
            binding=binding(caller),
            key_set=key_set.pin if key_set is not None and kind is CeremonyKind.MANAGE else None,
        )
        self._ceremonies.put(ceremony)
        return OptionsResult(
            ceremony_id=ceremony.ceremony_id, public_key=webauthn.options_json(options)
        )

    def verify(
        self,
        caller: Caller,
        *,
        ceremony_id: str,
        credential: Mapping[str, Any],
        role_arn: str,
        duration_seconds: int | None,
    ) -> AuthenticationResult:
        role = self.role(role_arn)
        duration = self.session_seconds(role, duration_seconds)
        answer = self.consume(caller, ceremony_id=ceremony_id, credential=credential)
        with self._auditor.attempt(
            "authenticate",
            user=answer.ceremony.user_name,
            caller=caller,
            credential_id=answer.response.raw_id,
            role_arn=role.arn,
        ) as attempt:
            verified = self.check(answer, role=role, attempt=attempt, session_seconds=duration)
            issued = self.assume(verified, duration_seconds=duration)
        return AuthenticationResult(
            credentials=issued, user_name=verified.user_name, credential_id=verified.credential_id
        )

    def consume(
        self, caller: Caller, *, ceremony_id: str, credential: Mapping[str, Any]
    ) -> SignInAnswer:
        """Parse a sign-in assertion and use its ceremony up (before any attempt is audited:
        an unknown or used ceremony tells nothing about a user)."""
        response = webauthn.parse_assertion(credential)
        response_rules.check_assertion(response)
        ceremony = self._ceremonies.consume(
            ceremony_id,
            kind=CeremonyKind.AUTHENTICATION,
            user_name=caller.user_name,
            binding=binding(caller),
            now=now(self._clock),
        )
        return SignInAnswer(ceremony=ceremony, response=response)

    def check(
        self,
        answer: SignInAnswer,
        *,
        role: RoleConfig,
        attempt: Attempt,
        session_seconds: int | None = None,
    ) -> VerifiedSignIn:
        """Every check before a role is assumed (the ceremony's role, the key's owner, the
        assertion, user verification, the counter, the key's assurance for the role), then
        the counter's move and ``attempt``'s success record in one write, before any
        credential exists; if STS then fails, the credentials are withheld (a 403 or 503)
        and a failure record follows the success (the key was used, nothing was issued)."""
        ceremony, response = answer.ceremony, answer.response
        if ceremony.role_arn is not None and ceremony.role_arn != role.arn:
            raise BadRequestError("roleArn differs from the one the options were asked for")
        state = dict(ceremony.state)
        if ceremony.user_name is None:
            owner = discover(self._credentials, response)
        else:
            owner = KeyOwner(user_name=ceremony.user_name, allowed=ceremony.allowed)
        attempt.user = owner.user_name
        attempt.nickname = owner.nickname_of(response.raw_id)
        if role.user_verification is UserVerification.REQUIRED:
            state["user_verification"] = UserVerificationRequirement.REQUIRED
        advance = self._verifier.verify(
            state=state, allowed=owner.allowed, response=response, user_name=owner.user_name
        )
        if role.require_sign_counter and advance.new == 0:
            raise CeremonyFailedError(
                f"role {role.arn} requires a key with a signature counter; this one has none"
            )
        stored = next(s for s in owner.allowed if s.credential_id == advance.credential_id)
        assurance = self._assurance.admit(role, stored.assurance)
        if stored.assurance is not None and assurance != stored.assurance:
            advance = replace(advance, assurance=assurance)  # kept with the key
        attempt.success_facts = assurance_facts(assurance, before=stored.assurance)
        attempt.session_seconds = session_seconds  # the session this success asks STS for
        self._credentials.advance_counter(advance, audit=self._auditor.success_record(attempt))
        return VerifiedSignIn(
            user_name=owner.user_name,
            credential_id=response.raw_id,
            role=role,
            user_verified=response.response.authenticator_data.is_user_verified(),
            assurance=assurance.level,
        )

    def assume(self, verified: VerifiedSignIn, *, duration_seconds: int) -> IssuedCredentials:
        """The role's credentials for a verified sign-in (audited by the caller's attempt)."""
        return self._issuer.assume(
            role_arn=verified.role.arn,
            user_name=verified.user_name,
            credential_id=verified.credential_id,
            user_verified=verified.user_verified,
            duration_seconds=duration_seconds,
            assurance=verified.assurance,
        )

    def console_url(self, issued: IssuedCredentials) -> str:
        """A console sign-in link from freshly issued credentials (a bearer secret)."""
        return self._console.sign_in_url(issued)

    def role(self, role_arn: str) -> RoleConfig:
        """A gated role's configuration; ForbiddenError for any other role."""
        role = self._roles.get(role_arn)
        if role is None:
            raise ForbiddenError("This role is not available through tapgate.")
        return role

    @staticmethod
    def session_seconds(role: RoleConfig, requested: int | None) -> int:
        """The session length to ask STS for; BadRequestError outside the role's range."""
        return _duration(role, requested)


def _duration(role: RoleConfig, requested: int | None) -> int:
    if requested is None:
        return role.max_session_seconds
    if not limits.MIN_SESSION_SECONDS <= requested <= role.max_session_seconds:
        raise BadRequestError(
            f"durationSeconds must be between {limits.MIN_SESSION_SECONDS} and "
            f"{role.max_session_seconds} for this role"
        )
    return requested
