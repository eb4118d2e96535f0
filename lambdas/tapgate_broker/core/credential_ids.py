"""Credential ids as text: base64url in the API, a short non-secret label in tags and logs."""

from __future__ import annotations

from fido2.utils import websafe_decode, websafe_encode

from tapgate_broker.core import response_rules
from tapgate_broker.core.errors import BadRequestError


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
