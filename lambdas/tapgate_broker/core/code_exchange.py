"""Browser sign-in for the CLI: a passkey assertion traded for a code, the code for a role.

OAuth 2.0 for native apps (RFC 8252) with PKCE (RFC 7636, S256 only). The page runs a
discoverable passkey ceremony and, instead of receiving credentials, gets a single-use code
that it hands to the CLI's loopback listener (``http://127.0.0.1:PORT/callback``). The CLI
then exchanges the code with its PKCE verifier; only then is the role assumed, so
credentials never pass through the browser.

A code is 256 random bits; only its SHA-256 is stored (as enrollment tokens). It lives
``CODE_TTL_SECONDS`` and is bound to the ceremony it came from, the role, the key that
signed (and its owner), the PKCE challenge and the loopback port. The exchange compares the
verifier's hash in constant time and uses the code up in one conditional write that also
checks the key is still registered; a code presented with a wrong verifier or port is
used up too (only a thief has a code without the verifier).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass

from tapgate_broker.core.errors import BadRequestError, TapgateError
from tapgate_contract import limits

_CODE = re.compile(limits.CODE_PATTERN)
_VERIFIER = re.compile(limits.CODE_VERIFIER_PATTERN)
_CHALLENGE = re.compile(limits.CODE_CHALLENGE_PATTERN)


class CodeInvalidError(TapgateError):
    """Unknown, expired, used, or presented with the wrong verifier or port: one answer.

    400 as OAuth's ``invalid_grant``; the reason (for the audit record only) says which.
    """

    status = 400
    title = "Sign-in code not valid"
    type_slug = "code-invalid"
    GENERIC = "This sign-in code is not valid (expired, used, or not yours); sign in again."

    def __init__(self, reason: str) -> None:
        super().__init__(self.GENERIC, reason=reason)


@dataclass(frozen=True)
class CodeRequest:
    """What the page asks a code to be bound to, checked: the PKCE challenge and the port."""

    code_challenge: str
    redirect_port: int


@dataclass(frozen=True)
class SignInCode:
    """A code's server side: everything the exchange needs, and no secret."""

    code_hash: str  # SHA-256 hex of the code
    ceremony_id: str  # the ceremony whose assertion it came from
    user_name: str
    credential_id: bytes  # the key that signed
    role_arn: str
    user_verified: bool
    assurance: str  # the signing key's level as judged at sign-in (the session's tag)
    code_challenge: str  # base64url(SHA-256(verifier))
    redirect_port: int
    expires_at: int  # epoch seconds
    used_at: int | None = None


@dataclass(frozen=True)
class IssuedCode:
    code: str  # the secret: returned once, never stored or logged
    redirect_uri: str
    expires_in: int


def code_request(*, challenge: object, method: object, port: object) -> CodeRequest:
    """The page's ``codeChallenge``, ``codeChallengeMethod`` and ``redirectPort``, checked."""
    if method != limits.CODE_CHALLENGE_METHOD:
        raise BadRequestError(f'codeChallengeMethod must be "{limits.CODE_CHALLENGE_METHOD}"')
    if not isinstance(challenge, str) or not _CHALLENGE.fullmatch(challenge):
        raise BadRequestError(
            "codeChallenge must be the unpadded base64url SHA-256 of the verifier (43 characters)"
        )
    return CodeRequest(code_challenge=challenge, redirect_port=check_port(port))


def check_port(port: object) -> int:
    if (
        isinstance(port, bool)
        or not isinstance(port, int)
        or not limits.LOOPBACK_PORT_MIN <= port <= limits.LOOPBACK_PORT_MAX
    ):
        raise BadRequestError(
            f"redirectPort must be an integer {limits.LOOPBACK_PORT_MIN}.."
            f"{limits.LOOPBACK_PORT_MAX} (the CLI's port on {limits.LOOPBACK_HOST})"
        )
    return port


def check_code(code: object) -> str:
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise BadRequestError("code must be the code the sign-in page passed on (43 characters)")
    return code


def check_verifier(verifier: object) -> str:
    if not isinstance(verifier, str) or not _VERIFIER.fullmatch(verifier):
        raise BadRequestError(
            "codeVerifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636)"
        )
    return verifier


def new_code() -> tuple[str, str]:
    """A fresh code and its hash."""
    code = secrets.token_urlsafe(limits.CODE_BYTES)
    return code, hash_code(code)


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def s256(verifier: str) -> str:
    """PKCE's S256 transform: unpadded base64url of SHA-256 of the verifier's ASCII."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verifier_matches(record: SignInCode, *, verifier: str, port: int) -> bool:
    """Whether the verifier hashes to the code's challenge (constant time) and the port is
    the one the code was sent to."""
    same_challenge = secrets.compare_digest(
        s256(verifier).encode("ascii"), record.code_challenge.encode("ascii")
    )
    return same_challenge and port == record.redirect_port


def redirect_uri(port: int) -> str:
    """Where the page sends the browser: the CLI's listener, on loopback only."""
    return f"http://{limits.LOOPBACK_HOST}:{check_port(port)}{limits.LOOPBACK_CALLBACK_PATH}"
