"""What model a soft key claims to be, and what follows from it in each ceremony.

Fixed when the key file is made: the AAGUID, the credential algorithms (in the key's order
of preference), backup eligibility, and the attestation identity (None: self attestation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from fido2.cose import ES256
from fido2.ctap import CtapError
from fido2.webauthn import Aaguid, AuthenticatorData

from tapgate.authenticators.soft import algorithms
from tapgate.authenticators.soft.attestation import AttestationIdentity
from tapgate.authenticators.soft.errors import SoftKeyError

AAGUID: Final = Aaguid(b"tapgate soft key")
MAX_CRED_ID_LENGTH: Final = 64
_MAX_MSG_SIZE: Final = 2048
_MAX_CREDS_IN_LIST: Final = 8


@dataclass(frozen=True)
class KeyProfile:
    """`algorithms` in the key's order: makeCredential takes the first the RP offers that is
    in this list. `backup_eligible` sets the BE and BS flags, as a synced passkey does."""

    aaguid: Aaguid = AAGUID
    algorithms: tuple[int, ...] = (ES256.ALGORITHM,)
    backup_eligible: bool = False
    attestation: AttestationIdentity | None = None

    @classmethod
    def make(
        cls,
        *,
        aaguid: Aaguid | None,
        attestation: AttestationIdentity | None,
        backup_eligible: bool,
        algorithms: Sequence[int],
    ) -> KeyProfile:
        """A checked profile; the AAGUID defaults to the one the attestation certifies."""
        if aaguid is None:
            certified = attestation.certified_aaguid() if attestation is not None else None
            aaguid = certified or AAGUID
        return cls(
            aaguid=Aaguid(bytes(aaguid)),
            algorithms=tuple(algorithms),
            backup_eligible=backup_eligible,
            attestation=attestation,
        ).checked()

    def checked(self) -> KeyProfile:
        """Refuse a profile no real key could have (see `AttestationIdentity`)."""
        algorithms.check_algorithms(self.algorithms)
        if self.attestation is not None:
            certified = self.attestation.certified_aaguid()
            if certified is not None and certified != self.aaguid:
                raise SoftKeyError(
                    f"the attestation certificate names AAGUID {certified}, "
                    f"not the key's {self.aaguid}"
                )
        return self

    def choose_algorithm(self, key_params: list[Any]) -> int:
        """The first algorithm the RP offers (its order of preference) that the key has."""
        for offered in key_params:
            if not isinstance(offered, Mapping) or offered.get("type") != "public-key":
                continue
            alg = offered.get("alg")
            if isinstance(alg, int) and not isinstance(alg, bool) and alg in self.algorithms:
                return alg
        raise CtapError(CtapError.ERR.UNSUPPORTED_ALGORITHM)

    def backup_flags(self) -> AuthenticatorData.FLAG:
        """BE and BS for a backup-eligible (synced-passkey-like) key, none otherwise."""
        if self.backup_eligible:
            return AuthenticatorData.FLAG.BE | AuthenticatorData.FLAG.BS
        return AuthenticatorData.FLAG(0)

    def get_info(self, *, pin_protocols: list[int]) -> dict[int, Any]:
        """authenticatorGetInfo: a USB key with resident keys; clientPIN only with a PIN."""
        options = {"rk": True, "up": True, "plat": False}
        info: dict[int, Any] = {
            1: ["FIDO_2_0", "FIDO_2_1"],
            3: bytes(self.aaguid),
            4: options,
            5: _MAX_MSG_SIZE,
            7: _MAX_CREDS_IN_LIST,
            8: MAX_CRED_ID_LENGTH,
            9: ["usb"],
            10: [{"alg": alg, "type": "public-key"} for alg in self.algorithms],
        }
        if pin_protocols:
            options.update(clientPin=True, pinUvAuthToken=True)
            info[6] = pin_protocols
        return info
