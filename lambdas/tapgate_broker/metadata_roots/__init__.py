"""Trust roots shipped with the broker, as package data.

`fido-mds-root.pem`: GlobalSign Root CA - R3, the root the FIDO Alliance's Metadata
Service (https://mds3.fidoalliance.org/) signs its MDS3 blob under; valid 2009-03-18 to
2029-03-18. SHA-256 fingerprint CB:B5:22:D7:B7:F1:27:AD:6A:01:13:86:5B:DF:1C:D4:10:2E:7D:
07:59:AF:63:5A:7C:F4:72:0D:C9:63:C5:3B, the one GlobalSign publishes at
https://valid.r3.roots.globalsign.com/. Copied from python-fido2's MDS3 example
(Yubico/python-fido2, examples/verify_attestation_mds3.py, "the root CA used to sign the
Metadata Statement blob"); tests/assurance checks the fingerprint. Before 2029 it must be
replaced by the FIDO Alliance's next root, or deployments set `metadataRoot`.
"""
