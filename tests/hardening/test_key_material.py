"""Keys and client data fido2 leaves to tapgate (issue 10, finding 3 and crossOrigin).

Registration accepts exactly the algorithms it offers, each with its own key type and
well-formed material (the refused keys are cases in test_hostile_input.py: 400, nothing
stored). A key stored before that check existed must fail a sign-in with the generic 401
and an audit record, never a 500. An answer made inside another origin's frame
(``crossOrigin: true``) fails its ceremony.
"""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from fido2 import cbor
from fido2.utils import websafe_decode, websafe_encode

from tests.hardening.conftest import GATED_ROLE, register_forged, table_items
from tests.support.broker_harness import ORIGIN, Harness
from tests.support.forge import ForgedKey, hostile_keys

ACCEPTED = {
    "es256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "eddsa": ed25519.Ed25519PrivateKey.generate,
    "rs256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
}


def sign_in(h: Harness, key: ForgedKey, user: str = "alice", **extra: Any) -> Any:
    options = h.options(user, roleArn=GATED_ROLE)
    assert options.status == 200, options.body
    body = {
        "ceremonyId": options.body["ceremonyId"],
        "credential": key.assertion(options.body["publicKey"], ORIGIN, **extra),
        "roleArn": GATED_ROLE,
    }
    return h.call("POST", "/authentication/verify", body=body, user_arn=h.user_arn(user))


def audit(h: Harness, event: str) -> list[dict[str, Any]]:
    return [i for i in table_items(h, h.settings.audit_table) if i["event"]["S"] == event]


@pytest.mark.parametrize("algorithm", ACCEPTED)
def test_each_offered_algorithm_registers_and_signs_in(harness: Harness, algorithm: str):
    key = ForgedKey(private_key=ACCEPTED[algorithm]())
    register_forged(harness, "alice", key)
    reply = sign_in(harness, key)
    assert reply.status == 200, reply.body


def test_the_offered_algorithms_are_the_accepted_ones(harness: Harness):
    options = harness.call(
        "POST", "/registration/options", body={}, user_arn=harness.user_arn("alice")
    )
    offered = [p["alg"] for p in options.body["publicKey"]["pubKeyCredParams"]]
    assert offered == [-7, -8, -257]


def _store_legacy_key(h: Harness, key: ForgedKey, cose: dict[int, Any]) -> None:
    """Replace a registered key's COSE key in the table, as a pre-check registration would
    have stored it."""
    (item,) = [
        i
        for i in table_items(h, h.settings.credentials_table)
        if i["credentialId"]["S"] == websafe_encode(key.credential_id)
        and not i["userName"]["S"].startswith("#")
    ]
    data = bytes(item["credentialData"]["B"])
    prefix = data[: 16 + 2 + len(key.credential_id)]
    item["credentialData"] = {"B": prefix + cbor.encode(cose)}
    h.dynamodb.put_item(TableName=h.settings.credentials_table, Item=item)


@pytest.mark.parametrize(
    "name", ["es256k", "alg-999", "int-coordinates", "rs256-label-on-ec", "off-curve", "alg-1"]
)
def test_a_stored_key_that_registration_would_refuse_fails_sign_in_with_an_audited_401(
    harness: Harness, name: str
):
    key = ForgedKey()
    register_forged(harness, "alice", key)
    hostile = hostile_keys()[name]().cose_key
    assert hostile is not None
    _store_legacy_key(harness, key, hostile)
    reply = sign_in(harness, key)
    assert reply.status == 401, reply.body
    assert reply.problem["detail"] == "The security key ceremony could not be verified."
    (failure,) = audit(harness, "authenticate")
    assert failure["outcome"]["S"] == "failure"
    assert "stored key" in failure["reason"]["S"]
    assert harness.assume_role_calls == []


@pytest.mark.parametrize("cross_origin", [True, "true", 1])
def test_an_assertion_made_in_another_origins_frame_fails(harness: Harness, cross_origin):
    key = ForgedKey()
    register_forged(harness, "alice", key)
    key.client_data = {"crossOrigin": cross_origin, "topOrigin": "https://evil.example"}
    reply = sign_in(harness, key)
    assert reply.status == 401, reply.body
    (failure,) = audit(harness, "authenticate")
    assert "crossOrigin" in failure["reason"]["S"]
    assert harness.assume_role_calls == []


def test_a_registration_made_in_another_origins_frame_fails(harness: Harness):
    options = harness.call(
        "POST", "/registration/options", body={}, user_arn=harness.user_arn("alice")
    )
    key = ForgedKey(client_data={"crossOrigin": True})
    reply = harness.call(
        "POST",
        "/registration/verify",
        body={
            "ceremonyId": options.body["ceremonyId"],
            "credential": key.register(options.body["publicKey"], ORIGIN),
        },
        user_arn=harness.user_arn("alice"),
    )
    assert reply.status == 401, reply.body
    assert harness.key_items() == []
    (failure,) = audit(harness, "register")
    assert failure["outcome"]["S"] == "failure"


def test_the_longest_credential_id_that_fits_registers_and_signs_in(harness: Harness):
    key = ForgedKey(credential_id=b"\x07" * 768)
    register_forged(harness, "alice", key)
    assert len(websafe_encode(key.credential_id)) == 1024  # DynamoDB's sort-key limit
    assert sign_in(harness, key).status == 200
    assert websafe_decode(harness.key_items()[0]["credentialId"]["S"]) == key.credential_id
