"""The soft key's file: its JSON format and its private, atomic writes.

The key file is JSON (bytes as standard base64) holding the private keys, counters,
resident-key user entities, the PIN hash and the key's profile (AAGUID, algorithms, backup
eligibility, attestation key and certificates); it is the secret. Files written before the
profile existed load as today's defaults: the soft AAGUID, ES256, self attestation.

It is created with mode 0600, every update replaces it atomically (a 0600 temp file in the
same directory, fsync, `os.replace`), and a file that its group or others may access, or
that another user owns, is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from fido2.cose import ES256
from fido2.webauthn import Aaguid

from tapgate.authenticators.soft import algorithms
from tapgate.authenticators.soft.attestation import AttestationIdentity
from tapgate.authenticators.soft.errors import (
    SoftKeyError,
    SoftKeyFileError,
    SoftKeyPermissionError,
)
from tapgate.authenticators.soft.profile import KeyProfile

PIN_RETRIES: Final = 8

_FORMAT: Final = "tapgate-soft-key/1"
_MAX_FILE_BYTES: Final = 1 << 20


@dataclass
class StoredCredential:
    credential_id: bytes
    rp_id: str
    private_key: bytes  # PKCS#8 DER
    sign_count: int
    discoverable: bool
    user: dict[str, Any] | None  # {"id": bytes, "name"?: str, "displayName"?: str}
    algorithm: int = ES256.ALGORITHM

    def sign(self, message: bytes) -> bytes:
        return algorithms.sign(self.algorithm, self.private_key, message)


def user_entity(user: Mapping[Any, Any], user_id: bytes) -> dict[str, Any]:
    """What a resident credential keeps of the RP's user entity: id and names."""
    entity: dict[str, Any] = {"id": user_id}
    for name in ("name", "displayName"):
        if isinstance(user.get(name), str):
            entity[name] = user[name]
    return entity


@dataclass
class KeyState:
    """Everything the key file holds; the device re-reads it before each command."""

    pin_hash: bytes | None  # LEFT(SHA-256(PIN), 16), what clientPIN compares
    pin_retries: int
    credentials: list[StoredCredential]
    profile: KeyProfile = field(default_factory=KeyProfile)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise TypeError("expected a base64 string")
    return base64.b64decode(text, validate=True)


def encode_state(state: KeyState) -> bytes:
    def user(entity: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if entity is None else {**entity, "id": _b64(entity["id"])}

    profile = state.profile
    identity = profile.attestation
    document = {
        "format": _FORMAT,
        "aaguid": str(profile.aaguid),
        "algorithms": list(profile.algorithms),
        "backupEligible": profile.backup_eligible,
        "attestation": None
        if identity is None
        else {
            "privateKey": _b64(identity.private_key),
            "x5c": [_b64(der) for der in identity.certificates],
        },
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
                "alg": c.algorithm,
            }
            for c in state.credentials
        ],
    }
    return json.dumps(document, indent=2).encode() + b"\n"


def decode_state(raw: bytes, path: Path) -> KeyState:
    try:
        document = json.loads(raw)
        if document.get("format") != _FORMAT:
            raise ValueError(f"format is not {_FORMAT}")
        pin = document["pin"]
        credentials = []
        for item in document["credentials"]:
            user = item["user"]
            credentials.append(
                StoredCredential(
                    credential_id=_unb64(item["id"]),
                    rp_id=str(item["rpId"]),
                    private_key=_unb64(item["privateKey"]),
                    sign_count=int(item["signCount"]),
                    discoverable=bool(item["discoverable"]),
                    user=None if user is None else {**user, "id": _unb64(user["id"])},
                    algorithm=_integer(item.get("alg", ES256.ALGORITHM)),
                )
            )
        return KeyState(
            pin_hash=None if pin is None else _unb64(pin["hash"]),
            pin_retries=PIN_RETRIES if pin is None else int(pin["retries"]),
            credentials=credentials,
            profile=_decode_profile(document).checked(),
        )
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise SoftKeyFileError(f"{path} is not a tapgate soft key file: {exc}") from exc
    except SoftKeyError as exc:
        raise SoftKeyFileError(f"{path} is not a usable tapgate soft key file: {exc}") from exc


def _integer(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _decode_profile(document: dict[str, Any]) -> KeyProfile:
    """The profile fields; each absent one (a file from before they existed) is the default."""
    default = KeyProfile()
    identity = document.get("attestation")
    backup_eligible = document.get("backupEligible", False)
    if not isinstance(backup_eligible, bool):
        raise TypeError("backupEligible must be true or false")
    return KeyProfile(
        aaguid=Aaguid.parse(str(document.get("aaguid", str(default.aaguid)))),
        algorithms=tuple(_integer(a) for a in document.get("algorithms", default.algorithms)),
        backup_eligible=backup_eligible,
        attestation=None
        if identity is None
        else AttestationIdentity(
            private_key=_unb64(identity["privateKey"]),
            certificates=tuple(_unb64(der) for der in identity["x5c"]),
        ),
    )


def read_key_file(path: Path) -> KeyState:
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
    return decode_state(raw, path)


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


def create_key_file(path: Path, data: bytes) -> None:
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


def replace_key_file(path: Path, data: bytes) -> None:
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        _write_fd(fd, data)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)
