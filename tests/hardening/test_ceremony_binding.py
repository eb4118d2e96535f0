"""A ceremony is finished by the route family and the credential that began it (finding 2).

The ceremonies table records how a ceremony began (``via``: SigV4, SigV4 step-up, an
enrollment link or a passkey) and by whom (the caller's principal ARN, the link's token
hash, or nobody); consume's conditional write checks both, so a ceremony answered the
wrong way is refused (404) without being used up.
"""

from __future__ import annotations

from typing import Any

from tests.hardening.conftest import GATED_ROLE, key_items, register_forged
from tests.support.broker_harness import ORIGIN, Harness
from tests.support.forge import ForgedKey


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def link_for(h: Harness, user: str, *, by: str) -> str:
    reply = h.call("POST", "/enrollments", body={"userName": user}, user_arn=h.user_arn(by))
    assert reply.status == 201, reply.body
    return str(reply.body["token"])


def enrollment_ceremony(h: Harness, token: str) -> tuple[str, dict[str, Any]]:
    options = h.call("POST", "/enrollment/options", body={}, headers=bearer(token))
    assert options.status == 200, options.body
    return options.body["ceremonyId"], options.body["publicKey"]


def test_a_link_ceremony_cannot_be_finished_on_the_signed_route(harness: Harness):
    """The review's attack: begun with bob's link, finished by bob with SigV4 on
    /registration/verify (201, the link never used up, repeatable)."""
    token = link_for(harness, "bob", by="bob")  # self-issued: bob has no key
    ceremony_id, public_key = enrollment_ceremony(harness, token)
    key = ForgedKey()
    body = {"ceremonyId": ceremony_id, "credential": key.register(public_key, ORIGIN)}
    signed = harness.call(
        "POST", "/registration/verify", body=body, user_arn=harness.user_arn("bob")
    )
    assert signed.status == 404, signed.body
    assert key_items(harness) == []
    # Not used up by the wrong route: the link finishes its own ceremony.
    finished = harness.call("POST", "/enrollment/verify", body=body, headers=bearer(token))
    assert finished.status == 201, finished.body


def test_a_signed_ceremony_cannot_be_finished_by_another_principal_with_the_same_name(
    harness: Harness,
):
    options = harness.call(
        "POST", "/registration/options", body={}, user_arn=harness.user_arn("alice")
    )
    body = {
        "ceremonyId": options.body["ceremonyId"],
        "credential": ForgedKey().register(options.body["publicKey"], ORIGIN),
    }
    other_alice = "arn:aws:iam::123456789012:user/other-path/alice"
    reply = harness.call("POST", "/registration/verify", body=body, user_arn=other_alice)
    assert reply.status == 404, reply.body
    assert key_items(harness) == []
    mine = harness.call(
        "POST", "/registration/verify", body=body, user_arn=harness.user_arn("alice")
    )
    assert mine.status == 201, mine.body


def test_step_up_and_mfa_registration_ceremonies_do_not_mix(harness: Harness):
    old = ForgedKey()
    register_forged(harness, "alice", old)
    for begin, finish in (
        ("/registration/options", "/registration/step-up/verify"),
        ("/registration/step-up/options", "/registration/verify"),
    ):
        options = harness.call("POST", begin, body={}, user_arn=harness.user_arn("alice"))
        assert options.status == 200, options.body
        body = {
            "ceremonyId": options.body["ceremonyId"],
            "credential": ForgedKey().register(options.body["publicKey"], ORIGIN),
            "stepUp": old.assertion(options.body["stepUp"], ORIGIN),
        }
        wrong = harness.call("POST", finish, body=body, user_arn=harness.user_arn("alice"))
        assert wrong.status == 404, (begin, finish, wrong.body)
        right = harness.call(
            "POST",
            begin.replace("options", "verify"),
            body=body,
            user_arn=harness.user_arn("alice"),
        )
        assert right.status == 201, (begin, right.body)


def test_a_passkey_ceremony_cannot_be_finished_on_a_signed_route(harness: Harness):
    key = ForgedKey()
    register_forged(harness, "alice", key)
    options = harness.call("POST", "/passkey/options", body={"roleArn": GATED_ROLE})
    body = {
        "ceremonyId": options.body["ceremonyId"],
        "credential": key.assertion(options.body["publicKey"], ORIGIN, user_verified=True),
        "roleArn": GATED_ROLE,
    }
    signed = harness.call(
        "POST", "/authentication/verify", body=body, user_arn=harness.user_arn("alice")
    )
    assert signed.status == 404
    assert harness.call("POST", "/passkey/verify", body=body).status == 200
