"""What tapgate requires of a parsed WebAuthn response beyond what fido2 checks.

Called by the use cases on fido2's parsed response (``core/webauthn`` parses), before any
AWS call where the rule is about the request's shape:

- credential ids: 1 to ``MAX_CREDENTIAL_ID_BYTES`` bytes, in ``rawId`` and in the attested
  credential data, and the two equal. DynamoDB limits a sort key to 1,024 bytes; the id is
  stored base64url (4 characters per 3 bytes), so 768 bytes is the most that fits. WebAuthn
  allows up to 1,023 bytes; no authenticator we know of uses more than 255.
- the new key's algorithm and material (``key_material``): 400, nothing stored.

and during verification, as part of the ceremony (a 401 with an audit record):

- client data with ``crossOrigin`` other than absent/false: tapgate's page is never
  embedded in another origin's frame, so such an answer was not made for it.
"""

from __future__ import annotations

from collections.abc import Collection

from fido2.webauthn import AuthenticationResponse, CollectedClientData, RegistrationResponse

from tapgate_broker.core.errors import BadRequestError, CeremonyFailedError
from tapgate_broker.core.key_material import KeyMaterialError, check_public_key
from tapgate_contract.limits import MAX_CREDENTIAL_ID_BYTES


def check_credential_id(credential_id: bytes, *, field: str) -> None:
    if not 1 <= len(credential_id) <= MAX_CREDENTIAL_ID_BYTES:
        raise BadRequestError(
            f"{field} must be 1-{MAX_CREDENTIAL_ID_BYTES} bytes, not {len(credential_id)}"
        )


def check_assertion(response: AuthenticationResponse, *, field: str = "credential") -> None:
    check_credential_id(response.raw_id, field=f"{field}.rawId")


def check_registration(response: RegistrationResponse, *, offered: Collection[int]) -> None:
    """The new credential's id and public key (BadRequestError: nothing is stored)."""
    check_credential_id(response.raw_id, field="credential.rawId")
    attested = response.response.attestation_object.auth_data.credential_data
    if attested is None:
        raise BadRequestError("credential carries no attested credential data")
    check_credential_id(attested.credential_id, field="the attested credential id")
    if attested.credential_id != response.raw_id:
        raise BadRequestError("credential.rawId differs from the attested credential id")
    try:
        check_public_key(attested.public_key, offered=offered)
    except KeyMaterialError as exc:
        raise BadRequestError(
            "The security key's public key is not one tapgate accepts (ES256, EdDSA or "
            "RS256 of at least 2048 bits).",
            reason=f"key material: {exc}",
        ) from exc


def check_client_data(client_data: CollectedClientData) -> None:
    """Refuse an answer made inside another origin's frame (CeremonyFailedError)."""
    if client_data.cross_origin is not False:
        raise CeremonyFailedError("client data says crossOrigin; tapgate is never embedded")
