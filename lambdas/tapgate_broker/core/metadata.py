"""FIDO MDS3 metadata: a blob counts only when it is signed under the trust root and fresh.

python-fido2's `parse_blob` checks the JWT: its x5c chain up to the trust root, signature by
signature, then the blob's signature with the leaf's key. It leaves the rest to the caller,
and this module adds it:

- the certificates' validity periods at the time of checking, and that every certificate
  after the leaf is a CA (fido2 checks signatures only, so any end-entity certificate
  under the root could otherwise sign a blob);
- for the FIDO Alliance's roots, the leaf must be the MDS signer (`mds.fidoalliance.org`):
  the roots are public web CAs (GlobalSign Root R46 and Root CA - R3), under which anyone
  can buy a certificate for their own name;
- several roots: python-fido2 checks the x5c in order up to the one root it is given, so
  during a root rotation (the FIDO Alliance's of August 2026) each root is tried;
- `nextUpdate` must not have passed, and the serial `no` must grow over the blob it
  replaces (a refresh may not roll metadata back to a version before a revocation);
- a size bound before anything is parsed.

Pure: stdlib, fido2 and cryptography, no I/O; the clock's reading is passed in.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import json
import struct
import typing
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Final, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature as CryptographyInvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from fido2 import utils as fido2_utils
from fido2.attestation.base import InvalidAttestation
from fido2.mds3 import MetadataBlobPayload, parse_blob
from fido2.utils import websafe_decode

# The published FIDO MDS3 blob is a few MB (its entries carry PNG icons); a bound well above.
MAX_BLOB_BYTES: Final = 32 * 1024 * 1024
DEFAULT_BLOB_URL: Final = "https://mds3.fidoalliance.org/"
# The name the FIDO Alliance's blob signer certificate is issued to.
FIDO_MDS_SIGNER_NAMES: Final = frozenset({"mds.fidoalliance.org"})

_ROOT_PACKAGE: Final = "tapgate_broker.metadata_roots"
_ROOT_FILES: Final = ("globalsign-root-r46.pem", "globalsign-root-ca-r3.pem")
# What parse_blob raises on input that is not a well-formed MDS3 blob (not a bug).
_FORMAT_ERRORS: Final = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    NotImplementedError,
    RecursionError,
    OverflowError,
    struct.error,
    UnsupportedAlgorithm,
)


class MetadataError(Exception):
    """Root of metadata errors: the blob must not be used (or kept)."""


class MetadataFormatError(MetadataError):
    """Not a well-formed MDS3 blob, or larger than `MAX_BLOB_BYTES`."""


class MetadataSignatureError(MetadataError):
    """The blob's signature or certificate chain does not verify under the trust root."""


class MetadataStaleError(MetadataError):
    """The blob's `nextUpdate` has passed: a newer one should exist."""


class MetadataSerialError(MetadataError):
    """The blob's serial `no` does not grow over the blob it would replace."""


class MetadataRootError(MetadataError):
    """The configured trust root is not one PEM CA certificate."""


class MetadataDownloadError(MetadataError):
    """The blob could not be downloaded (network, HTTP status, size)."""


class MetadataStoreError(MetadataError):
    """The store of the current blob failed (a dependency, possibly transient)."""


class MetadataStoreConflictError(MetadataStoreError):
    """The current blob changed between reading it and replacing it."""


@dataclass(frozen=True)
class TrustRoot:
    """The certificates a blob may chain to (any one), and the names its signer may carry.

    `signer_names` None: any end-entity certificate under the root may sign (a private
    root that issues nothing else).
    """

    certificates: tuple[bytes, ...]  # DER
    signer_names: frozenset[str] | None = None


@dataclass(frozen=True)
class VerifiedMetadata:
    """A blob that passed every check, parsed by python-fido2."""

    payload: MetadataBlobPayload
    no: int
    next_update: dt.date


@dataclass(frozen=True)
class StoredBlob:
    """The current blob as the store holds it; `version` makes a replacement conditional."""

    raw: bytes
    version: str


class MetadataStore(Protocol):
    """Where the current verified blob lives (S3 in the stack)."""

    def read(self) -> StoredBlob | None:
        """The current blob, None if there is none; raises `MetadataStoreError`."""
        ...

    def replace(self, raw: bytes, *, no: int, previous: StoredBlob | None) -> None:
        """Store `raw` only if the current blob is still `previous` (None: no blob yet);
        raises `MetadataStoreConflictError` otherwise, `MetadataStoreError` on failure."""
        ...


def fido_mds_root() -> TrustRoot:
    """The FIDO Alliance's MDS roots shipped as package data, bound to its signer's name."""
    package = resources.files(_ROOT_PACKAGE)
    return TrustRoot(
        certificates=tuple(_ca_from_pem(package.joinpath(f).read_bytes()) for f in _ROOT_FILES),
        signer_names=FIDO_MDS_SIGNER_NAMES,
    )


def trust_root_from_pem(pem: bytes | str) -> TrustRoot:
    """A configured root (`metadataRoot`): exactly one PEM CA certificate."""
    return TrustRoot(certificates=(_ca_from_pem(pem.encode() if isinstance(pem, str) else pem),))


def _ca_from_pem(pem: bytes) -> bytes:
    try:
        certificates = x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise MetadataRootError(f"the metadata root is not a PEM certificate: {exc}") from exc
    if len(certificates) != 1:
        raise MetadataRootError(
            f"the metadata root must be one PEM certificate, found {len(certificates)}"
        )
    if not _is_ca(certificates[0]):
        raise MetadataRootError("the metadata root certificate is not a CA certificate")
    return certificates[0].public_bytes(serialization.Encoding.DER)


def verify_metadata(
    raw: bytes,
    *,
    root: TrustRoot,
    now: dt.datetime,
    previous_no: int | None = None,
    require_fresh: bool = True,
) -> VerifiedMetadata:
    """Check a downloaded or stored blob; raise a `MetadataError` subclass if it fails.

    `now` is aware (UTC). `previous_no`: the serial of the blob this one would replace
    (None when there is none, or when only reading). `require_fresh=False` skips the
    nextUpdate check, to read the serial of the blob a refresh would replace.
    """
    if not isinstance(raw, bytes) or len(raw) > MAX_BLOB_BYTES:
        raise MetadataFormatError(f"a metadata blob is bytes of at most {MAX_BLOB_BYTES}")
    payload, anchor = _parse_under_any(raw, root)
    # parse_blob verified the signatures; the chain must also be valid now, CAs above the
    # leaf, and the leaf the expected signer.
    _check_chain([*_header_chain(raw), anchor], root=root, now=now)
    today = now.astimezone(dt.UTC).date()
    if require_fresh and payload.next_update < today:
        raise MetadataStaleError(
            f"blob no {payload.no} has nextUpdate {payload.next_update.isoformat()}, "
            f"before today ({today.isoformat()})"
        )
    if previous_no is not None and payload.no <= previous_no:
        raise MetadataSerialError(
            f"blob no {payload.no} does not grow over the current blob's no {previous_no}"
        )
    return VerifiedMetadata(payload=payload, no=payload.no, next_update=payload.next_update)


def _parse_under_any(raw: bytes, root: TrustRoot) -> tuple[MetadataBlobPayload, bytes]:
    """parse_blob under the first of the root's certificates the x5c chains to."""
    failure: Exception | None = None
    for anchor in root.certificates:
        try:
            with _type_hints_memoized():
                return parse_blob(raw, anchor), anchor
        except (InvalidAttestation, CryptographyInvalidSignature) as exc:
            failure = exc  # perhaps the next root
        except _FORMAT_ERRORS as exc:
            raise MetadataFormatError(f"not an MDS3 blob: {exc!r}") from exc
    raise MetadataSignatureError(
        f"the blob's signature or chain does not verify under the trust root: {failure!r}"
    ) from failure


_memoized_type_hints = functools.cache(typing.get_type_hints)


@contextmanager
def _type_hints_memoized() -> Iterator[None]:
    """python-fido2's `from_dict` evaluates a class's type hints anew for every object it
    builds (`fido2.utils.get_type_hints`), and a full blob builds thousands: 300 entries took
    10.6 s to parse instead of 1.7 s (measured on this project's loaded 2-core machine). A
    class's hints never change, so they are memoized while a blob is parsed, and fido2 is
    left as it was afterwards (the broker's other paths are not this module's to change)."""
    original = fido2_utils.get_type_hints
    fido2_utils.get_type_hints = _memoized_type_hints  # type: ignore[assignment]
    try:
        yield
    finally:
        fido2_utils.get_type_hints = original


def _header_chain(raw: bytes) -> list[bytes]:
    """The JWT header's x5c, as DER (parse_blob already decoded it once without error)."""
    try:
        header = json.loads(websafe_decode(raw.split(b".", 1)[0]))
        return [base64.b64decode(der) for der in header.get("x5c", [])]
    except (*_FORMAT_ERRORS, binascii.Error) as exc:  # unreachable after parse_blob
        raise MetadataFormatError(f"not an MDS3 blob header: {exc!r}") from exc


def _check_chain(chain: list[bytes], *, root: TrustRoot, now: dt.datetime) -> None:
    try:
        certificates = [x509.load_der_x509_certificate(der) for der in chain]
    except ValueError as exc:  # unreachable after parse_blob
        raise MetadataSignatureError(f"a chain certificate is unreadable: {exc}") from exc
    for certificate in certificates:
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise MetadataSignatureError(
                f"certificate {certificate.subject.rfc4514_string()} is not valid at "
                f"{now.isoformat()} (valid {certificate.not_valid_before_utc.isoformat()} to "
                f"{certificate.not_valid_after_utc.isoformat()})"
            )
    for certificate in certificates[1:]:
        if not _is_ca(certificate):
            raise MetadataSignatureError(
                f"certificate {certificate.subject.rfc4514_string()} signs another but is "
                "not a CA certificate"
            )
    if root.signer_names is not None and not _names_match(certificates[0], root.signer_names):
        raise MetadataSignatureError(
            f"the blob signer {certificates[0].subject.rfc4514_string()} is none of "
            f"{sorted(root.signer_names)}"
        )


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    return constraints.value.ca


def _names_match(certificate: x509.Certificate, expected: Collection[str]) -> bool:
    """The certificate is for one of `expected`: a DNS subjectAltName (a leading `*.`
    covers one label), or the common name when it has no subjectAltName."""
    try:
        alt_names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = alt_names.value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = [
            str(a.value)
            for a in certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        ]
    for name in (n.lower() for n in names):
        for wanted in expected:
            if name == wanted:
                return True
            if name.startswith("*.") and wanted.split(".", 1)[-1] == name[2:]:
                return True
    return False
