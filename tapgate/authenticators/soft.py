"""A software CTAP2 authenticator kept in a key file, for tests and demos only.

`SoftAuthenticator` is a `fido2.ctap.CtapDevice`: python-fido2's `Fido2Client` drives it
through `fido2.ctap2.Ctap2` exactly as it drives a USB security key, so every byte the
server verifies (attestation object, authenticator data, signatures, PIN/UV protocol) is
produced the way a real key produces it.

What it does:

- ES256 (P-256) credentials, "packed" self attestation, resident (discoverable) and
  non-resident credentials, a sign counter per credential.
- User presence is always given (the software "touch" is automatic). The counter advances
  on every assertion that asserts user presence; the silent probes (`up=false`) a client
  makes to filter an allow list leave it alone.
- With a PIN, user verification through clientPIN (protocols 2 and 1, pinUvAuthToken
  permissions), so a `Fido2Client` whose `UserInteraction` returns the PIN gets UV=1; a
  wrong PIN answers `PIN_INVALID` and, after 8 wrong PINs in a row, `PIN_BLOCKED`. Without
  a PIN it cannot verify the user and getInfo has no `clientPin` option.
- AAGUID `74617067-6174-6520-736f-6674206b6579`: the ASCII bytes of "tapgate soft key",
  so the server's credential summary shows where a credential came from.

The key file is JSON (bytes as standard base64) holding the private keys, counters,
resident-key user entities and the PIN hash; it is the secret. It is created with mode
0600, every update replaces it atomically (a 0600 temp file in the same directory, fsync,
`os.replace`), and a file that its group or others may access, or that another user owns,
is refused. The device re-reads the file before each command, so several `SoftAuthenticator`
objects over one file see each other's credentials; they must not run concurrently.
`clone_to` copies the file to make a second device with the same keys and counters, which
is how a cloned key looks to a relying party.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
import secrets
import stat
import struct
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from threading import Event
from typing import Any, Final

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fido2 import cbor
from fido2.client import DefaultClientDataCollector, Fido2Client, UserInteraction
from fido2.cose import ES256
from fido2.ctap import STATUS, CtapDevice, CtapError
from fido2.ctap2 import Ctap2
from fido2.ctap2.pin import ClientPin, PinProtocolV1, PinProtocolV2
from fido2.hid import CAPABILITY, CTAPHID
from fido2.utils import sha256
from fido2.webauthn import Aaguid, AttestedCredentialData, AuthenticatorData

__all__ = [
    "AAGUID",
    "ALLOW_SOFT_KEY_ENV",
    "SoftAuthenticator",
    "SoftKeyError",
    "SoftKeyFileError",
    "SoftKeyNotAllowedError",
    "SoftKeyPermissionError",
    "assert_soft_key_allowed",
    "soft_client",
]

AAGUID: Final = Aaguid(b"tapgate soft key")
ALLOW_SOFT_KEY_ENV: Final = "TAPGATE_ALLOW_SOFT_KEY"

_FORMAT: Final = "tapgate-soft-key/1"
_PIN_RETRIES: Final = 8
_MAX_MSG_SIZE: Final = 2048
_MAX_CREDS_IN_LIST: Final = 8
_MAX_CRED_ID_LENGTH: Final = 64
_MAX_USER_ID_LENGTH: Final = 64
_MAX_FILE_BYTES: Final = 1 << 20
_ERR = CtapError.ERR
_MC = ClientPin.PERMISSION.MAKE_CREDENTIAL
_GA = ClientPin.PERMISSION.GET_ASSERTION
_PROTOCOLS: Final[Mapping[int, PinProtocolV1]] = {2: PinProtocolV2(), 1: PinProtocolV1()}
_CBOR_ERRORS = (ValueError, IndexError, KeyError, TypeError, struct.error, RecursionError)


class SoftKeyError(Exception):
    """Root of the software authenticator's errors."""


class SoftKeyFileError(SoftKeyError):
    """The key file is missing, already exists, or is not a tapgate soft key file."""


class SoftKeyPermissionError(SoftKeyFileError):
    """The key file may be read or written by someone other than its owner."""


class SoftKeyNotAllowedError(SoftKeyError):
    """A software key was asked for outside local mode without the explicit opt-in."""


def assert_soft_key_allowed(*, local_mode: bool, environ: Mapping[str, str] | None = None) -> None:
    """Refuse the software authenticator unless in local mode or explicitly allowed.

    A soft key's private keys sit in a file, so it is no second factor: it is for local
    mode, tests and demos. `TAPGATE_ALLOW_SOFT_KEY=1` allows it anywhere.
    """
    env = os.environ if environ is None else environ
    if local_mode or env.get(ALLOW_SOFT_KEY_ENV) == "1":
        return
    raise SoftKeyNotAllowedError(
        "the software authenticator keeps its private keys in a file, so it is not a "
        "hardware key: it is allowed in local mode only; set "
        f"{ALLOW_SOFT_KEY_ENV}=1 to use it elsewhere (tests and demos)"
    )


# -- the key file ----------------------------------------------------------------------


@dataclass
class _Credential:
    credential_id: bytes
    rp_id: str
    private_key: bytes  # PKCS#8 DER
    sign_count: int
    discoverable: bool
    user: dict[str, Any] | None  # {"id": bytes, "name"?: str, "displayName"?: str}

    def sign(self, message: bytes) -> bytes:
        key = serialization.load_der_private_key(self.private_key, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise SoftKeyFileError("a credential's private key is not an EC key")
        return key.sign(message, ec.ECDSA(hashes.SHA256()))


@dataclass
class _State:
    pin_hash: bytes | None  # LEFT(SHA-256(PIN), 16), what clientPIN compares
    pin_retries: int
    credentials: list[_Credential]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise TypeError("expected a base64 string")
    return base64.b64decode(text, validate=True)


def _encode_state(state: _State) -> bytes:
    def user(entity: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if entity is None else {**entity, "id": _b64(entity["id"])}

    document = {
        "format": _FORMAT,
        "aaguid": str(AAGUID),
        "pin": None
        if state.pin_hash is None
        else {"hash": _b64(state.pin_hash), "retries": state.pin_retries},
        "credentials": [
            {
                "id": _b64(c.credential_id),
                "rpId": c.rp_id,
                "privateKey": _b64(c.private_key),
                "signCount": c.sign_count,
                "discoverable": c.discoverable,
                "user": user(c.user),
            }
            for c in state.credentials
        ],
    }
    return json.dumps(document, indent=2).encode() + b"\n"


def _decode_state(raw: bytes, path: Path) -> _State:
    try:
        document = json.loads(raw)
        if document.get("format") != _FORMAT:
            raise ValueError(f"format is not {_FORMAT}")
        pin = document["pin"]
        credentials = []
        for item in document["credentials"]:
            user = item["user"]
            credentials.append(
                _Credential(
                    credential_id=_unb64(item["id"]),
                    rp_id=str(item["rpId"]),
                    private_key=_unb64(item["privateKey"]),
                    sign_count=int(item["signCount"]),
                    discoverable=bool(item["discoverable"]),
                    user=None if user is None else {**user, "id": _unb64(user["id"])},
                )
            )
        return _State(
            pin_hash=None if pin is None else _unb64(pin["hash"]),
            pin_retries=_PIN_RETRIES if pin is None else int(pin["retries"]),
            credentials=credentials,
        )
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise SoftKeyFileError(f"{path} is not a tapgate soft key file: {exc}") from exc


def _read_key_file(path: Path) -> _State:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError as exc:
        raise SoftKeyFileError(f"soft key file {path} does not exist") from exc
    except OSError as exc:
        raise SoftKeyFileError(f"cannot open soft key file {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise SoftKeyFileError(f"soft key file {path} is not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            raise SoftKeyPermissionError(
                f"soft key file {path} has mode {mode:04o}; it holds private keys and must "
                f"be accessible by its owner only (chmod 600 {path})"
            )
        if info.st_uid != os.getuid():
            raise SoftKeyPermissionError(
                f"soft key file {path} is owned by uid {info.st_uid}, not by you"
            )
        raw = handle.read(_MAX_FILE_BYTES + 1)
    if len(raw) > _MAX_FILE_BYTES:
        raise SoftKeyFileError(f"soft key file {path} is larger than {_MAX_FILE_BYTES} bytes")
    return _decode_state(raw, path)


def _write_fd(fd: int, data: bytes) -> None:
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)  # exactly 0600, whatever the umask
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _create_key_file(path: Path, data: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError as exc:
        raise SoftKeyFileError(f"soft key file {path} already exists; not overwriting it") from exc
    try:
        _write_fd(fd, data)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _replace_key_file(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        _write_fd(fd, data)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


# -- the device --------------------------------------------------------------------------


@dataclass
class _PinToken:
    value: bytes
    permissions: int
    rp_id: str | None


@dataclass
class _PendingAssertions:
    rp_id: str
    client_data_hash: bytes
    flags: AuthenticatorData.FLAG
    uv: bool
    credential_ids: list[bytes]


def _param(params: Mapping[Any, Any], key: object, kind: type, *, required: bool = True) -> Any:
    value = params.get(key)
    if value is None:
        if required:
            raise CtapError(_ERR.MISSING_PARAMETER)
        return None
    if not isinstance(value, kind):
        raise CtapError(_ERR.CBOR_UNEXPECTED_TYPE)
    return value


class SoftAuthenticator(CtapDevice):
    """A CTAP2 authenticator whose state lives in a key file (see the module docstring).

    Make one with `create` (a new key file) or `load` (an existing one); hand it to
    `fido2.client.Fido2Client`, or use `soft_client`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)
        self._state = _read_key_file(self._path)
        # Per "power cycle", as on a real key: the ECDH key for clientPIN and the PIN token.
        self._key_agreement = ec.generate_private_key(ec.SECP256R1())
        self._pin_token: _PinToken | None = None
        self._pending: _PendingAssertions | None = None

    @classmethod
    def create(cls, path: str | os.PathLike[str], *, pin: str | None = None) -> SoftAuthenticator:
        """Create a new key file (mode 0600; an existing file is never overwritten).

        With `pin`, the key verifies users by PIN (at least 4 characters, at most 63
        bytes); without, it cannot verify users at all.
        """
        if pin is not None and (len(pin) < 4 or len(pin.encode()) > 63):
            raise SoftKeyError("a PIN must have at least 4 characters and at most 63 bytes")
        state = _State(
            pin_hash=None if pin is None else sha256(pin.encode())[:16],
            pin_retries=_PIN_RETRIES,
            credentials=[],
        )
        _create_key_file(Path(path), _encode_state(state))
        return cls(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SoftAuthenticator:
        """Open an existing key file; refuses one that group or others may access."""
        return cls(path)

    @property
    def path(self) -> Path:
        return self._path

    @property
    def has_pin(self) -> bool:
        return self._state.pin_hash is not None

    def sign_count(self, credential_id: bytes) -> int:
        """The current sign counter of one credential, as stored in the key file."""
        self._reload()
        for credential in self._state.credentials:
            if credential.credential_id == credential_id:
                return credential.sign_count
        raise SoftKeyError("no such credential in this soft key")

    def clone_to(self, path: str | os.PathLike[str]) -> SoftAuthenticator:
        """Copy this key to a new file: same keys, same counters, like a cloned key."""
        self._reload()
        _create_key_file(Path(path), _encode_state(self._state))
        return type(self)(path)

    # -- CtapDevice --------------------------------------------------------------------

    @property
    def capabilities(self) -> int:
        return CAPABILITY.CBOR | CAPABILITY.NMSG

    @classmethod
    def list_devices(cls) -> Iterator[SoftAuthenticator]:
        """A soft key is never discovered; make one with `create` or `load`."""
        return iter(())

    def call(
        self,
        cmd: int,
        data: bytes = b"",
        event: Event | None = None,
        on_keepalive: Callable[[STATUS], None] | None = None,
    ) -> bytes:
        if cmd != CTAPHID.CBOR:
            raise CtapError(_ERR.INVALID_COMMAND)  # what a CTAPHID error frame raises
        if event is not None and event.is_set():
            return bytes([_ERR.KEEPALIVE_CANCEL])
        if not data:
            return bytes([_ERR.INVALID_LENGTH])
        try:
            response = self._dispatch(data[0], self._decode(data[1:]), on_keepalive)
        except CtapError as exc:
            return bytes([exc.code])
        return b"\x00" + (cbor.encode(response) if response else b"")

    # -- commands ------------------------------------------------------------------------

    @staticmethod
    def _decode(payload: bytes) -> Mapping[int, Any]:
        if not payload:
            return {}
        try:
            params = cbor.decode(payload)
        except _CBOR_ERRORS as exc:
            raise CtapError(_ERR.INVALID_CBOR) from exc
        if not isinstance(params, Mapping):
            raise CtapError(_ERR.CBOR_UNEXPECTED_TYPE)
        return params

    def _dispatch(
        self,
        command: int,
        params: Mapping[int, Any],
        on_keepalive: Callable[[STATUS], None] | None,
    ) -> Mapping[Any, Any] | None:
        if command == Ctap2.CMD.GET_NEXT_ASSERTION:
            return self._get_next_assertion()
        self._pending = None
        if command == Ctap2.CMD.GET_INFO:
            return self._get_info()
        if command == Ctap2.CMD.SELECTION:
            self._touch(on_keepalive)
            return None
        if command == Ctap2.CMD.MAKE_CREDENTIAL:
            self._reload()
            return self._make_credential(params, on_keepalive)
        if command == Ctap2.CMD.GET_ASSERTION:
            self._reload()
            return self._get_assertion(params, on_keepalive)
        if command == Ctap2.CMD.CLIENT_PIN and self.has_pin:
            self._reload()
            return self._client_pin(params)
        raise CtapError(_ERR.INVALID_COMMAND)

    def _get_info(self) -> Mapping[int, Any]:
        options = {"rk": True, "up": True, "plat": False}
        info: dict[int, Any] = {
            1: ["FIDO_2_0", "FIDO_2_1"],
            3: bytes(AAGUID),
            4: options,
            5: _MAX_MSG_SIZE,
            7: _MAX_CREDS_IN_LIST,
            8: _MAX_CRED_ID_LENGTH,
            9: ["usb"],
            10: [{"alg": ES256.ALGORITHM, "type": "public-key"}],
        }
        if self.has_pin:
            options.update(clientPin=True, pinUvAuthToken=True)
            info[6] = list(_PROTOCOLS)
        return info

    def _make_credential(
        self, params: Mapping[int, Any], on_keepalive: Callable[[STATUS], None] | None
    ) -> Mapping[int, Any]:
        client_data_hash = _param(params, 1, bytes)
        rp = _param(params, 2, Mapping)
        user = _param(params, 3, Mapping)
        key_params = _param(params, 4, list)
        exclude_list = _param(params, 5, list, required=False) or []
        options = _param(params, 7, Mapping, required=False) or {}
        rp_id = _param(rp, "id", str)
        user_id = _param(user, "id", bytes)
        if not 0 < len(user_id) <= _MAX_USER_ID_LENGTH:
            raise CtapError(_ERR.INVALID_PARAMETER)
        if not any(
            isinstance(p, Mapping)
            and p.get("type") == "public-key"
            and p.get("alg") == ES256.ALGORITHM
            for p in key_params
        ):
            raise CtapError(_ERR.UNSUPPORTED_ALGORITHM)
        if options.get("uv") or options.get("up") is False:
            raise CtapError(_ERR.INVALID_OPTION)  # no built-in UV; UP is mandatory here
        resident = options.get("rk") is True

        uv = self._check_pin_uv_auth(
            params,
            param_key=8,
            protocol_key=9,
            client_data_hash=client_data_hash,
            permission=_MC,
            rp_id=rp_id,
        )
        if not uv and self.has_pin:
            raise CtapError(_ERR.PUAT_REQUIRED)
        excluded = any(
            isinstance(d, Mapping) and self._find(rp_id, d.get("id")) for d in exclude_list
        )
        self._touch(on_keepalive)
        if excluded:
            raise CtapError(_ERR.CREDENTIAL_EXCLUDED)

        private_key = ec.generate_private_key(ec.SECP256R1())
        credential = _Credential(
            credential_id=secrets.token_bytes(32),
            rp_id=rp_id,
            private_key=private_key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            sign_count=0,
            discoverable=resident,
            user=None if not resident else self._user_entity(user, user_id),
        )
        if resident:  # one resident credential per (RP, user): the new one replaces it
            self._state.credentials = [
                c
                for c in self._state.credentials
                if not (c.discoverable and c.rp_id == rp_id and c.user and c.user["id"] == user_id)
            ]
        self._state.credentials.append(credential)
        self._save()

        flags = AuthenticatorData.FLAG.UP | AuthenticatorData.FLAG.AT
        if uv:
            flags |= AuthenticatorData.FLAG.UV
        auth_data = AuthenticatorData.create(
            sha256(rp_id.encode()),
            flags,
            credential.sign_count,
            AttestedCredentialData.create(
                bytes(AAGUID),
                credential.credential_id,
                ES256.from_cryptography_key(private_key.public_key()),
            ),
        )
        signature = credential.sign(auth_data + client_data_hash)
        return {
            1: "packed",
            2: bytes(auth_data),
            3: {"alg": ES256.ALGORITHM, "sig": signature},
        }

    @staticmethod
    def _user_entity(user: Mapping[Any, Any], user_id: bytes) -> dict[str, Any]:
        entity: dict[str, Any] = {"id": user_id}
        for name in ("name", "displayName"):
            if isinstance(user.get(name), str):
                entity[name] = user[name]
        return entity

    def _get_assertion(
        self, params: Mapping[int, Any], on_keepalive: Callable[[STATUS], None] | None
    ) -> Mapping[int, Any]:
        rp_id = _param(params, 1, str)
        client_data_hash = _param(params, 2, bytes)
        allow_list = _param(params, 3, list, required=False)
        options = _param(params, 5, Mapping, required=False) or {}
        if "rk" in options:
            raise CtapError(_ERR.UNSUPPORTED_OPTION)
        if options.get("uv"):
            raise CtapError(_ERR.INVALID_OPTION)  # no built-in UV: use the PIN
        user_present = options.get("up") is not False

        uv = self._check_pin_uv_auth(
            params,
            param_key=6,
            protocol_key=7,
            client_data_hash=client_data_hash,
            permission=_GA,
            rp_id=rp_id,
        )
        if allow_list:
            found = (self._find(rp_id, d.get("id")) for d in allow_list if isinstance(d, Mapping))
            credentials = [c for c in found if c is not None][:1]
        else:  # discoverable sign-in: the most recent resident credential first
            credentials = [
                c for c in reversed(self._state.credentials) if c.discoverable and c.rp_id == rp_id
            ]
        if user_present:
            self._touch(on_keepalive)
        if not credentials:
            raise CtapError(_ERR.NO_CREDENTIALS)

        flags = AuthenticatorData.FLAG(0)
        if user_present:
            flags |= AuthenticatorData.FLAG.UP
        if uv:
            flags |= AuthenticatorData.FLAG.UV
        response = self._assert(credentials[0], rp_id, client_data_hash, flags, uv)
        if len(credentials) > 1:
            response[5] = len(credentials)
            self._pending = _PendingAssertions(
                rp_id, client_data_hash, flags, uv, [c.credential_id for c in credentials[1:]]
            )
        return response

    def _get_next_assertion(self) -> Mapping[int, Any]:
        pending = self._pending
        if pending is None or not pending.credential_ids:
            self._pending = None
            raise CtapError(_ERR.NOT_ALLOWED)
        self._reload()
        credential = self._find(pending.rp_id, pending.credential_ids.pop(0))
        if credential is None:
            raise CtapError(_ERR.NO_CREDENTIALS)
        return self._assert(
            credential, pending.rp_id, pending.client_data_hash, pending.flags, pending.uv
        )

    def _assert(
        self,
        credential: _Credential,
        rp_id: str,
        client_data_hash: bytes,
        flags: AuthenticatorData.FLAG,
        uv: bool,
    ) -> dict[int, Any]:
        if flags & AuthenticatorData.FLAG.UP:
            credential.sign_count += 1
            self._save()
        auth_data = AuthenticatorData.create(sha256(rp_id.encode()), flags, credential.sign_count)
        response: dict[int, Any] = {
            1: {"type": "public-key", "id": credential.credential_id},
            2: bytes(auth_data),
            3: credential.sign(auth_data + client_data_hash),
        }
        if credential.discoverable and credential.user is not None:
            # Names only after user verification, as CTAP2 asks.
            response[4] = dict(credential.user) if uv else {"id": credential.user["id"]}
        return response

    def _find(self, rp_id: str, credential_id: object) -> _Credential | None:
        for credential in self._state.credentials:
            if credential.rp_id == rp_id and credential.credential_id == credential_id:
                return credential
        return None

    # -- PIN / UV ---------------------------------------------------------------------------

    def _check_pin_uv_auth(
        self,
        params: Mapping[int, Any],
        *,
        param_key: int,
        protocol_key: int,
        client_data_hash: bytes,
        permission: int,
        rp_id: str,
    ) -> bool:
        """True when the request carries a valid pinUvAuthParam (UV done); raises if bad."""
        pin_uv_param = _param(params, param_key, bytes, required=False)
        if pin_uv_param is None:
            return False
        if not pin_uv_param:  # a client probing for touch / PIN support
            raise CtapError(_ERR.PIN_INVALID if self.has_pin else _ERR.PIN_NOT_SET)
        protocol = _PROTOCOLS.get(_param(params, protocol_key, int))
        if protocol is None:
            raise CtapError(_ERR.INVALID_PARAMETER)
        token = self._pin_token
        if token is None or not self.has_pin:
            raise CtapError(_ERR.PIN_AUTH_INVALID)
        expected = protocol.authenticate(token.value, client_data_hash)
        if not hmac.compare_digest(expected, pin_uv_param):
            raise CtapError(_ERR.PIN_AUTH_INVALID)
        if not token.permissions & permission:
            raise CtapError(_ERR.PIN_AUTH_INVALID)
        if token.rp_id is None:
            token.rp_id = rp_id  # a token without an RP binds to the first one it serves
        elif token.rp_id != rp_id:
            raise CtapError(_ERR.PIN_AUTH_INVALID)
        return True

    def _client_pin(self, params: Mapping[int, Any]) -> Mapping[int, Any]:
        protocol = _PROTOCOLS.get(_param(params, 1, int))
        if protocol is None:
            raise CtapError(_ERR.INVALID_PARAMETER)
        sub_command = _param(params, 2, int)
        if sub_command == ClientPin.CMD.GET_PIN_RETRIES:
            return {ClientPin.RESULT.PIN_RETRIES: self._state.pin_retries}
        if sub_command == ClientPin.CMD.GET_KEY_AGREEMENT:
            numbers = self._key_agreement.public_key().public_numbers()
            cose = {1: 2, 3: -25, -1: 1, -2: numbers.x.to_bytes(32), -3: numbers.y.to_bytes(32)}
            return {ClientPin.RESULT.KEY_AGREEMENT: cose}
        if sub_command == ClientPin.CMD.GET_TOKEN_USING_PIN_LEGACY:
            return self._get_pin_token(protocol, params, _MC | _GA, None)
        if sub_command == ClientPin.CMD.GET_TOKEN_USING_PIN:
            permissions = _param(params, 9, int)
            if permissions <= 0:
                raise CtapError(_ERR.INVALID_PARAMETER)
            if permissions & ~(_MC | _GA):
                raise CtapError(_ERR.UNAUTHORIZED_PERMISSION)
            return self._get_pin_token(
                protocol, params, permissions, _param(params, 10, str, required=False)
            )
        raise CtapError(_ERR.INVALID_SUBCOMMAND)

    def _get_pin_token(
        self,
        protocol: PinProtocolV1,
        params: Mapping[int, Any],
        permissions: int,
        rp_id: str | None,
    ) -> Mapping[int, Any]:
        if self._state.pin_retries <= 0:
            raise CtapError(_ERR.PIN_BLOCKED)
        shared_secret = self._shared_secret(protocol, _param(params, 3, Mapping))
        pin_hash_enc = _param(params, 6, bytes)
        try:
            pin_hash = protocol.decrypt(shared_secret, pin_hash_enc)
        except ValueError as exc:
            raise CtapError(_ERR.INVALID_PARAMETER) from exc
        assert self._state.pin_hash is not None  # noqa: S101 (CLIENT_PIN needs a PIN)
        self._pin_token = None
        if not hmac.compare_digest(pin_hash, self._state.pin_hash):
            self._state.pin_retries -= 1
            self._save()
            self._key_agreement = ec.generate_private_key(ec.SECP256R1())
            blocked = self._state.pin_retries <= 0
            raise CtapError(_ERR.PIN_BLOCKED if blocked else _ERR.PIN_INVALID)
        if self._state.pin_retries != _PIN_RETRIES:
            self._state.pin_retries = _PIN_RETRIES
            self._save()
        self._pin_token = _PinToken(secrets.token_bytes(32), permissions, rp_id)
        return {
            ClientPin.RESULT.PIN_UV_TOKEN: protocol.encrypt(shared_secret, self._pin_token.value)
        }

    def _shared_secret(self, protocol: PinProtocolV1, cose: Mapping[Any, Any]) -> bytes:
        x, y = cose.get(-2), cose.get(-3)
        if cose.get(1) != 2 or cose.get(-1) != 1 or not isinstance(x, bytes | bytearray):
            raise CtapError(_ERR.INVALID_PARAMETER)
        if not isinstance(y, bytes | bytearray) or len(x) != 32 or len(y) != 32:
            raise CtapError(_ERR.INVALID_PARAMETER)
        try:
            peer = ec.EllipticCurvePublicNumbers(
                int.from_bytes(x), int.from_bytes(y), ec.SECP256R1()
            ).public_key()
        except ValueError as exc:  # not a point on P-256
            raise CtapError(_ERR.INVALID_PARAMETER) from exc
        return protocol.kdf(self._key_agreement.exchange(ec.ECDH(), peer))

    # -- plumbing ----------------------------------------------------------------------------

    @staticmethod
    def _touch(on_keepalive: Callable[[STATUS], None] | None) -> None:
        """User presence: a software key is always touched, at once."""
        if on_keepalive is not None:
            on_keepalive(STATUS.UPNEEDED)

    def _reload(self) -> None:
        self._state = _read_key_file(self._path)

    def _save(self) -> None:
        _replace_key_file(self._path, _encode_state(self._state))


class _FixedPinInteraction(UserInteraction):
    """Answers the client's PIN prompt with a fixed PIN (or none)."""

    def __init__(self, pin: str | None) -> None:
        self._pin = pin

    def prompt_up(self) -> None:
        """Nothing to prompt: the software key touches itself."""

    def request_pin(self, permissions: ClientPin.PERMISSION, rp_id: str | None) -> str | None:
        return self._pin

    def request_uv(self, permissions: ClientPin.PERMISSION, rp_id: str | None) -> bool:
        return True


def soft_client(
    path: str | os.PathLike[str], origin: str, *, pin: str | None = None
) -> Fido2Client:
    """A `Fido2Client` for `origin` over the soft key in `path`, entering `pin` when asked.

    `origin` is the web origin the ceremonies claim (`http://localhost:PORT` is fine for
    RP ID `localhost`); python-fido2 checks the RP ID of each request against it.
    """
    return Fido2Client(
        SoftAuthenticator.load(path),
        DefaultClientDataCollector(origin),
        user_interaction=_FixedPinInteraction(pin),
    )
