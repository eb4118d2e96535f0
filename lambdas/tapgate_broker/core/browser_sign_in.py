"""Browser sign-in for the CLI: the two use cases, issue a code and redeem it.

``issue_code`` runs every check of a passkey sign-in (``SignIn.check``: assertion, user
verification, counter, role) and stores a code instead of assuming the role; ``redeem``
checks the PKCE verifier, uses the code up in a conditional write and only then assumes the
role (``SignIn.assume``, the same call as every sign-in).
The rules of a code are in core.code_exchange.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tapgate_broker.core import code_exchange
from tapgate_broker.core.audit import Auditor
from tapgate_broker.core.clock import now
from tapgate_broker.core.code_exchange import (
    CodeInvalidError,
    CodeRequest,
    IssuedCode,
    SignInCode,
)
from tapgate_broker.core.models import Caller, IssuedCredentials, VerifiedSignIn
from tapgate_broker.core.ports import Clock, CodeStore
from tapgate_broker.core.sign_in import SignIn
from tapgate_contract.limits import CODE_TTL_SECONDS

ISSUE_EVENT = "sign-in-code"
# A redeemed code is a sign-in: one "authenticate" record per attempt, as on every route.
REDEEM_EVENT = "authenticate"
VIA = {"via": "browser-code"}


class BrowserSignIn:
    def __init__(
        self, *, sign_in: SignIn, codes: CodeStore, auditor: Auditor, clock: Clock
    ) -> None:
        self._sign_in = sign_in
        self._codes = codes
        self._auditor = auditor
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
        role = self._sign_in.role(role_arn)
        answer = self._sign_in.consume(caller, ceremony_id=ceremony_id, credential=credential)
        code, code_hash = code_exchange.new_code()
        with self._auditor.attempt(
            ISSUE_EVENT,
            user=answer.ceremony.user_name,
            caller=caller,
            credential_id=answer.response.raw_id,
            role_arn=role.arn,
        ) as attempt:
            verified = self._sign_in.check(answer, role=role, attempt=attempt)
            self._codes.put(
                SignInCode(
                    code_hash=code_hash,
                    ceremony_id=ceremony_id,
                    user_name=verified.user_name,
                    credential_id=verified.credential_id,
                    role_arn=role.arn,
                    user_verified=verified.user_verified,
                    assurance=verified.assurance,
                    code_challenge=request.code_challenge,
                    redirect_port=request.redirect_port,
                    expires_at=now(self._clock) + CODE_TTL_SECONDS,
                )
            )
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
        with self._auditor.attempt(
            REDEEM_EVENT,
            user=record.user_name if record else None,
            caller=caller,
            credential_id=record.credential_id if record else b"",
            role_arn=record.role_arn if record else "",
            extra=VIA,
        ):
            if record is None:
                raise CodeInvalidError("unknown code")
            moment = now(self._clock)
            if record.used_at is not None:
                raise CodeInvalidError("code already used")
            if moment >= record.expires_at:
                raise CodeInvalidError("code expired")
            if not code_exchange.verifier_matches(record, verifier=verifier, port=port):
                # Only someone other than the CLI that asked holds a code without its verifier.
                self._codes.burn(code_hash, now=moment)
                raise CodeInvalidError("verifier or port does not match the code (code burnt)")
            role = self._sign_in.role(record.role_arn)
            duration = self._sign_in.session_seconds(role, duration_seconds)
            self._codes.redeem(record, now=moment)
            issued = self._sign_in.assume(
                VerifiedSignIn(
                    user_name=record.user_name,
                    credential_id=record.credential_id,
                    role=role,
                    user_verified=record.user_verified,
                    assurance=record.assurance,
                ),
                duration_seconds=duration,
            )
        return issued, record.user_name
