"""clientPIN and pinUvAuthParam checks: how the soft key verifies its user.

User verification through clientPIN (protocols 2 and 1, pinUvAuthToken permissions), so a
`Fido2Client` whose `UserInteraction` returns the PIN gets UV=1; a wrong PIN answers
`PIN_INVALID` and, after 8 wrong PINs in a row, `PIN_BLOCKED`.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ec
from fido2.ctap import CtapError
from fido2.ctap2.pin import ClientPin, PinProtocolV1, PinProtocolV2

from tapgate.authenticators.soft.keyfile import PIN_RETRIES, KeyState
from tapgate.authenticators.soft.params import ERR, param

MAKE_CREDENTIAL: Final = ClientPin.PERMISSION.MAKE_CREDENTIAL
GET_ASSERTION: Final = ClientPin.PERMISSION.GET_ASSERTION
PROTOCOLS: Final[Mapping[int, PinProtocolV1]] = {2: PinProtocolV2(), 1: PinProtocolV1()}


@dataclass
class _PinToken:
    value: bytes
    permissions: int
    rp_id: str | None


class ClientPinService:
    """clientPIN for one "power cycle", as on a real key: the ECDH key and the PIN token."""

    def __init__(self) -> None:
        self._key_agreement = ec.generate_private_key(ec.SECP256R1())
        self._token: _PinToken | None = None

    def check_pin_uv_auth(
        self,
        params: Mapping[int, Any],
        *,
        state: KeyState,
        param_key: int,
        protocol_key: int,
        client_data_hash: bytes,
        permission: int,
        rp_id: str,
    ) -> bool:
        """True when the request carries a valid pinUvAuthParam (UV done); raises if bad."""
        has_pin = state.pin_hash is not None
        pin_uv_param = param(params, param_key, bytes, required=False)
        if pin_uv_param is None:
            return False
        if not pin_uv_param:  # a client probing for touch / PIN support
            raise CtapError(ERR.PIN_INVALID if has_pin else ERR.PIN_NOT_SET)
        protocol = PROTOCOLS.get(param(params, protocol_key, int))
        if protocol is None:
            raise CtapError(ERR.INVALID_PARAMETER)
        token = self._token
        if token is None or not has_pin:
            raise CtapError(ERR.PIN_AUTH_INVALID)
        expected = protocol.authenticate(token.value, client_data_hash)
        if not hmac.compare_digest(expected, pin_uv_param):
            raise CtapError(ERR.PIN_AUTH_INVALID)
        if not token.permissions & permission:
            raise CtapError(ERR.PIN_AUTH_INVALID)
        if token.rp_id is None:
            token.rp_id = rp_id  # a token without an RP binds to the first one it serves
        elif token.rp_id != rp_id:
            raise CtapError(ERR.PIN_AUTH_INVALID)
        return True

    def command(
        self, params: Mapping[int, Any], *, state: KeyState, save: Callable[[], None]
    ) -> Mapping[int, Any]:
        """One clientPIN subcommand; `save` persists a changed retry counter."""
        protocol = PROTOCOLS.get(param(params, 1, int))
        if protocol is None:
            raise CtapError(ERR.INVALID_PARAMETER)
        sub_command = param(params, 2, int)
        if sub_command == ClientPin.CMD.GET_PIN_RETRIES:
            return {ClientPin.RESULT.PIN_RETRIES: state.pin_retries}
        if sub_command == ClientPin.CMD.GET_KEY_AGREEMENT:
            numbers = self._key_agreement.public_key().public_numbers()
            cose = {1: 2, 3: -25, -1: 1, -2: numbers.x.to_bytes(32), -3: numbers.y.to_bytes(32)}
            return {ClientPin.RESULT.KEY_AGREEMENT: cose}
        both = MAKE_CREDENTIAL | GET_ASSERTION
        if sub_command == ClientPin.CMD.GET_TOKEN_USING_PIN_LEGACY:
            return self._get_pin_token(protocol, params, both, None, state=state, save=save)
        if sub_command == ClientPin.CMD.GET_TOKEN_USING_PIN:
            permissions = param(params, 9, int)
            if permissions <= 0:
                raise CtapError(ERR.INVALID_PARAMETER)
            if permissions & ~both:
                raise CtapError(ERR.UNAUTHORIZED_PERMISSION)
            rp_id = param(params, 10, str, required=False)
            return self._get_pin_token(protocol, params, permissions, rp_id, state=state, save=save)
        raise CtapError(ERR.INVALID_SUBCOMMAND)

    def _get_pin_token(
        self,
        protocol: PinProtocolV1,
        params: Mapping[int, Any],
        permissions: int,
        rp_id: str | None,
        *,
        state: KeyState,
        save: Callable[[], None],
    ) -> Mapping[int, Any]:
        if state.pin_retries <= 0:
            raise CtapError(ERR.PIN_BLOCKED)
        shared_secret = self._shared_secret(protocol, param(params, 3, Mapping))
        pin_hash_enc = param(params, 6, bytes)
        try:
            pin_hash = protocol.decrypt(shared_secret, pin_hash_enc)
        except ValueError as exc:
            raise CtapError(ERR.INVALID_PARAMETER) from exc
        assert state.pin_hash is not None  # noqa: S101 (CLIENT_PIN needs a PIN)
        self._token = None
        if not hmac.compare_digest(pin_hash, state.pin_hash):
            state.pin_retries -= 1
            save()
            self._key_agreement = ec.generate_private_key(ec.SECP256R1())
            blocked = state.pin_retries <= 0
            raise CtapError(ERR.PIN_BLOCKED if blocked else ERR.PIN_INVALID)
        if state.pin_retries != PIN_RETRIES:
            state.pin_retries = PIN_RETRIES
            save()
        self._token = _PinToken(secrets.token_bytes(32), permissions, rp_id)
        return {ClientPin.RESULT.PIN_UV_TOKEN: protocol.encrypt(shared_secret, self._token.value)}

    def _shared_secret(self, protocol: PinProtocolV1, cose: Mapping[Any, Any]) -> bytes:
        x, y = cose.get(-2), cose.get(-3)
        if cose.get(1) != 2 or cose.get(-1) != 1 or not isinstance(x, bytes | bytearray):
            raise CtapError(ERR.INVALID_PARAMETER)
        if not isinstance(y, bytes | bytearray) or len(x) != 32 or len(y) != 32:
            raise CtapError(ERR.INVALID_PARAMETER)
        try:
            peer = ec.EllipticCurvePublicNumbers(
                int.from_bytes(x), int.from_bytes(y), ec.SECP256R1()
            ).public_key()
        except ValueError as exc:  # not a point on P-256
            raise CtapError(ERR.INVALID_PARAMETER) from exc
        return protocol.kdf(self._key_agreement.exchange(ec.ECDH(), peer))
