"""Browser sign-in for the CLI: the two use cases, issue a code and redeem it.

``issue_code`` runs every check of a passkey sign-in (the Broker's ``verify_sign_in``:
assertion, user verification, counter, role) and stores a code instead of assuming the
role; ``redeem`` checks the PKCE verifier, uses the code up in a conditional write and only
then assumes the role (the Broker's ``assume_for``, the same call as every sign-in).
The rules of a code are in core.code_exchange.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tapgate_broker.core import code_exchange
from tapgate_broker.core.code_exchange import (
    CodeInvalidError,
    CodeRequest,
    IssuedCode,
    SignInCode,
)
from tapgate_broker.core.errors import TapgateError
from tapgate_broker.core.models import Caller, IssuedCredentials, SignIn
from tapgate_contract.limits import CODE_TTL_SECONDS

if TYPE_CHECKING:
    from tapgate_broker.core.ports import Clock, CodeStore
    from tapgate_broker.core.service import Broker

ISSUE_EVENT = "sign-in-code"
REDEEM_EVENT = "code-exchange"
VIA = {"via": "browser-code"}


class BrowserSignIn:
    def __init__(self, *, broker: Broker, codes: CodeStore, clock: Clock) -> None:
        self._broker = broker
        self._codes = codes
        self._clock = clock

    def issue_code(
        self,
        caller: Caller,
        *,
        ceremony_id: str,
        credential: Mapping[str, Any],
        role_arn: str,
        request: CodeRequest,
    ) -> IssuedCode:
        """A single-use code for a verified passkey sign-in, bound to ``request``."""
        role = self._broker.role_config(role_arn)
        sign_in = self._broker.verify_sign_in(
            caller, ceremony_id=ceremony_id, credential=credential, role=role, event=ISSUE_EVENT
        )
        code, code_hash = code_exchange.new_code()
        facts: dict[str, Any] = {"credential_id": sign_in.credential_id, "role_arn": role.arn}
        try:
            self._codes.put(
                SignInCode(
                    code_hash=code_hash,
                    ceremony_id=ceremony_id,
                    user_name=sign_in.user_name,
                    credential_id=sign_in.credential_id,
                    role_arn=role.arn,
                    user_verified=sign_in.user_verified,
                    code_challenge=request.code_challenge,
                    redirect_port=request.redirect_port,
                    expires_at=self._now() + CODE_TTL_SECONDS,
                )
            )
        except TapgateError as exc:
            self._broker.audit(
                caller, sign_in.user_name, ISSUE_EVENT, "failure", reason=exc.reason, **facts
            )
            raise
        self._broker.audit(caller, sign_in.user_name, ISSUE_EVENT, "success", **facts)
        return IssuedCode(
            code=code,
            redirect_uri=code_exchange.redirect_uri(request.redirect_port),
            expires_in=CODE_TTL_SECONDS,
        )

    def redeem(
        self,
        caller: Caller,
        *,
        code: str,
        verifier: str,
        port: int,
        duration_seconds: int | None,
    ) -> tuple[IssuedCredentials, str]:
        """The role's credentials and the signer's user name, for a code and its verifier."""
        code_hash = code_exchange.hash_code(code)
        record = self._codes.get(code_hash)
        if record is None:
            failure = CodeInvalidError("unknown code")
            self._broker.audit(caller, "-unknown-", REDEEM_EVENT, "failure", reason=failure.reason)
            raise failure
        facts: dict[str, Any] = {"credential_id": record.credential_id, "role_arn": record.role_arn}
        now = self._now()
        try:
            if record.used_at is not None:
                raise CodeInvalidError("code already used")
            if now >= record.expires_at:
                raise CodeInvalidError("code expired")
            if not code_exchange.verifier_matches(record, verifier=verifier, port=port):
                # Only someone other than the CLI that asked holds a code without its verifier.
                self._codes.burn(code_hash, now=now)
                raise CodeInvalidError("verifier or port does not match the code (code burnt)")
            role = self._broker.role_config(record.role_arn)
            duration = self._broker.session_seconds(role, duration_seconds)
            self._codes.redeem(record, now=now)
        except TapgateError as exc:
            self._broker.audit(
                caller, record.user_name, REDEEM_EVENT, "failure", reason=exc.reason, **facts
            )
            raise
        sign_in = SignIn(
            user_name=record.user_name,
            credential_id=record.credential_id,
            role=role,
            user_verified=record.user_verified,
        )
        issued = self._broker.assume_for(caller, sign_in, duration_seconds=duration, extra=VIA)
        return issued, record.user_name

    def _now(self) -> int:
        return int(self._clock())
