"""A software CTAP2 authenticator kept in a key file, for tests and demos only.

python-fido2's `Fido2Client` drives `SoftAuthenticator` through `fido2.ctap2.Ctap2` exactly
as it drives a USB security key, so every byte the server verifies (attestation object,
authenticator data, signatures, PIN/UV protocol) is produced the way a real key produces it.

What it does:

- Resident (discoverable) and non-resident credentials, a sign counter per credential.
- By default, as it always did: ES256 (P-256) credentials, "packed" self attestation, no
  backup flags, AAGUID `74617067-6174-6520-736f-6674206b6579` (the ASCII bytes of "tapgate
  soft key", so the server's credential summary shows where a credential came from).
- Made with other options (`SoftAuthenticator.create`): EdDSA (-8) and RS256 (-257)
  credentials, full "packed" attestation with an x5c chain from an attestation key and
  certificate kept in the key file (`AttestationIdentity`) and a chosen AAGUID, or a
  backup-eligible key (BE and BS set, like a synced passkey). Tests of authenticator
  assurance use them to play certified, self-attested, unknown and synced keys.
- With a PIN, user verification through clientPIN; without a PIN it cannot verify the user
  and getInfo has no `clientPin` option.
- `clone_to` copies the file to make a second device with the same keys and counters,
  which is how a cloned key looks to a relying party.

The modules, one job each: `keyfile` (the JSON file and its private, atomic writes),
`device` (the CTAP2 commands), `profile` (the model the key claims to be: AAGUID,
algorithms, backup flags, getInfo), `algorithms` (credential keys and signatures),
`attestation` (the packed statement), `pin` (clientPIN and pinUvAuthParam), `params`
(reading CBOR parameters), `client` (the local-mode guard and a ready `Fido2Client`),
`errors`.
"""

from tapgate.authenticators.soft.algorithms import SUPPORTED_ALGORITHMS
from tapgate.authenticators.soft.attestation import AttestationIdentity
from tapgate.authenticators.soft.client import (
    ALLOW_SOFT_KEY_ENV,
    assert_soft_key_allowed,
    soft_client,
)
from tapgate.authenticators.soft.device import SoftAuthenticator
from tapgate.authenticators.soft.errors import (
    SoftKeyError,
    SoftKeyFileError,
    SoftKeyNotAllowedError,
    SoftKeyPermissionError,
)
from tapgate.authenticators.soft.profile import AAGUID, KeyProfile

__all__ = [
    "AAGUID",
    "ALLOW_SOFT_KEY_ENV",
    "SUPPORTED_ALGORITHMS",
    "AttestationIdentity",
    "KeyProfile",
    "SoftAuthenticator",
    "SoftKeyError",
    "SoftKeyFileError",
    "SoftKeyNotAllowedError",
    "SoftKeyPermissionError",
    "assert_soft_key_allowed",
    "soft_client",
]
