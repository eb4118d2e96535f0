"""The broker: one facade over the use cases, one method per HTTP API v1 operation.

Ceremonies are stateless here: ``*_options`` store the fido2 state in the ceremonies table,
``*_verify`` consume it exactly once. The use cases are modules, each taking only the ports
it needs: ``registration`` (and ``enrollment`` for links), ``sign_in`` (request options and
sign-in), ``browser_sign_in`` (the CLI's code exchange), ``key_management`` (list and
remove), around ``assertions`` (the verify path) and
``audit`` (one writer of success and failure records). ``Broker`` wires them from one
configuration and keeps the method names the routes, local mode and the tests call.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tapgate_broker.core import identity, webauthn
from tapgate_broker.core.assertions import AssertionVerifier
from tapgate_broker.core.audit import Auditor
from tapgate_broker.core.browser_sign_in import BrowserSignIn
from tapgate_broker.core.ceremonies import OptionsResult
from tapgate_broker.core.enrollment import Enrollment
from tapgate_broker.core.errors import ForbiddenError
from tapgate_broker.core.identity import DEFAULT_IDENTITY_ROLES, Principal
from tapgate_broker.core.key_management import KeyListing, KeyManagement
from tapgate_broker.core.key_sets import DEFAULT_MAX_KEYS_PER_USER
from tapgate_broker.core.models import (
    Caller,
    IssuedCredentials,
    IssuedEnrollment,
    RoleConfig,
    StoredCredential,
    Via,
)
from tapgate_broker.core.ports import (
    AuditLog,
    CeremonyStore,
    Clock,
    CodeStore,
    ConsoleSignIn,
    CredentialStore,
    EnrollmentStore,
    RoleDirectory,
    RoleIssuer,
)
from tapgate_broker.core.registration import Registration
from tapgate_broker.core.sign_in import AuthenticationResult, SignIn
from tapgate_contract import limits

__all__ = ["AuthenticationResult", "Broker", "BrokerConfig", "KeyListing", "OptionsResult"]


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
        # The ports as wired (tests and the bench reach the adapters' clients through them).
        self._credentials = credentials
        self._issuer = issuer
        self._console = console
        self._role_directory = role_directory
        server = webauthn.make_server(
            rp_id=config.rp_id, rp_name=config.rp_name, origins=config.origins
        )
        auditor = Auditor(audit, clock=clock)
        verifier = AssertionVerifier(server, clock=clock)
        self.registration = Registration(
            server=server,
            credentials=credentials,
            ceremonies=ceremonies,
            verifier=verifier,
            auditor=auditor,
            clock=clock,
            ceremony_ttl_seconds=config.ceremony_ttl_seconds,
            max_keys_per_user=config.max_keys_per_user,
        )
        self.enrollment = Enrollment(
            enrollments=enrollments,
            credentials=credentials,
            ceremonies=ceremonies,
            registration=self.registration,
            auditor=auditor,
            clock=clock,
            admins=config.admins,
            enrollment_ttl_seconds=config.enrollment_ttl_seconds,
            page_origin=config.page_origin,
        )
        self.sign_in = SignIn(
            server=server,
            credentials=credentials,
            ceremonies=ceremonies,
            verifier=verifier,
            auditor=auditor,
            issuer=issuer,
            console=console,
            roles=config.roles,
            clock=clock,
            ceremony_ttl_seconds=config.ceremony_ttl_seconds,
        )
        self._browser = (
            BrowserSignIn(sign_in=self.sign_in, codes=codes, auditor=auditor, clock=clock)
            if codes is not None
            else None
        )
        self.keys = KeyManagement(
            credentials=credentials,
            ceremonies=ceremonies,
            verifier=verifier,
            auditor=auditor,
            clock=clock,
        )

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

    # -- registration and enrollment --------------------------------------------

    def registration_options(
        self, caller: Caller, *, nickname: str | None, via: Via = Via.SIGV4
    ) -> OptionsResult:
        return self.registration.options(caller, nickname=nickname, via=via)

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
        return self.registration.verify(
            caller,
            ceremony_id=ceremony_id,
            credential=credential,
            nickname=nickname,
            step_up=step_up,
            via=via,
        )

    def create_enrollment(self, caller: Caller, *, user_name: str | None) -> IssuedEnrollment:
        return self.enrollment.create(caller, user_name=user_name)

    def enrollment_url(self, issued: IssuedEnrollment) -> str:
        return self.enrollment.url(issued)

    def enrollment_options(
        self, caller: Caller, *, token: str, nickname: str | None
    ) -> OptionsResult:
        """Registration options for the token's user (``user_name`` set in the result)."""
        del caller  # an unsigned route: the token, not the request, says who
        return self.enrollment.options(token=token, nickname=nickname)

    def enrollment_verify(
        self,
        caller: Caller,
        *,
        token: str,
        ceremony_id: str,
        credential: Mapping[str, Any],
        nickname: str | None,
    ) -> StoredCredential:
        return self.enrollment.verify(
            caller, token=token, ceremony_id=ceremony_id, credential=credential, nickname=nickname
        )

    # -- sign-in -----------------------------------------------------------------

    def authentication_options(
        self, caller: Caller, *, role_arn: str | None, purpose: str
    ) -> OptionsResult:
        return self.sign_in.options(caller, role_arn=role_arn, purpose=purpose)

    def authentication_verify(
        self,
        caller: Caller,
        *,
        ceremony_id: str,
        credential: Mapping[str, Any],
        role_arn: str,
        duration_seconds: int | None,
    ) -> AuthenticationResult:
        return self.sign_in.verify(
            caller,
            ceremony_id=ceremony_id,
            credential=credential,
            role_arn=role_arn,
            duration_seconds=duration_seconds,
        )

    def console_url(self, issued: IssuedCredentials) -> str:
        return self.sign_in.console_url(issued)

    @property
    def browser_sign_in(self) -> BrowserSignIn:
        """Browser sign-in for the CLI: a passkey assertion for a code, the code for a role."""
        if self._browser is None:
            raise ForbiddenError("Browser sign-in is not set up on this deployment.")
        return self._browser

    # -- key management ----------------------------------------------------------

    def list_credentials(self, caller: Caller) -> list[StoredCredential]:
        return self.keys.own_keys(caller)

    def passkey_credentials(
        self, caller: Caller, *, ceremony_id: str, credential: Mapping[str, Any]
    ) -> KeyListing:
        return self.keys.passkey_keys(caller, ceremony_id=ceremony_id, credential=credential)

    def delete_credential(
        self,
        caller: Caller,
        *,
        credential_id: str,
        ceremony_id: str,
        credential: Mapping[str, Any],
    ) -> None:
        self.keys.delete(
            caller, credential_id=credential_id, ceremony_id=ceremony_id, credential=credential
        )
