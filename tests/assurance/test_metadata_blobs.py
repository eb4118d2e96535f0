"""Checking an MDS3 blob: python-fido2's signature and chain verification, plus what tapgate
adds (validity now, CAs above the leaf, the signer's name, nextUpdate, a growing serial, a
size bound). Each refusal changes one thing from a good blob."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tapgate_broker.core.metadata import (
    FIDO_MDS_SIGNER_NAMES,
    MAX_BLOB_BYTES,
    MetadataError,
    MetadataFormatError,
    MetadataRootError,
    MetadataSerialError,
    MetadataSignatureError,
    MetadataStaleError,
    TrustRoot,
    fido_mds_root,
    trust_root_from_pem,
    verify_metadata,
)
from tests.assurance.conftest import NEXT_UPDATE, NOW
from tests.assurance.pki import Pki, cross_certify, issue, mds_blob, metadata_entry, root

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mds"
# The fingerprints GlobalSign publishes (and Mozilla's root store lists).
GLOBALSIGN_R46_SHA256 = "4FA3126D8D3A11D1C4855A4F807CBAD6CF919D3A5A88B03BEA2C6372D93C40C9"
GLOBALSIGN_R3_SHA256 = "CBB522D7B7F127AD6A0113865BDF1CD4102E7D0759AF635A7CF4720DC963C53B"


@pytest.fixture(scope="module")
def entries(pki: Pki) -> list[dict]:
    return [metadata_entry(aaguid=None, roots=[pki.attestation_root], description="a model")]


def _blob(pki: Pki, entries, *, no: int = 7, next_update: dt.date = NEXT_UPDATE, **kw) -> bytes:
    signer = kw.pop("signer", pki.blob_signer)
    return mds_blob(signer=signer, entries=entries, no=no, next_update=next_update, **kw)


def test_a_good_blob_is_verified_and_parsed(pki, trust_root, entries):
    verified = verify_metadata(_blob(pki, entries), root=trust_root, now=NOW, previous_no=6)

    assert (verified.no, verified.next_update) == (7, NEXT_UPDATE)
    assert [e.metadata_statement.description for e in verified.payload.entries] == ["a model"]


def test_a_blob_with_one_changed_signature_byte_is_refused(pki, trust_root, entries):
    raw = _blob(pki, entries)
    message, signature = raw.rsplit(b".", 1)
    changed = signature[:10] + (b"A" if signature[10:11] != b"A" else b"B") + signature[11:]

    with pytest.raises(MetadataSignatureError):
        verify_metadata(message + b"." + changed, root=trust_root, now=NOW)


def test_a_blob_with_a_changed_payload_is_refused(pki, trust_root, entries):
    header, _, signature = _blob(pki, entries, no=7).split(b".")
    _, forged_payload, _ = _blob(pki, entries, no=8).split(b".")

    with pytest.raises(MetadataSignatureError):
        verify_metadata(b".".join([header, forged_payload, signature]), root=trust_root, now=NOW)


def test_a_blob_signed_under_another_root_is_refused(pki, trust_root, entries):
    stranger_root = pki.other_root
    stranger = issue(stranger_root, "another signer", rsa_key=True)

    with pytest.raises(MetadataSignatureError):
        verify_metadata(_blob(pki, entries, signer=stranger), root=trust_root, now=NOW)


def test_a_blob_signed_by_an_end_entity_certificate_under_the_root_is_refused(
    pki, trust_root, entries
):
    """fido2 checks only signatures: a leaf that is not a CA must not vouch for a signer."""
    not_a_ca = issue(pki.metadata_root, "someone's end-entity certificate", rsa_key=True)
    signer = issue(not_a_ca, "signer under a non-CA", rsa_key=True)

    with pytest.raises(MetadataSignatureError, match="not a CA"):
        verify_metadata(
            _blob(pki, entries, signer=signer, chain=[not_a_ca]), root=trust_root, now=NOW
        )


def test_a_blob_from_an_expired_signer_is_refused(pki, trust_root, entries):
    expired = issue(
        pki.metadata_root, "expired signer", rsa_key=True, not_after=NOW - dt.timedelta(days=1)
    )

    with pytest.raises(MetadataSignatureError, match="not valid at"):
        verify_metadata(_blob(pki, entries, signer=expired), root=trust_root, now=NOW)


def test_a_blob_whose_next_update_has_passed_is_refused(pki, trust_root, entries):
    yesterday = NOW.date() - dt.timedelta(days=1)

    with pytest.raises(MetadataStaleError, match="nextUpdate"):
        verify_metadata(_blob(pki, entries, next_update=yesterday), root=trust_root, now=NOW)


def test_a_blob_due_for_update_today_is_still_good(pki, trust_root, entries):
    raw = _blob(pki, entries, next_update=NOW.date())

    assert verify_metadata(raw, root=trust_root, now=NOW).next_update == NOW.date()


@pytest.mark.parametrize("previous", [7, 8])
def test_a_blob_whose_serial_does_not_grow_is_refused(pki, trust_root, entries, previous):
    with pytest.raises(MetadataSerialError, match="does not grow"):
        verify_metadata(_blob(pki, entries, no=7), root=trust_root, now=NOW, previous_no=previous)


def test_the_signer_must_carry_the_expected_name(pki, entries):
    named = issue(pki.metadata_root, "signer", rsa_key=True, dns_names=["mds.example.test"])
    wildcard = issue(pki.metadata_root, "signer", rsa_key=True, dns_names=["*.example.test"])
    other = issue(pki.metadata_root, "signer", rsa_key=True, dns_names=["evil.example.org"])
    root = TrustRoot((pki.metadata_root.der,), signer_names=frozenset({"mds.example.test"}))

    for signer in (named, wildcard):
        verify_metadata(_blob(pki, entries, signer=signer), root=root, now=NOW)
    with pytest.raises(MetadataSignatureError, match=r"mds\.example\.test"):
        verify_metadata(_blob(pki, entries, signer=other), root=root, now=NOW)
    with pytest.raises(MetadataSignatureError, match=r"mds\.example\.test"):  # no name at all
        verify_metadata(_blob(pki, entries), root=root, now=NOW)


def test_a_blob_larger_than_the_bound_is_refused_before_parsing(trust_root):
    with pytest.raises(MetadataFormatError, match="at most"):
        verify_metadata(b"x" * (MAX_BLOB_BYTES + 1), root=trust_root, now=NOW)


@pytest.mark.parametrize(
    "raw", [b"", b"not a jwt", b"a.b.c", b"e30.e30.", b"e30.e30.AAAA", b"\xff\xfe.\x00.\x01"]
)
def test_malformed_blobs_are_refused_as_format_or_signature_errors(trust_root, raw):
    with pytest.raises((MetadataFormatError, MetadataSignatureError)):
        verify_metadata(raw, root=trust_root, now=NOW)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_no_input_raises_anything_but_a_metadata_error(data):
    root = fido_mds_root()
    with contextlib.suppress(MetadataError):
        verify_metadata(data, root=root, now=NOW)


# -- a root rotation, as the FIDO Alliance's of August 2026 (GlobalSign R3 -> R46) ---------


@pytest.fixture(scope="module")
def rotation():
    """An old and a new root; the signer under an intermediate of the new root; the new
    root cross-certified by the old one."""
    old, new = root("old root"), root("new root")
    intermediate = issue(new, "intermediate of the new root", ca=True)
    signer = issue(intermediate, "signer", rsa_key=True, dns_names=["mds.example.test"])
    return old, new, intermediate, signer, cross_certify(new, by=old)


def _rotated_blob(signer, chain, entries) -> bytes:
    return mds_blob(signer=signer, entries=entries, no=7, next_update=NEXT_UPDATE, chain=chain)


def _roots(*authorities) -> TrustRoot:
    return TrustRoot(tuple(a.der for a in authorities), frozenset({"mds.example.test"}))


def test_during_a_rotation_a_blob_verifies_whichever_shipped_root_its_chain_ends_at(
    rotation, entries
):
    old, new, intermediate, signer, cross = rotation
    plain = _rotated_blob(signer, [intermediate], entries)  # ends at the new root
    bridged = _rotated_blob(signer, [intermediate, cross], entries)  # reaches the old one

    for raw in (plain, bridged):
        assert verify_metadata(raw, root=_roots(new, old), now=NOW).no == 7


def test_python_fido2_needs_the_root_the_chain_ends_at(rotation, entries):
    """It checks the x5c in order, without path building: hence both roots are shipped."""
    old, new, intermediate, signer, cross = rotation

    with pytest.raises(MetadataSignatureError):  # the break of August 2026 with R3 alone
        verify_metadata(_rotated_blob(signer, [intermediate], entries), root=_roots(old), now=NOW)
    with pytest.raises(MetadataSignatureError):  # the cross-certificate, with R46 alone
        verify_metadata(
            _rotated_blob(signer, [intermediate, cross], entries), root=_roots(new), now=NOW
        )


# -- the FIDO specification's example blob, recorded -----------------------------------------


def test_the_specifications_example_blob_verifies_but_is_long_stale():
    """A real MDS3 blob (the spec's example, signed under its test root): python-fido2
    verifies its signature; its nextUpdate (2020-03-30) has long passed."""
    raw = (FIXTURES / "fido-spec-example.jwt").read_bytes().strip()
    root = trust_root_from_pem((FIXTURES / "fido-spec-example-root.pem").read_bytes())

    with pytest.raises(MetadataStaleError, match="2020-03-30"):
        verify_metadata(raw, root=root, now=NOW)
    with pytest.raises(MetadataSignatureError):
        verify_metadata(raw, root=fido_mds_root(), now=NOW)


# -- trust roots ---------------------------------------------------------------------------


def test_the_shipped_roots_are_globalsign_r46_and_r3_bound_to_the_fido_signer():
    root = fido_mds_root()

    fingerprints = [hashlib.sha256(der).hexdigest().upper() for der in root.certificates]
    assert fingerprints == [GLOBALSIGN_R46_SHA256, GLOBALSIGN_R3_SHA256]
    assert root.signer_names == FIDO_MDS_SIGNER_NAMES == {"mds.fidoalliance.org"}


def test_a_configured_root_is_one_pem_ca_certificate(pki):
    root = trust_root_from_pem(pki.metadata_root.pem.decode())

    assert root == TrustRoot(certificates=(pki.metadata_root.der,), signer_names=None)


@pytest.mark.parametrize(
    "make",
    [
        lambda pki: b"not a certificate",
        lambda pki: pki.metadata_root.pem + pki.attestation_root.pem,
        lambda pki: issue(pki.metadata_root, "a leaf").pem,
        lambda pki: issue(pki.metadata_root, "no constraints", basic_constraints=False).pem,
    ],
    ids=["not-pem", "two-certificates", "not-a-ca", "no-basic-constraints"],
)
def test_a_bad_configured_root_is_refused(pki, make):
    with pytest.raises(MetadataRootError):
        trust_root_from_pem(make(pki))


def test_parsing_leaves_python_fido2_as_it_was(pki, trust_root, entries):
    """verify_metadata memoizes fido2's type hints only while it parses (a 6x speedup on a
    full blob); the broker's other paths keep fido2's own behaviour."""
    from fido2 import utils as fido2_utils  # noqa: PLC0415

    before = fido2_utils.get_type_hints
    verify_metadata(_blob(pki, entries), root=trust_root, now=NOW)
    with pytest.raises(MetadataFormatError):
        verify_metadata(b"e30.e30.AAAA", root=trust_root, now=NOW)

    assert fido2_utils.get_type_hints is before
