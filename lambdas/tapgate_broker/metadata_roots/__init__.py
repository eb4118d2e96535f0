"""Trust roots of the FIDO Metadata Service, shipped with the broker as package data.

The FIDO Alliance signs its MDS3 blob (https://mds3.fidoalliance.org/) with a certificate
for `mds.fidoalliance.org` under GlobalSign roots. On 2026-08-21 it moved the chain from
GlobalSign Root CA - R3 to GlobalSign Root R46 (https://fidoalliance.org/metadata/ now
names R46); a cross-certificate in the blob's x5c keeps R3 working. python-fido2 checks a
chain in order, without path building, so a blob verifies under whichever root its x5c
ends at: both are shipped, R46 tried first.

- `globalsign-root-r46.pem`: GlobalSign Root R46, valid 2019-03-20 to 2046-03-20, SHA-256
  4FA3126D8D3A11D1C4855A4F807CBAD6CF919D3A5A88B03BEA2C6372D93C40C9
  (https://valid.r46.roots.globalsign.com/); copied from Mozilla's root store as certifi
  2026.10.19 packages it.
- `globalsign-root-ca-r3.pem`: GlobalSign Root CA - R3, valid 2009-03-18 to 2029-03-18,
  SHA-256 CBB522D7B7F127AD6A0113865BDF1CD4102E7D0759AF635A7CF4720DC963C53B
  (https://valid.r3.roots.globalsign.com/); copied from python-fido2's MDS3 example
  (Yubico/python-fido2, examples/verify_attestation_mds3.py), the same in certifi.

tests/assurance/test_metadata_blobs.py checks both fingerprints.
"""
