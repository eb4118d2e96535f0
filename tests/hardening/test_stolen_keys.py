"""The stolen-keys attacker: alice's long-term access keys, but not her security key.

With them the attacker can sign requests as alice (API Gateway's AWS_IAM
authorizer lets them through as her, without MFA). Played through the real
routes, every way to a registered key or to gated credentials must fail and
leave alice's key as it was. The first-key case is decided before the Lambda
runs, by IAM: the last test checks that the shipped policy grants the
registration routes only to sessions with MFA.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

from fido2.utils import websafe_encode

from tests.hardening.conftest import GATED_ROLE, key_items, register_forged
from tests.support.broker_harness import ORIGIN, Harness
from tests.support.forge import ForgedKey

ROOT = Path(__file__).resolve().parents[2]


def as_alice(h: Harness, method: str, path: str, body: Any = None) -> Any:
    return h.call(method, path, body=body, user_arn=h.user_arn("alice"))


def attacker_key_posing_as(victim: ForgedKey) -> ForgedKey:
    """The attacker's own private key, answering with the victim's (public) credential id."""
    return ForgedKey(credential_id=victim.credential_id, user_handle=victim.user_handle)


def alice_keys(h: Harness) -> list[tuple[str, str]]:
    items = key_items(h)
    return sorted((i["credentialId"]["S"], i["signCount"]["N"]) for i in items)


def setup(h: Harness) -> tuple[ForgedKey, list[tuple[str, str]]]:
    alice = ForgedKey()
    register_forged(h, "alice", alice)
    return alice, alice_keys(h)


def test_attacker_cannot_enroll_a_key_of_their_own(harness: Harness):
    alice, before = setup(harness)
    theirs = ForgedKey()
    for step_up_key in (None, ForgedKey(), attacker_key_posing_as(alice)):
        options = as_alice(harness, "POST", "/registration/options", {})
        assert options.status == 200
        body = {
            "ceremonyId": options.body["ceremonyId"],
            "credential": theirs.register(options.body["publicKey"], ORIGIN),
        }
        if step_up_key is not None:
            body["stepUp"] = step_up_key.assertion(options.body["stepUp"], ORIGIN)
        reply = as_alice(harness, "POST", "/registration/verify", body)
        assert reply.status == 401, reply.body
        assert alice_keys(harness) == before


def test_attacker_cannot_get_gated_credentials(harness: Harness):
    alice, before = setup(harness)
    for key in (ForgedKey(), attacker_key_posing_as(alice)):
        options = as_alice(harness, "POST", "/authentication/options", {"roleArn": GATED_ROLE})
        assert options.status == 200
        body = {
            "ceremonyId": options.body["ceremonyId"],
            "credential": key.assertion(options.body["publicKey"], ORIGIN, counter=10**6),
            "roleArn": GATED_ROLE,
        }
        reply = as_alice(harness, "POST", "/authentication/verify", body)
        assert reply.status == 401, reply.body
        assert reply.problem["detail"] == "The security key ceremony could not be verified."
    assert harness.assume_role_calls == []
    assert alice_keys(harness) == before


def test_attacker_cannot_replay_an_assertion_alice_made(harness: Harness):
    alice, _ = setup(harness)
    options = as_alice(harness, "POST", "/authentication/options", {"roleArn": GATED_ROLE})
    seen = {
        "ceremonyId": options.body["ceremonyId"],
        "credential": alice.assertion(options.body["publicKey"], ORIGIN),
        "roleArn": GATED_ROLE,
    }
    assert as_alice(harness, "POST", "/authentication/verify", seen).status == 200
    # The same request again: the ceremony is spent.
    assert as_alice(harness, "POST", "/authentication/verify", seen).status == 409
    # The captured assertion in a fresh ceremony: the challenge does not match.
    fresh = as_alice(harness, "POST", "/authentication/options", {"roleArn": GATED_ROLE})
    replay = {**seen, "ceremonyId": fresh.body["ceremonyId"]}
    assert as_alice(harness, "POST", "/authentication/verify", replay).status == 401
    assert len(harness.assume_role_calls) == 1


def test_attacker_cannot_revoke_alices_key(harness: Harness):
    alice, before = setup(harness)
    options = as_alice(harness, "POST", "/authentication/options", {"purpose": "manage"})
    body = {
        "ceremonyId": options.body["ceremonyId"],
        "credential": attacker_key_posing_as(alice).assertion(options.body["publicKey"], ORIGIN),
    }
    target = websafe_encode(alice.credential_id)
    reply = as_alice(harness, "DELETE", f"/credentials/{target}", body)
    assert reply.status == 401, reply.body
    assert alice_keys(harness) == before


def test_the_shipped_policy_grants_registration_only_with_mfa():
    policy = json.loads((ROOT / "policies" / "self-service-policy.json").read_text())
    enrolling = (
        "v1/POST/registration/options",
        "v1/POST/registration/verify",
        "v1/POST/enrollments",
    )
    granted: set[str] = set()
    for statement in policy["Statement"]:
        resources = statement["Resource"]
        resources = [resources] if isinstance(resources, str) else resources
        # IAM wildcards match across "/", like fnmatch's.
        paths = [r if r == "*" else r.split("/", 1)[1] for r in resources]
        routes = {route for route in enrolling for p in paths if fnmatch.fnmatchcase(route, p)}
        if statement["Effect"] == "Allow" and routes:
            assert statement["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
            granted |= routes
    assert granted == set(enrolling)
    # A further key needs a step-up assertion, not MFA: its routes are granted plainly.
    (plain,) = [s for s in policy["Statement"] if "Condition" not in s]
    further = {r.split("/", 1)[1] for r in plain["Resource"] if "/registration/" in r}
    assert further == {
        "v1/POST/registration/step-up/options",
        "v1/POST/registration/step-up/verify",
    }
