"""The soft key as a CTAP2 device: getInfo, makeCredential, getAssertion, selection.

`SoftAuthenticator` is a `fido2.ctap.CtapDevice`: python-fido2's `Fido2Client` drives it
through `fido2.ctap2.Ctap2` exactly as it drives a USB security key. User presence is
always given (the software "touch" is automatic). The counter advances on every assertion
that asserts user presence; the silent probes (`up=false`) a client makes to filter an
allow list leave it alone. The device re-reads its key file before each command, so
several objects over one file see each other's credentials; they must not run
concurrently.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from threading import Event
from typing import Any, Final

from fido2 import cbor
from fido2.cose import ES256
from fido2.ctap import STATUS, CtapDevice, CtapError
from fido2.ctap2 import Ctap2
from fido2.hid import CAPABILITY, CTAPHID
from fido2.utils import sha256
from fido2.webauthn import Aaguid, AttestedCredentialData, AuthenticatorData

from tapgate.authenticators.soft import algorithms
from tapgate.authenticators.soft.attestation import AttestationIdentity, packed_statement
from tapgate.authenticators.soft.errors import SoftKeyError
from tapgate.authenticators.soft.keyfile import (
    PIN_RETRIES,
    KeyState,
    StoredCredential,
    create_key_file,
    encode_state,
    read_key_file,
    replace_key_file,
    user_entity,
)
from tapgate.authenticators.soft.params import ERR, decode_params, param
from tapgate.authenticators.soft.pin import (
    GET_ASSERTION,
    MAKE_CREDENTIAL,
    PROTOCOLS,
    ClientPinService,
)
from tapgate.authenticators.soft.profile import KeyProfile

_MAX_USER_ID_LENGTH: Final = 64


@dataclass
class _PendingAssertions:
    rp_id: str
    client_data_hash: bytes
    flags: AuthenticatorData.FLAG
    uv: bool
    credential_ids: list[bytes]


class SoftAuthenticator(CtapDevice):
    """A CTAP2 authenticator whose state lives in a key file (see the package docstring).

    Make one with `create` (a new key file) or `load` (an existing one); hand it to
    `fido2.client.Fido2Client`, or use `soft_client`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)
        self._state = read_key_file(self._path)
        self._pin = ClientPinService()
        self._pending: _PendingAssertions | None = None

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        *,
        pin: str | None = None,
        aaguid: Aaguid | None = None,
        attestation: AttestationIdentity | None = None,
        backup_eligible: bool = False,
        algorithms: Sequence[int] = (ES256.ALGORITHM,),
    ) -> SoftAuthenticator:
        """Create a new key file (mode 0600; an existing file is never overwritten).

        With `pin`, the key verifies users by PIN (at least 4 characters, at most 63
        bytes); without, it cannot verify users at all. The defaults are a self-attesting,
        device-bound ES256 key with the soft AAGUID. `attestation` makes it attest like a
        vendor's key (x5c chain); `aaguid` defaults to the one its certificate names.
        `backup_eligible` makes it look like a synced passkey (BE and BS flags).
        `algorithms` are the credential algorithms it supports, in its order.
        """
        if pin is not None and (len(pin) < 4 or len(pin.encode()) > 63):
            raise SoftKeyError("a PIN must have at least 4 characters and at most 63 bytes")
        profile = KeyProfile.make(
            aaguid=aaguid,
            attestation=attestation,
            backup_eligible=backup_eligible,
            algorithms=algorithms,
        )
        state = KeyState(
            pin_hash=None if pin is None else sha256(pin.encode())[:16],
            pin_retries=PIN_RETRIES,
            credentials=[],
            profile=profile,
        )
        create_key_file(Path(path), encode_state(state))
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

    @property
    def profile(self) -> KeyProfile:
        """The model the key claims to be: AAGUID, algorithms, backup flags, attestation."""
        return self._state.profile

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
        create_key_file(Path(path), encode_state(self._state))
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
            raise CtapError(ERR.INVALID_COMMAND)  # what a CTAPHID error frame raises
        if event is not None and event.is_set():
            return bytes([ERR.KEEPALIVE_CANCEL])
        if not data:
            return bytes([ERR.INVALID_LENGTH])
        try:
            response = self._dispatch(data[0], decode_params(data[1:]), on_keepalive)
        except CtapError as exc:
            return bytes([exc.code])
        return b"\x00" + (cbor.encode(response) if response else b"")

    # -- commands ------------------------------------------------------------------------

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
            return self._pin.command(params, state=self._state, save=self._save)
        raise CtapError(ERR.INVALID_COMMAND)

    def _get_info(self) -> Mapping[int, Any]:
        return self._state.profile.get_info(pin_protocols=list(PROTOCOLS) if self.has_pin else [])

    def _check_uv(
        self,
        params: Mapping[int, Any],
        *,
        param_key: int,
        client_data_hash: bytes,
        permission: int,
        rp_id: str,
    ) -> bool:
        return self._pin.check_pin_uv_auth(
            params,
            state=self._state,
            param_key=param_key,
            protocol_key=param_key + 1,
            client_data_hash=client_data_hash,
            permission=permission,
            rp_id=rp_id,
        )

    def _make_credential(
        self, params: Mapping[int, Any], on_keepalive: Callable[[STATUS], None] | None
    ) -> Mapping[int, Any]:
        client_data_hash = param(params, 1, bytes)
        rp = param(params, 2, Mapping)
        user = param(params, 3, Mapping)
        key_params = param(params, 4, list)
        exclude_list = param(params, 5, list, required=False) or []
        options = param(params, 7, Mapping, required=False) or {}
        rp_id = param(rp, "id", str)
        user_id = param(user, "id", bytes)
        if not 0 < len(user_id) <= _MAX_USER_ID_LENGTH:
            raise CtapError(ERR.INVALID_PARAMETER)
        algorithm = self._state.profile.choose_algorithm(key_params)
        if options.get("uv") or options.get("up") is False:
            raise CtapError(ERR.INVALID_OPTION)  # no built-in UV; UP is mandatory here
        resident = options.get("rk") is True

        uv = self._check_uv(
            params,
            param_key=8,
            client_data_hash=client_data_hash,
            permission=MAKE_CREDENTIAL,
            rp_id=rp_id,
        )
        if not uv and self.has_pin:
            raise CtapError(ERR.PUAT_REQUIRED)
        excluded = any(
            isinstance(d, Mapping) and self._find(rp_id, d.get("id")) for d in exclude_list
        )
        self._touch(on_keepalive)
        if excluded:
            raise CtapError(ERR.CREDENTIAL_EXCLUDED)

        private_key, public_key = algorithms.generate(algorithm)
        credential = StoredCredential(
            credential_id=secrets.token_bytes(32),
            rp_id=rp_id,
            private_key=private_key,
            sign_count=0,
            discoverable=resident,
            user=None if not resident else user_entity(user, user_id),
            algorithm=algorithm,
        )
        if resident:  # one resident credential per (RP, user): the new one replaces it
            self._state.credentials = [
                c
                for c in self._state.credentials
                if not (c.discoverable and c.rp_id == rp_id and c.user and c.user["id"] == user_id)
            ]
        self._state.credentials.append(credential)
        self._save()

        flags = (
            self._state.profile.backup_flags()
            | AuthenticatorData.FLAG.UP
            | AuthenticatorData.FLAG.AT
        )
        if uv:
            flags |= AuthenticatorData.FLAG.UV
        auth_data = AuthenticatorData.create(
            sha256(rp_id.encode()),
            flags,
            credential.sign_count,
            AttestedCredentialData.create(
                bytes(self._state.profile.aaguid), credential.credential_id, public_key
            ),
        )
        statement = packed_statement(
            signed=auth_data + client_data_hash,
            credential_algorithm=algorithm,
            credential_key=private_key,
            identity=self._state.profile.attestation,
        )
        return {1: "packed", 2: bytes(auth_data), 3: statement}

    def _get_assertion(
        self, params: Mapping[int, Any], on_keepalive: Callable[[STATUS], None] | None
    ) -> Mapping[int, Any]:
        rp_id = param(params, 1, str)
        client_data_hash = param(params, 2, bytes)
        allow_list = param(params, 3, list, required=False)
        options = param(params, 5, Mapping, required=False) or {}
        if "rk" in options:
            raise CtapError(ERR.UNSUPPORTED_OPTION)
        if options.get("uv"):
            raise CtapError(ERR.INVALID_OPTION)  # no built-in UV: use the PIN
        user_present = options.get("up") is not False

        uv = self._check_uv(
            params,
            param_key=6,
            client_data_hash=client_data_hash,
            permission=GET_ASSERTION,
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
            raise CtapError(ERR.NO_CREDENTIALS)

        flags = self._state.profile.backup_flags()
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
            raise CtapError(ERR.NOT_ALLOWED)
        self._reload()
        credential = self._find(pending.rp_id, pending.credential_ids.pop(0))
        if credential is None:
            raise CtapError(ERR.NO_CREDENTIALS)
        return self._assert(
            credential, pending.rp_id, pending.client_data_hash, pending.flags, pending.uv
        )

    def _assert(
        self,
        credential: StoredCredential,
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

    def _find(self, rp_id: str, credential_id: object) -> StoredCredential | None:
        for credential in self._state.credentials:
            if credential.rp_id == rp_id and credential.credential_id == credential_id:
                return credential
        return None

    # -- plumbing ----------------------------------------------------------------------------

    @staticmethod
    def _touch(on_keepalive: Callable[[STATUS], None] | None) -> None:
        """User presence: a software key is always touched, at once."""
        if on_keepalive is not None:
            on_keepalive(STATUS.UPNEEDED)

    def _reload(self) -> None:
        self._state = read_key_file(self._path)

    def _save(self) -> None:
        replace_key_file(self._path, encode_state(self._state))
