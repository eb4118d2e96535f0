"""Enrollment tokens and who may issue them.

A token is 256 random bits (``secrets.token_urlsafe(32)``). Only its SHA-256
is stored: the token has full entropy, so a fast hash is enough to make a
leaked table useless, and lookups stay one GetItem. Admins are named in
configuration either as an IAM user name (matches that IAM user only, never a
role session that happens to carry the same name) or as an IAM role ARN, path
included (matches any session of that role, once its RoleId confirmed it).

``Enrollment`` is the use case: issue a link, then begin and complete a registration for
the link's user (``core/registration``), the token used up in the key's own transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tapgate_broker.core import user_names
from tapgate_broker.core.audit import Auditor
from tapgate_broker.core.ceremonies import OptionsResult, require_user, token_binding
from tapgate_broker.core.clock import now
from tapgate_broker.core.errors import (
    BadRequestError,
    EnrollmentTokenInvalidError,
    ForbiddenError,
)
from tapgate_broker.core.models import (
    Caller,
    CeremonyKind,
    EnrollmentToken,
    IssuedEnrollment,
    KeySet,
    StoredCredential,
)
from tapgate_broker.core.ports import (
    CeremonyStore,
    Clock,
    CredentialStore,
    EnrollmentStore,
    TokenUse,
)
from tapgate_broker.core.principals import IAM_USER, ROLE_ARN
from tapgate_broker.core.registration import (
    Registration,
    normalize_nickname,
    parse_registration,
    parse_transports,
)
from tapgate_broker.core.user_names import is_user_name

TOKEN_BYTES = 32


def new_token() -> tuple[str, str]:
    """A fresh token and its hash."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def check_user_name(value: object) -> str:
    if not is_user_name(value):
        raise BadRequestError(f"userName must be {user_names.RULE}")
    assert isinstance(value, str)  # noqa: S101  (is_user_name checked it)
    return value


def is_admin(caller_arn: str | None, admins: Iterable[str], *, role_arn: str | None) -> bool:
    """Whether the verified caller is one of the configured admins.

    ``role_arn`` is a role session's role as ``core/identity`` confirmed it (full ARN, path
    included): a role entry must equal it. A user-name entry matches that IAM user only.
    """
    if not caller_arn:
        return False
    user = IAM_USER.fullmatch(caller_arn) if role_arn is None else None
    for entry in admins:
        if ROLE_ARN.fullmatch(entry):
            if role_arn is not None and role_arn == entry:
                return True
        elif user is not None and user.group("name") == entry:
            return True
    return False


@dataclass(frozen=True)
class UsableToken:
    """An enrollment token that may still enroll, and its user's key set as read with it."""

    record: EnrollmentToken
    key_set: KeySet


class Enrollment:
    """One-time enrollment links: an admin's for anyone, a keyless user's for themselves."""

    def __init__(
        self,
        *,
        enrollments: EnrollmentStore,
        credentials: CredentialStore,
        ceremonies: CeremonyStore,
        registration: Registration,
        auditor: Auditor,
        clock: Clock,
        admins: tuple[str, ...],
        enrollment_ttl_seconds: int,
        page_origin: str,
    ) -> None:
        self._enrollments = enrollments
        self._credentials = credentials
        self._ceremonies = ceremonies
        self._registration = registration
        self._auditor = auditor
        self._clock = clock
        self._admins = admins
        self._ttl = enrollment_ttl_seconds
        self._page_origin = page_origin

    def create(self, caller: Caller, *, user_name: str | None) -> IssuedEnrollment:
        """An enrollment link: for anyone if the caller is an admin, else for a keyless self."""
        caller_name = require_user(caller)
        target = check_user_name(user_name) if user_name is not None else caller_name
        admin = is_admin(caller.arn, self._admins, role_arn=caller.role_arn)
        if not admin:
            if target != caller_name:
                raise ForbiddenError("Only an admin may create an enrollment link for others.")
            if self._credentials.list_for_user(caller_name):
                raise ForbiddenError(
                    "You already have a key; add another with a step-up (tapgate register)."
                )
        token, token_hash = new_token()
        expires_at = now(self._clock) + self._ttl
        self._enrollments.put(
            EnrollmentToken(
                token_hash=token_hash,
                user_name=target,
                issued_by=str(caller.arn),
                admin_issued=admin,
                expires_at=expires_at,
            )
        )
        self._auditor.record(
            "enrollment-issued",
            user=target,
            caller=caller,
            extra={"issuedBy": str(caller.arn), "adminIssued": str(admin).lower()},
        )
        return IssuedEnrollment(token=token, user_name=target, expires_at=expires_at)

    def url(self, issued: IssuedEnrollment) -> str:
        """The page's link; the token rides in the fragment, which browsers never send."""
        return f"{self._page_origin}/v1/enroll#token={issued.token}"

    def options(self, *, token: str, nickname: str | None) -> OptionsResult:
        """Registration options for the token's user; the token stays usable until verify."""
        usable = self._usable(token)
        begun = self._registration.begin(
            usable.record.user_name,
            key_set=usable.key_set,
            nickname=nickname,
            step_up=False,
            binding=token_binding(usable.record.token_hash),
        )
        return OptionsResult(
            ceremony_id=begun.ceremony_id,
            public_key=begun.public_key,
            user_name=usable.record.user_name,
        )

    def verify(
        self,
        caller: Caller,
        *,
        token: str,
        ceremony_id: str,
        credential: Mapping[str, Any],
        nickname: str | None,
    ) -> StoredCredential:
        clean_nickname = normalize_nickname(nickname) if nickname is not None else None
        response = parse_registration(credential)
        transports = parse_transports(credential)
        record = self._usable(token).record
        # The consume's condition checks the ceremony was begun with this very token.
        ceremony = self._ceremonies.consume(
            ceremony_id,
            kind=CeremonyKind.REGISTRATION,
            user_name=record.user_name,
            binding=token_binding(record.token_hash),
            now=now(self._clock),
        )
        return self._registration.complete(
            caller,
            ceremony,
            response=response,
            transports=transports,
            nickname=clean_nickname,
            step_up=None,
            token=TokenUse(token_hash=record.token_hash, now=now(self._clock)),
            issued_by=record.issued_by,
        )

    def _usable(self, token: str) -> UsableToken:
        record = self._enrollments.get(hash_token(token))
        if record is None:
            raise EnrollmentTokenInvalidError("unknown enrollment token")
        if not record.usable(now(self._clock)):
            raise EnrollmentTokenInvalidError("enrollment token expired or used")
        if not is_user_name(record.user_name):
            raise EnrollmentTokenInvalidError("enrollment token for an unusable user name")
        key_set = self._credentials.key_set(record.user_name)
        if key_set.keys and not record.admin_issued:
            raise EnrollmentTokenInvalidError("self-issued token, and the user now has a key")
        return UsableToken(record=record, key_set=key_set)
