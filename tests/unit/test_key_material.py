"""The key check on its own: COSE maps in, accepted or refused (fast, no AWS)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tapgate_broker.core.key_material import KeyMaterialError, check_public_key
from tapgate_broker.core.webauthn import ALLOWED_ALGORITHMS
from tests.support.forge import cose_public_key

OFFERED = ALLOWED_ALGORITHMS


@pytest.mark.parametrize(
    "private_key",
    [
        ec.generate_private_key(ec.SECP256R1()),
        ed25519.Ed25519PrivateKey.generate(),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
    ],
    ids=["es256", "eddsa", "rs256"],
)
def test_a_well_formed_key_of_an_offered_algorithm_passes(private_key):
    check_public_key(cose_public_key(private_key), offered=OFFERED)


def test_an_algorithm_that_was_not_offered_fails_even_if_well_formed():
    cose = cose_public_key(ed25519.Ed25519PrivateKey.generate())
    with pytest.raises(KeyMaterialError, match="not offered"):
        check_public_key(cose, offered=(-7,))


@pytest.mark.parametrize("bits", [2047, 8193])
def test_an_rsa_modulus_outside_2048_to_8192_bits_fails(bits):
    n = (1 << (bits - 1)) | 1
    cose = {1: 3, 3: -257, -1: n.to_bytes((bits + 7) // 8, "big"), -2: b"\x01\x00\x01"}
    with pytest.raises(KeyMaterialError, match="bits"):
        check_public_key(cose, offered=OFFERED)


@pytest.mark.parametrize("alg", [True, -7.0, None, "ES256"])
def test_an_algorithm_label_that_is_not_an_integer_fails(alg):
    cose = {**cose_public_key(ec.generate_private_key(ec.SECP256R1())), 3: alg}
    with pytest.raises(KeyMaterialError):
        check_public_key(cose, offered=OFFERED)
