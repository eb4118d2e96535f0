"""python-fido2 glue: the server object, parsing client JSON, and the rules fido2 leaves to us.

fido2 verifies challenge, origin, RP ID hash, UP/UV flags and the signature.
It does not check the sign counter; ``check_counter`` does.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import struct
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from fido2.server import Fido2Server
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import (
    AttestationConveyancePreference,
    AttestationObject,
    AttestedCredentialData,
    AuthenticationExtensionsClientOutputs,
    AuthenticationResponse,
    AuthenticatorAssertionResponse,
    AuthenticatorAttachment,
    AuthenticatorAttestationResponse,
    AuthenticatorData,
    CollectedClientData,
    PublicKeyCredentialParameters,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialType,
    RegistrationResponse,
)

from tapgate_broker.core.errors import (
    BadRequestError,
    CounterRegressionError,
)

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


def make_server(
    *, rp_id: str, rp_name: str, origins: Sequence[str], attestation: str | None = None
) -> Fido2Server:
    """A Fido2Server that accepts exactly the configured origins.

    ``attestation`` "direct" asks authenticators for their attestation statement; fido2
    does not verify it (no ``verify_attestation``): core.assurance judges it.
    """
    allowed = frozenset(origins)
    server = Fido2Server(
        PublicKeyCredentialRpEntity(id=rp_id, name=rp_name),
        attestation=AttestationConveyancePreference(attestation) if attestation else None,
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
        parsed = _registration_from_json(raw)
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
        return _assertion_from_json(raw)
    except PARSE_ERRORS as exc:
        raise BadRequestError(
            f"{field} is not a valid AuthenticationResponseJSON", reason=f"parse: {exc!r}"
        ) from exc


# -- fido2's response types, built from the shape-checked JSON ----------------------------
#
# ``RegistrationResponse.from_dict`` gives the same objects but resolves the string
# annotations of each class (``typing.get_type_hints``) in every ``from_dict`` and again in
# every ``__post_init__``: about 440 us of a 780 us verify request. The shape check has
# already made every binary member a string, so the builders below decode each member
# with the type fido2's ``_parse_value`` would pick (the bytes types decode themselves on
# construction, so malformed CBOR or client data still fails here) and fill the frozen
# dataclasses field by field, as their ``__post_init__`` would. fido2's ``from_dict``
# returns such an instance unchanged. tests/unit/test_webauthn_parsing.py checks them
# equal to ``from_dict`` on generated and recorded responses.

_Response = TypeVar("_Response")

# Every field of each class, set by the builders below (checked once, at import).
_CREDENTIAL_FIELDS = (
    "id",
    "raw_id",
    "response",
    "authenticator_attachment",
    "client_extension_results",
    "type",
)
_FIELDS: dict[type[Any], tuple[str, ...]] = {
    RegistrationResponse: _CREDENTIAL_FIELDS,
    AuthenticationResponse: _CREDENTIAL_FIELDS,
    AuthenticatorAttestationResponse: ("client_data", "attestation_object"),
    AuthenticatorAssertionResponse: (
        "client_data",
        "authenticator_data",
        "signature",
        "user_handle",
    ),
}


def _field_keys(cls: Any) -> dict[str, dataclasses.Field[Any]]:
    """What fido2's ``__post_init__`` stores on each instance: JSON member name -> field."""
    names = tuple(f.name for f in dataclasses.fields(cls))
    if names != _FIELDS[cls]:
        # A fido2 upgrade changed the class: the builders would leave a field unset.
        raise RuntimeError(f"fido2's {cls.__name__} has fields {names}, expected {_FIELDS[cls]}")
    return {cls._get_field_key(f): f for f in dataclasses.fields(cls)}


_FIELD_KEYS = {cls: _field_keys(cls) for cls in _FIELDS}


def _build(cls: type[_Response], **values: Any) -> _Response:
    """A frozen fido2 response dataclass with these (already typed) field values."""
    instance = object.__new__(cls)
    for name in _FIELDS[cls]:
        object.__setattr__(instance, name, values[name])
    object.__setattr__(instance, "_field_keys", dict(_FIELD_KEYS[cls]))
    return instance


def _credential_members(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The members both response types share, decoded as ``from_dict`` decodes them."""
    if raw["id"] != raw["rawId"]:
        raise ValueError("id does not match rawId")
    raw_id = websafe_decode(raw["rawId"])
    attachment = raw.get("authenticatorAttachment")
    outputs = raw.get("clientExtensionResults")
    return {
        "id": websafe_encode(raw_id),
        "raw_id": raw_id,
        "authenticator_attachment": (
            None if attachment is None else AuthenticatorAttachment(attachment)
        ),
        "client_extension_results": AuthenticationExtensionsClientOutputs(
            {} if outputs is None else outputs
        ),
        "type": PublicKeyCredentialType(raw["type"]),
    }


def _registration_from_json(raw: Mapping[str, Any]) -> RegistrationResponse:
    response = raw["response"]
    return _build(
        RegistrationResponse,
        response=_build(
            AuthenticatorAttestationResponse,
            client_data=CollectedClientData(websafe_decode(response["clientDataJSON"])),
            attestation_object=AttestationObject(websafe_decode(response["attestationObject"])),
        ),
        **_credential_members(raw),
    )


def _assertion_from_json(raw: Mapping[str, Any]) -> AuthenticationResponse:
    response = raw["response"]
    handle = response.get("userHandle")
    return _build(
        AuthenticationResponse,
        response=_build(
            AuthenticatorAssertionResponse,
            client_data=CollectedClientData(websafe_decode(response["clientDataJSON"])),
            authenticator_data=AuthenticatorData(websafe_decode(response["authenticatorData"])),
            signature=websafe_decode(response["signature"]),
            user_handle=None if handle is None else websafe_decode(handle),
        ),
        **_credential_members(raw),
    )


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


@functools.lru_cache(maxsize=256)
def credential_data_from_bytes(raw: bytes) -> AttestedCredentialData:
    """A stored key, parsed (its COSE key decoded) once per execution environment.

    Keyed by the stored bytes themselves, so a changed or another key is parsed anew;
    fido2 never mutates the result.
    """
    return AttestedCredentialData(raw)


def check_counter(*, stored: int, received: int) -> None:
    """The sign counter must advance unless both sides are zero (no counter at all).

    A counter that stays or goes back means two authenticators share one key:
    a possible clone. The ceremony fails.
    """
    if stored == 0 and received == 0:
        return
    if received <= stored:
        raise CounterRegressionError(stored=stored, received=received)


def options_json(options: Any) -> dict[str, Any]:
    """Creation/request options in WebAuthn L3 JSON (base64url), as browsers expect."""
    public_key: dict[str, Any] = dict(options)["publicKey"]
    return public_key
