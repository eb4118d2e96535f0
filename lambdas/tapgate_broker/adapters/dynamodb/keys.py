"""What the DynamoDB adapters share: item keys that are not user data, the key of a
credential's item, the stored shape of a key's assurance, transaction cancellation codes."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from fido2.utils import websafe_encode

from tapgate_broker.core.models import KeyAssurance
from tapgate_contract.tables import CREDENTIAL_ID, USER_NAME

GUARD_USER = "#credential-id"
KEY_SET_ID = "#keyset"
ENROLLMENT_KIND = "enrollment"
ENROLLMENT_PREFIX = "enrollment#"
CODE_KIND = "code"  # browser sign-in codes (adapters/dynamodb/codes.py)
CODE_PREFIX = "code#"
ASSURANCE = "keyAssurance"  # a key's level and what its attestation proved (a map)
Item = dict[str, dict[str, Any]]


def assurance_to_attribute(a: KeyAssurance) -> dict[str, Any]:
    """A key's level, and what its attestation proved (only the facts it has)."""
    fields: Item = {"level": {"S": a.level}, "reason": {"S": a.reason}}
    for name, value in (("aaguid", a.aaguid), ("authenticator", a.authenticator)):
        if value:
            fields[name] = {"S": value}
    if a.status:
        fields["status"] = {"S": a.status}
    if a.key_identifier:
        fields["keyIdentifier"] = {"B": a.key_identifier}
    return {"M": fields}


def assurance_from_attribute(attribute: dict[str, Any] | None) -> KeyAssurance | None:
    if attribute is None:
        return None
    fields = attribute["M"]
    return KeyAssurance(
        level=fields["level"]["S"],
        reason=fields.get("reason", {}).get("S", ""),
        aaguid=fields.get("aaguid", {}).get("S", ""),
        authenticator=fields.get("authenticator", {}).get("S", ""),
        key_identifier=bytes(fields.get("keyIdentifier", {}).get("B", b"")),
        status=fields.get("status", {}).get("S", ""),
    )


def credential_key(user_name: str, credential_id: bytes) -> Item:
    return {USER_NAME: {"S": user_name}, CREDENTIAL_ID: {"S": websafe_encode(credential_id)}}


def cancellation_codes(exc: ClientError) -> list[str]:
    reasons = exc.response.get("CancellationReasons") or []
    return [str(r.get("Code", "")) for r in reasons]
