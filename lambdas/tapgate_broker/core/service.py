"""The broker: one facade over the use cases, one method per HTTP API v1 operation.

Ceremonies are stateless here: ``*_options`` store the fido2 state in the ceremonies table,
``*_verify`` consume it exactly once. The use cases are modules, each taking only the ports
it needs: ``registration`` (and ``enrollment`` for links), ``sign_in`` (request options and
sign-in), ``browser_sign_in`` (the CLI's code exchange), ``key_management`` (list and
remove), around ``assertions`` (the verify path) and ``audit`` (one writer of success and
failure records); ``admin`` holds the admin routes' use cases. ``Broker`` wires them from
one configuration and keeps the method names the routes, local mode and the tests call.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from tapgate_broker.core import identity, webauthn
from tapgate_broker.core.admin import AdminDesk
from tapgate_broker.core.assertions import AssertionVerifier
from tapgate_broker.core.assurance_policy import AssurancePolicy, MetadataLookup
from tapgate_broker.core.audit import Auditor
from tapgate_broker.core.browser_sign_in import BrowserSignIn
from tapgate_broker.core.ceremonies import CeremonyPorts, OptionsResult
from tapgate_broker.core.enrollment import Enrollment
from tapgate_broker.core.errors import ForbiddenError
from tapgate_broker.core.events import EventPage, EventReader
from tapgate_broker.core.identity import DEFAULT_IDENTITY_ROLES, Principal
from tapgate_broker.core.key_management import KeyListing, KeyManagement
from tapgate_broker.core.key_sets import DEFAULT_MAX_KEYS_PER_USER
from tapgate_broker.core.models import (
    Caller,
    RoleConfig,
)
from tapgate_broker.core.ports import (
    AuditLog,
    AuditReader,
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
    """What the use cases are configured with: ``wiring`` takes each field from the
    ``Settings`` field of the same name."""

    rp_id: str
    rp_name: str
    origins: tuple[str, ...]
    roles: tuple[RoleConfig, ...]
    ceremony_ttl_seconds: int = limits.CEREMONY_TTL_SECONDS
    admins: tuple[str, ...] = ()  # IAM user names or IAM role ARNs
    enrollment_ttl_seconds: int = limits.ENROLLMENT_TTL_SECONDS
    identity_roles: tuple[str, ...] = DEFAULT_IDENTITY_ROLES  # role ARNs or ARN patterns
    max_keys_per_user: int = DEFAULT_MAX_KEYS_PER_USER
    audit_retention_days: int = limits.AUDIT_RETENTION_DAYS  # how far back events are read

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
        audit_reader: AuditReader,
        codes: CodeStore | None = None,
        clock: Clock = time.time,
        metadata: MetadataLookup | None = None,
    ) -> None:
        self._config = config
        # The ports as wired (tests and the bench reach the adapters' clients through them).
        self._credentials = credentials
        self._issuer = issuer
        self._console = console
        self._role_directory = role_directory
        assurance = AssurancePolicy(config.roles, metadata=metadata)
        server = webauthn.make_server(
            rp_id=config.rp_id,
            rp_name=config.rp_name,
            origins=config.origins,
            attestation=assurance.attestation,
        )
        auditor = Auditor(audit, clock=clock)
        verifier = AssertionVerifier(server, clock=clock)
        ports = CeremonyPorts(
            server=server,
            credentials=credentials,
            ceremonies=ceremonies,
            verifier=verifier,
            auditor=auditor,
            clock=clock,
            ttl_seconds=config.ceremony_ttl_seconds,
        )
        self.registration = Registration(
            ports, max_keys_per_user=config.max_keys_per_user, assurance=assurance
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
            ports, issuer=issuer, console=console, roles=config.roles, assurance=assurance
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
        # The HTTP API's operations under the names the routes call.
        self.registration_options = self.registration.options
        self.registration_verify = self.registration.verify
        self.create_enrollment = self.enrollment.create
        self.enrollment_url = self.enrollment.url
        self.enrollment_verify = self.enrollment.verify
        self.authentication_options = self.sign_in.options
        self.authentication_verify = self.sign_in.verify
        self.console_url = self.sign_in.console_url
        self.list_credentials = self.keys.own_keys
        self.passkey_credentials = self.keys.passkey_keys
        self.delete_credential = self.keys.delete
        self.admin = AdminDesk(
            server=server,
            credentials=credentials,
            ceremonies=ceremonies,
            verifier=verifier,
            auditor=auditor,
            clock=clock,
            admins=config.admins,
            ceremony_ttl_seconds=config.ceremony_ttl_seconds,
        )
        self.audit_trail = EventReader(
            reader=audit_reader,
            audit=audit,
            admins=config.admins,
            clock=clock,
            retention_days=config.audit_retention_days,
        )

    # -- queries ---------------------------------------------------------------

    @property
    def roles(self) -> tuple[RoleConfig, ...]:
        return self._config.roles

    @property
    def rp_id(self) -> str:
        return self._config.rp_id

    def events(self, caller: Caller, params: Mapping[str, str]) -> EventPage:
        """A page of the audit trail (core/events): everyone's for an admin, else one's own."""
        return self.audit_trail.events(caller, params)

    def identify(self, arn: str, principal_id: str | None) -> Principal:
        """The user behind a verified caller (a role session's role is looked up)."""
        return identity.identify(
            arn,
            principal_id,
            identity_roles=self._config.accepted_identity_roles,
            roles=self._role_directory,
        )

    def enrollment_options(
        self, caller: Caller, *, token: str, nickname: str | None
    ) -> OptionsResult:
        """Registration options for the token's user (``user_name`` set in the result)."""
        del caller  # an unsigned route: the token, not the request, says who
        return self.enrollment.options(token=token, nickname=nickname)

    @property
    def browser_sign_in(self) -> BrowserSignIn:
        """Browser sign-in for the CLI: a passkey assertion for a code, the code for a role."""
        if self._browser is None:
            raise ForbiddenError("Browser sign-in is not set up on this deployment.")
        return self._browser
