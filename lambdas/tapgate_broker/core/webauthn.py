"""python-fido2 glue: the server object, parsing client JSON, and the rules fido2 leaves to us.

fido2 verifies challenge, origin, RP ID hash, UP/UV flags and the signature.
It does not check the sign counter; ``check_counter`` does.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from fido2.server import Fido2Server
from fido2.utils import websafe_decode
from fido2.webauthn import (
    AttestedCredentialData,
    AuthenticationResponse,
    PublicKeyCredentialParameters,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialType,
    RegistrationResponse,
)

from tapgate_broker.core.errors import BadRequestError, CeremonyFailedError

# ES256 first (every security key), then EdDSA and RS256 (Windows Hello).
ALLOWED_ALGORITHMS = (-7, -8, -257)

REGISTRATION_BINARY = ("clientDataJSON", "attestationObject")
ASSERTION_BINARY = ("clientDataJSON", "authenticatorData", "signature")

# What malformed client JSON makes fido2's parsers raise. Anything else is a bug
# and must surface as one.
PARSE_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    struct.error,
    OverflowError,
    RecursionError,
)


def make_server(*, rp_id: str, rp_name: str, origins: Sequence[str]) -> Fido2Server:
    """A Fido2Server that accepts exactly the configured origins."""
    allowed = frozenset(origins)
    server = Fido2Server(
        PublicKeyCredentialRpEntity(id=rp_id, name=rp_name),
        attestation=None,
        verify_origin=lambda origin: origin in allowed,
    )
    server.allowed_algorithms = [
        PublicKeyCredentialParameters(type=PublicKeyCredentialType.PUBLIC_KEY, alg=alg)
        for alg in ALLOWED_ALGORITHMS
    ]
    return server


def parse_registration(raw: object) -> RegistrationResponse:
    if not isinstance(raw, Mapping):
        raise BadRequestError("credential must be a RegistrationResponseJSON object")
    check_json_shape(raw, binary=REGISTRATION_BINARY, field="credential")
    try:
        parsed = RegistrationResponse.from_dict(raw)
        # Touch the lazily decoded parts so malformed CBOR fails here, as a 400.
        _ = parsed.response.attestation_object.auth_data.credential_data
        _ = parsed.response.client_data.challenge
    except PARSE_ERRORS as exc:
        raise BadRequestError(
            "credential is not a valid RegistrationResponseJSON", reason=f"parse: {exc!r}"
        ) from exc
    if parsed.response.attestation_object.auth_data.credential_data is None:
        raise BadRequestError("credential carries no attested credential data")
    return parsed


def parse_assertion(raw: object, *, field: str = "credential") -> AuthenticationResponse:
    if not isinstance(raw, Mapping):
        raise BadRequestError(f"{field} must be an AuthenticationResponseJSON object")
    check_json_shape(raw, binary=ASSERTION_BINARY, field=field)
    try:
        parsed = AuthenticationResponse.from_dict(raw)
        _ = parsed.response.authenticator_data.counter
        _ = parsed.response.client_data.challenge
    except PARSE_ERRORS as exc:
        raise BadRequestError(
            f"{field} is not a valid AuthenticationResponseJSON", reason=f"parse: {exc!r}"
        ) from exc
    return parsed


def check_json_shape(raw: Mapping[str, Any], *, binary: tuple[str, ...], field: str) -> None:
    """Binary fields must be base64url strings before fido2 sees them.

    fido2 decodes with ``bytes(value)``: a JSON number n there (or as the
    client data's challenge) would allocate n bytes, so a 14-byte body could
    exhaust the Lambda's memory. An origin that is not a string would reach
    the origin check (a set lookup) and raise TypeError.
    """
    response = raw.get("response")
    if raw.get("type") != "public-key" or not isinstance(response, Mapping):
        raise BadRequestError(f'{field} must have type "public-key" and a response object')
    values = [raw.get("id"), raw.get("rawId"), *(response.get(key) for key in binary)]
    if not all(isinstance(value, str) for value in values):
        raise BadRequestError(f"{field}: binary fields must be base64url strings")
    handle = response.get("userHandle")
    if handle is not None and not isinstance(handle, str):
        raise BadRequestError(f"{field}: userHandle must be a base64url string")
    try:
        client_data = json.loads(websafe_decode(response["clientDataJSON"]))
        members = [client_data.get(key) for key in ("type", "challenge", "origin")]
    except (ValueError, TypeError, AttributeError, RecursionError) as exc:
        raise BadRequestError(f"{field}: clientDataJSON is not valid", reason=repr(exc)) from exc
    if not all(isinstance(member, str) for member in members):
        raise BadRequestError(f"{field}: clientDataJSON type, challenge and origin must be strings")


def credential_data_from_bytes(raw: bytes) -> AttestedCredentialData:
    return AttestedCredentialData(raw)


def check_counter(*, stored: int, received: int) -> None:
    """The sign counter must advance unless both sides are zero (no counter at all).

    A counter that stays or goes back means two authenticators share one key:
    a possible clone. The ceremony fails.
    """
    if stored == 0 and received == 0:
        return
    if received <= stored:
        raise CeremonyFailedError(
            f"sign counter did not advance (stored {stored}, received {received}): "
            "possible cloned authenticator"
        )


def options_json(options: Any) -> dict[str, Any]:
    """Creation/request options in WebAuthn L3 JSON (base64url), as browsers expect."""
    public_key: dict[str, Any] = dict(options)["publicKey"]
    return public_key
