"""Authenticator assurance: how much a registered key is worth, from attestation and metadata.

Three levels, weakest first:

- `synced`: the key is backup-eligible (BE flag): it may be copied to other devices, such
  as a passkey in a cloud keychain.
- `device-bound`: not backup-eligible, but nothing proves which model made it: no
  attestation, self attestation, a format tapgate does not verify, a chain to no root the
  metadata publishes for it, or a model whose status is compromised.
- `certified`: not backup-eligible, and its attestation statement verifies (python-fido2's
  packed, fido-u2f, tpm and apple verifiers) up to a root that the FIDO Metadata Service
  (MDS3) publishes for the key's AAGUID (or, for U2F keys without one, for its attestation
  certificate), and no status report of that model is a compromise.

The AAGUID and the authenticator's name are reported only when the attestation verified:
otherwise they are whatever the client claimed. A model counts as compromised when any of
its status reports says so (not only the latest: a later UPDATE_AVAILABLE does not tell
whether this key was updated). python-fido2 2.2.1 has no android-key verifier, so such keys
are device-bound. Certificate validity periods are not checked (python-fido2 does not;
attestation certificates of keys in use routinely outlive them).

A key's level is decided at registration and re-evaluated against newer metadata
(`reassess`): it can lose `certified`, never gain it (the attestation is not kept).
"""

from __future__ import annotations

import datetime as dt
import struct
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature as CryptographyInvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm
from fido2.attestation import (
    AppleAttestation,
    FidoU2FAttestation,
    PackedAttestation,
    TpmAttestation,
)
from fido2.attestation.base import InvalidAttestation
from fido2.mds3 import (
    AuthenticatorStatus,
    MdsAttestationVerifier,
    MetadataBlobPayload,
    MetadataBlobPayloadEntry,
)
from fido2.webauthn import Aaguid, AttestationObject, AuthenticatorData


class AssuranceLevel(StrEnum):
    SYNCED = "synced"
    DEVICE_BOUND = "device-bound"
    CERTIFIED = "certified"

    def satisfies(self, required: AssuranceLevel) -> bool:
        """At least as strong as `required` (certified > device-bound > synced)."""
        return _RANK[self] >= _RANK[required]


_RANK: Final = {
    AssuranceLevel.SYNCED: 0,
    AssuranceLevel.DEVICE_BOUND: 1,
    AssuranceLevel.CERTIFIED: 2,
}
COMPROMISED_STATUSES: Final = frozenset(
    {
        AuthenticatorStatus.REVOKED,
        AuthenticatorStatus.ATTESTATION_KEY_COMPROMISE,
        AuthenticatorStatus.USER_VERIFICATION_BYPASS,
        AuthenticatorStatus.USER_KEY_REMOTE_COMPROMISE,
        AuthenticatorStatus.USER_KEY_PHYSICAL_COMPROMISE,
    }
)
# The statement formats whose verification counts (python-fido2's verifiers).
VERIFIED_FORMATS: Final = ("packed", "fido-u2f", "tpm", "apple")
# What python-fido2's verifiers raise on a statement that does not verify, or that is not
# shaped as its format says (hostile CBOR reaches them as-is).
_NOT_VERIFIED: Final = (
    InvalidAttestation,
    NotImplementedError,  # packed ECDAA
    CryptographyInvalidSignature,
    UnsupportedAlgorithm,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    OverflowError,
    struct.error,
)


@dataclass(frozen=True)
class Assurance:
    """A key's level, and what its attestation proved (None when it proved nothing).

    `aaguid`: the attested model (None for U2F keys, which have none); `key_identifier`:
    the SHA-1 key identifier of the attestation certificate under which the metadata lists
    a model without AAGUID; `authenticator`: the model's description in the metadata;
    `status`: the model's latest status report. `reason` says why the level is what it is,
    for logs and the audit trail.
    """

    level: AssuranceLevel
    reason: str
    aaguid: Aaguid | None = None
    key_identifier: bytes | None = None
    authenticator: str | None = None
    status: str | None = None

    @property
    def attested(self) -> bool:
        return self.authenticator is not None


class MetadataIndex:
    """A verified blob's entries, indexed once (by AAGUID and by key identifier)."""

    def __init__(self, payload: MetadataBlobPayload) -> None:
        self.no = payload.no
        # No filters: a revoked entry must still be found, so that its status is seen.
        self._verifier = MdsAttestationVerifier(
            payload,
            entry_filter=None,
            attestation_filter=None,
            attestation_types=[
                PackedAttestation(),
                FidoU2FAttestation(),
                TpmAttestation(),
                AppleAttestation(),
            ],
        )
        self._by_key_identifier = {
            identifier: entry
            for entry in payload.entries
            for identifier in entry.attestation_certificate_key_identifiers or ()
        }

    def verified_entry(
        self, attestation_object: AttestationObject, client_data_hash: bytes
    ) -> MetadataBlobPayloadEntry | None:
        """The entry whose root the attestation chains to; None if it chains to none.

        Raises what python-fido2's verifiers raise for a statement that does not verify.
        """
        return self._verifier.find_entry(attestation_object, client_data_hash)

    def by_aaguid(self, aaguid: Aaguid) -> MetadataBlobPayloadEntry | None:
        return self._verifier.find_entry_by_aaguid(aaguid)

    def by_key_identifier(self, identifier: bytes) -> MetadataBlobPayloadEntry | None:
        return self._by_key_identifier.get(identifier)


def assess_registration(
    *,
    attestation_object: AttestationObject,
    client_data_hash: bytes,
    metadata: MetadataIndex | None,
) -> Assurance:
    """The level of a newly registered key.

    Call it only after the registration itself verified (Fido2Server.register_complete):
    this checks the attestation statement, not the ceremony.
    """
    auth_data = attestation_object.auth_data
    entry, why = _attested_entry(attestation_object, client_data_hash, metadata)
    backup_eligible = bool(auth_data.flags & AuthenticatorData.FLAG.BE)
    if entry is None:
        level = AssuranceLevel.SYNCED if backup_eligible else AssuranceLevel.DEVICE_BOUND
        reason = "backup eligible" if backup_eligible else why
        return Assurance(level=level, reason=reason)
    attested = _attested(entry, auth_data, attestation_object)
    if backup_eligible:
        return replace(attested, level=AssuranceLevel.SYNCED, reason="backup eligible")
    return _judged(attested, entry)


def reassess(stored: Assurance, *, metadata: MetadataIndex | None) -> Assurance:
    """A stored key's level under newer metadata: it may lose `certified`, never gain it.

    Without metadata the stored level stands (nothing newer is known). A model the newer
    metadata no longer lists, or lists with a compromise status, is `device-bound`.
    """
    if stored.level is not AssuranceLevel.CERTIFIED or metadata is None:
        return stored
    entry = None
    if stored.aaguid is not None:
        entry = metadata.by_aaguid(stored.aaguid)
    elif stored.key_identifier is not None:
        entry = metadata.by_key_identifier(stored.key_identifier)
    if entry is None:
        return replace(
            stored,
            level=AssuranceLevel.DEVICE_BOUND,
            reason=f"the model is not in metadata no {metadata.no}",
        )
    return _judged(replace(stored, status=_latest_status(entry)), entry)


def _attested_entry(
    attestation_object: AttestationObject,
    client_data_hash: bytes,
    metadata: MetadataIndex | None,
) -> tuple[MetadataBlobPayloadEntry | None, str]:
    """The metadata entry the attestation proves, or None and why not."""
    fmt = attestation_object.fmt
    statement = attestation_object.att_stmt
    if fmt == "none":
        return None, "no attestation"
    if fmt not in VERIFIED_FORMATS:
        return None, f"attestation format {fmt!r} is not verified"
    if not isinstance(statement, dict) or "x5c" not in statement:
        return None, "self attestation" if fmt == "packed" else "attestation without x5c"
    if metadata is None:
        return None, "no verified metadata"
    try:
        entry = metadata.verified_entry(attestation_object, client_data_hash)
    except _NOT_VERIFIED as exc:
        return None, f"attestation statement does not verify: {type(exc).__name__}"
    if entry is None:
        return None, "attestation chains to no root the metadata publishes for this model"
    return entry, ""


def _attested(
    entry: MetadataBlobPayloadEntry,
    auth_data: AuthenticatorData,
    attestation_object: AttestationObject,
) -> Assurance:
    credential = auth_data.credential_data
    aaguid = credential.aaguid if credential is not None and credential.aaguid else None
    statement = entry.metadata_statement
    return Assurance(
        level=AssuranceLevel.CERTIFIED,
        reason="attested",
        aaguid=aaguid,
        key_identifier=None if aaguid else _listed_identifier(entry, attestation_object),
        authenticator=statement.description if statement is not None else "unnamed",
        status=_latest_status(entry),
    )


def _judged(attested: Assurance, entry: MetadataBlobPayloadEntry) -> Assurance:
    """Certified unless a status report of the model says it is compromised."""
    compromised = [r for r in entry.status_reports if r.status in COMPROMISED_STATUSES]
    if not compromised:
        return replace(attested, level=AssuranceLevel.CERTIFIED, reason="attested")
    report = compromised[-1]
    since = f" since {report.effective_date.isoformat()}" if report.effective_date else ""
    return replace(
        attested,
        level=AssuranceLevel.DEVICE_BOUND,
        reason=f"model status {report.status.value}{since}",
    )


def _latest_status(entry: MetadataBlobPayloadEntry) -> str | None:
    if not entry.status_reports:
        return None
    dated = sorted(
        enumerate(entry.status_reports),
        key=lambda pair: (pair[1].effective_date or dt.date.min, pair[0]),
    )
    return str(dated[-1][1].status.value)


def _listed_identifier(
    entry: MetadataBlobPayloadEntry, attestation_object: AttestationObject
) -> bytes | None:
    """Which certificate of the attestation's x5c the entry lists by key identifier."""
    listed = set(entry.attestation_certificate_key_identifiers or ())
    for der in attestation_object.att_stmt.get("x5c", ()):
        certificate = x509.load_der_x509_certificate(der)
        identifier = x509.SubjectKeyIdentifier.from_public_key(certificate.public_key()).digest
        if identifier in listed:
            return identifier
    return None
