"""HTTP API v1 end to end in-process: handler + moto + Fido2Client over the soft key."""

from __future__ import annotations

import pytest
from fido2.utils import websafe_decode, websafe_encode

from tests.support.broker_harness import ORIGIN, get_assertion, make_credential
from tests.support.forge import ForgedKey

pytestmark = pytest.mark.usefixtures("aws")


# -- registration --------------------------------------------------------------------


def test_first_key_registers_and_is_listed(harness):
    key = harness.new_key()
    reply = harness.register("alice", key, nickname="YubiKey 5C")
    assert reply.status == 201, reply.body
    summary = reply.body["credential"]
    assert summary["nickname"] == "YubiKey 5C"
    assert set(summary) == {
        "credentialId",
        "nickname",
        "aaguid",
        "createdAt",
        "lastUsedAt",
        "signCount",
        "transports",
        "backupEligible",
        "assurance",
        "assuranceReason",
        "authenticator",
    }
    # A self-attested soft key proves no model: device-bound, no AAGUID shown.
    assert (summary["assurance"], summary["aaguid"], summary["authenticator"]) == (
        "device-bound",
        None,
        None,
    )
    listed = harness.call("GET", "/credentials", user_arn=harness.user_arn("alice"))
    assert [c["credentialId"] for c in listed.body["credentials"]] == [summary["credentialId"]]


def test_registration_options_ask_for_a_resident_key_and_exclude_existing_keys(harness):
    key = harness.new_key()
    harness.register("alice", key)
    options = harness.call("POST", "/registration/options", user_arn=harness.user_arn("alice"))
    public_key = options.body["publicKey"]
    assert public_key["authenticatorSelection"]["residentKey"] == "preferred"
    assert len(public_key["excludeCredentials"]) == 1
    assert {p["alg"] for p in public_key["pubKeyCredParams"]} == {-7, -8, -257}
    assert "stepUp" in options.body


def test_second_key_needs_a_step_up_assertion(harness):
    first, second = harness.new_key("first"), harness.new_key("second")
    harness.register("alice", first)
    options = harness.call("POST", "/registration/options", user_arn=harness.user_arn("alice"))
    credential = make_credential(harness.client(second), options.body["publicKey"])
    reply = harness.call(
        "POST",
        "/registration/verify",
        body={"ceremonyId": options.body["ceremonyId"], "credential": credential},
        user_arn=harness.user_arn("alice"),
    )
    assert reply.status == 401
    assert reply.problem["detail"] == "The security key ceremony could not be verified."
    listed = harness.call("GET", "/credentials", user_arn=harness.user_arn("alice"))
    assert len(listed.body["credentials"]) == 1


def test_second_key_registers_with_step_up_from_the_first(harness):
    first, second = harness.new_key("first"), harness.new_key("second")
    harness.register("alice", first)
    reply = harness.register("alice", second, step_up_key=first)
    assert reply.status == 201, reply.body
    listed = harness.call("GET", "/credentials", user_arn=harness.user_arn("alice"))
    assert len(listed.body["credentials"]) == 2
    counters = {c["credentialId"]: c["signCount"] for c in listed.body["credentials"]}
    assert max(counters.values()) >= 1  # the step-up key's counter advanced


def test_a_credential_id_registered_by_another_user_is_refused(harness):
    # An honest authenticator makes a new credential per registration; a forged one can
    # present a credential id that is already registered to someone else.
    key = ForgedKey()
    for user in ("alice", "bob"):
        options = harness.call(
            "POST", "/registration/options", body={}, user_arn=harness.user_arn(user)
        )
        reply = harness.call(
            "POST",
            "/registration/verify",
            body={
                "ceremonyId": options.body["ceremonyId"],
                "credential": key.register(options.body["publicKey"], ORIGIN),
            },
            user_arn=harness.user_arn(user),
        )
    assert reply.status == 409
    assert reply.problem["status"] == 409
    items = harness.key_items()
    assert [i["userName"]["S"] for i in items] == ["alice"]


# -- authentication --------------------------------------------------------------------


def test_authentication_issues_gated_credentials_with_source_identity_and_tags(harness, gated_role):
    key = harness.new_key()
    harness.register("alice", key)
    reply = harness.authenticate("alice", key, gated_role)
    assert reply.status == 200, reply.body
    body = reply.body
    assert body["Version"] == 1
    assert body["RoleArn"] == gated_role
    assert body["SourceIdentity"] == "alice"
    assert body["Expiration"].endswith("Z")
    assert body["AccessKeyId"] and body["SecretAccessKey"] and body["SessionToken"]
    sent = harness.assume_role_calls[-1]
    assert sent["RoleArn"] == gated_role
    assert sent["SourceIdentity"] == "alice"
    assert sent["RoleSessionName"] == "tapgate-alice"
    assert sent["DurationSeconds"] == 3600
    tags = {t["Key"]: t["Value"] for t in sent["Tags"]}
    cred_id = harness.call("GET", "/credentials", user_arn=harness.user_arn("alice")).body[
        "credentials"
    ][0]["credentialId"]
    assert tags == {
        "tapgate-mfa": "webauthn",
        "tapgate-uv": "false",
        "tapgate-credential": cred_id[:16],
        "tapgate-assurance": "device-bound",  # a self-attested soft key
    }


def test_issued_credentials_work_against_sts(harness, gated_role, aws_session_factory):
    key = harness.new_key()
    harness.register("alice", key)
    body = harness.authenticate("alice", key, gated_role).body
    sts = aws_session_factory(body).client("sts")
    arn = sts.get_caller_identity()["Arn"]
    assert ":assumed-role/" + gated_role.rsplit("/", 1)[1] + "/tapgate-alice" in arn


def test_counter_and_last_use_are_recorded(harness, gated_role):
    key = harness.new_key()
    harness.register("alice", key)
    harness.authenticate("alice", key, gated_role)
    harness.authenticate("alice", key, gated_role)
    summary = harness.call("GET", "/credentials", user_arn=harness.user_arn("alice")).body[
        "credentials"
    ][0]
    assert summary["signCount"] >= 2
    assert summary["lastUsedAt"] is not None


def test_duration_is_honoured_within_the_role_cap(harness, gated_role):
    key = harness.new_key()
    harness.register("alice", key)
    assert harness.authenticate("alice", key, gated_role, durationSeconds=900).status == 200
    assert harness.assume_role_calls[-1]["DurationSeconds"] == 900


@pytest.mark.parametrize("duration", [899, 3601, 43200])
def test_duration_outside_the_role_cap_is_refused(harness, gated_role, duration):
    key = harness.new_key()
    harness.register("alice", key)
    reply = harness.authenticate("alice", key, gated_role, durationSeconds=duration)
    assert reply.status == 400
    assert harness.assume_role_calls == []


def test_a_role_tapgate_does_not_gate_is_forbidden(harness):
    key = harness.new_key()
    harness.register("alice", key)
    reply = harness.options("alice", roleArn="arn:aws:iam::123456789012:role/not-gated")
    assert reply.status == 403


def test_a_user_without_keys_gets_404_from_options(harness, gated_role):
    assert harness.options("nobody", roleArn=gated_role).status == 404


def test_audit_records_success_with_request_facts(harness, gated_role):
    key = harness.new_key()
    harness.register("alice", key)
    harness.authenticate("alice", key, gated_role)
    records = [
        r
        for r in harness.table_items(harness.settings.audit_table)
        if r["event"]["S"] == "authenticate"
    ]
    assert len(records) == 1
    record = records[0]
    assert record["outcome"]["S"] == "success"
    assert record["roleArn"]["S"] == gated_role
    assert record["sourceIp"]["S"] == "192.0.2.10"
    assert record["userAgent"]["S"] == "tapgate-tests"
    assert "expiresAt" in record


# -- ceremony misuse (one change each) ---------------------------------------------------


def _signed_in_assertion(harness, user, key, role):
    options = harness.options(user, roleArn=role)
    return options.body["ceremonyId"], get_assertion(harness.client(key), options.body["publicKey"])


def _verify(harness, user, ceremony_id, assertion, role):
    return harness.call(
        "POST",
        "/authentication/verify",
        body={"ceremonyId": ceremony_id, "credential": assertion, "roleArn": role},
        user_arn=harness.user_arn(user),
    )


def test_a_ceremony_answers_once(harness, gated_role):
    key = harness.new_key()
    harness.register("alice", key)
    ceremony_id, assertion = _signed_in_assertion(harness, "alice", key, gated_role)
    assert _verify(harness, "alice", ceremony_id, assertion, gated_role).status == 200
    again = _verify(harness, "alice", ceremony_id, assertion, gated_role)
    assert again.status == 409
    assert len(harness.assume_role_calls) == 1


def test_unknown_ceremony_is_404(harness, gated_role):
    key = harness.new_key()
    harness.register("alice", key)
    _, assertion = _signed_in_assertion(harness, "alice", key, gated_role)
    reply = _verify(harness, "alice", "A" * 32, assertion, gated_role)
    assert reply.status == 404


def test_expired_ceremony_is_404(harness, gated_role, clock):
    key = harness.new_key()
    harness.register("alice", key)
    ceremony_id, assertion = _signed_in_assertion(harness, "alice", key, gated_role)
    clock.advance(301)
    assert _verify(harness, "alice", ceremony_id, assertion, gated_role).status == 404
    assert harness.assume_role_calls == []


def test_another_users_ceremony_is_404_and_not_burned(harness, gated_role):
    key = harness.new_key()
    harness.register("alice", key)
    ceremony_id, assertion = _signed_in_assertion(harness, "alice", key, gated_role)
    assert _verify(harness, "mallory", ceremony_id, assertion, gated_role).status == 404
    assert _verify(harness, "alice", ceremony_id, assertion, gated_role).status == 200


def test_a_registration_ceremony_cannot_be_used_to_sign_in(harness, gated_role):
    key = harness.new_key()
    harness.register("alice", key)
    registration = harness.call("POST", "/registration/options", user_arn=harness.user_arn("alice"))
    _, assertion = _signed_in_assertion(harness, "alice", key, gated_role)
    reply = _verify(harness, "alice", registration.body["ceremonyId"], assertion, gated_role)
    assert reply.status == 404


def test_another_users_key_fails_the_ceremony(harness, gated_role):
    alice_key, bob_key = harness.new_key("alice"), harness.new_key("bob")
    harness.register("alice", alice_key)
    harness.register("bob", bob_key)
    options = harness.options("alice", roleArn=gated_role)
    # Bob's key answers Alice's challenge (allowCredentials stripped by a hostile client).
    public_key = dict(options.body["publicKey"])
    public_key.pop("allowCredentials")
    assertion = get_assertion(harness.client(bob_key), public_key)
    reply = _verify(harness, "alice", options.body["ceremonyId"], assertion, gated_role)
    assert reply.status == 401
    assert harness.assume_role_calls == []


def test_wrong_origin_fails_the_ceremony(harness, gated_role):
    key = harness.new_key()
    harness.register("alice", key)
    options = harness.options("alice", roleArn=gated_role)
    assertion = get_assertion(
        harness.client(key, origin="http://localhost:9999"), options.body["publicKey"]
    )
    assert (
        _verify(harness, "alice", options.body["ceremonyId"], assertion, gated_role).status == 401
    )


def test_wrong_rp_id_hash_fails_the_ceremony(harness, gated_role):
    key = harness.new_key()
    harness.register("alice", key)
    ceremony_id, assertion = _signed_in_assertion(harness, "alice", key, gated_role)
    auth_data = bytearray(websafe_decode(assertion["response"]["authenticatorData"]))
    auth_data[0] ^= 0xFF
    assertion["response"]["authenticatorData"] = websafe_encode(bytes(auth_data))
    assert _verify(harness, "alice", ceremony_id, assertion, gated_role).status == 401


def test_bad_signature_fails_the_ceremony(harness, gated_role):
    key = harness.new_key()
    harness.register("alice", key)
    ceremony_id, assertion = _signed_in_assertion(harness, "alice", key, gated_role)
    signature = bytearray(websafe_decode(assertion["response"]["signature"]))
    signature[-1] ^= 0x01
    assertion["response"]["signature"] = websafe_encode(bytes(signature))
    assert _verify(harness, "alice", ceremony_id, assertion, gated_role).status == 401


def test_a_cloned_key_is_refused_and_audited(harness, gated_role):
    key = harness.new_key()
    harness.register("alice", key)
    clone = harness.tmp / "clone.json"
    from tapgate.authenticators.soft import SoftAuthenticator  # noqa: PLC0415

    SoftAuthenticator.load(key).clone_to(clone)
    assert harness.authenticate("alice", key, gated_role).status == 200
    # The clone's counter is where the original's was: it does not advance.
    reply = harness.authenticate("alice", clone, gated_role)
    assert reply.status == 401
    failures = [
        r
        for r in harness.table_items(harness.settings.audit_table)
        if r["outcome"]["S"] == "failure"
    ]
    assert [r["reason"]["S"] for r in failures] == ["counter-regression"]


def test_uv_required_by_the_role_refuses_an_assertion_without_uv(harness, uv_role):
    key = harness.new_key()
    harness.register("alice", key)
    options = harness.options("alice", roleArn=uv_role)
    assert options.body["publicKey"]["userVerification"] == "required"
    # A client that ignores the requirement: the soft key without a PIN cannot verify.
    public_key = {**options.body["publicKey"], "userVerification": "discouraged"}
    assertion = get_assertion(harness.client(key), public_key)
    assert _verify(harness, "alice", options.body["ceremonyId"], assertion, uv_role).status == 401


def test_uv_required_by_the_role_passes_with_a_pin(harness, uv_role):
    key = harness.new_key(pin="1234")
    harness.register("alice", key, pin="1234")
    reply = harness.authenticate("alice", key, uv_role, pin="1234")
    assert reply.status == 200, reply.body
    tags = {t["Key"]: t["Value"] for t in harness.assume_role_calls[-1]["Tags"]}
    assert tags["tapgate-uv"] == "true"


def test_role_must_match_the_options_request(harness, gated_role, uv_role):
    key = harness.new_key()
    harness.register("alice", key)
    ceremony_id, assertion = _signed_in_assertion(harness, "alice", key, gated_role)
    assert _verify(harness, "alice", ceremony_id, assertion, uv_role).status == 400


# -- revoke -----------------------------------------------------------------------------


def _manage_assertion(harness, user, key):
    options = harness.options(user, purpose="manage")
    return options.body["ceremonyId"], get_assertion(harness.client(key), options.body["publicKey"])


def test_revoke_needs_a_fresh_assertion_and_removes_the_key(harness, gated_role):
    first, second = harness.new_key("first"), harness.new_key("second")
    harness.register("alice", first)
    harness.register("alice", second, step_up_key=first, nickname="spare")
    listed = harness.call("GET", "/credentials", user_arn=harness.user_arn("alice")).body
    (target,) = [c["credentialId"] for c in listed["credentials"] if c["nickname"] == "spare"]
    ceremony_id, assertion = _manage_assertion(harness, "alice", first)
    reply = harness.call(
        "DELETE",
        f"/credentials/{target}",
        body={"ceremonyId": ceremony_id, "credential": assertion},
        user_arn=harness.user_arn("alice"),
    )
    assert reply.status == 204
    remaining = harness.call("GET", "/credentials", user_arn=harness.user_arn("alice")).body
    assert [c["credentialId"] for c in remaining["credentials"]] != [target]
    assert len(remaining["credentials"]) == 1
    # The audit record names the revoked key by id and nickname.
    (revoked,) = [
        r for r in harness.table_items(harness.settings.audit_table) if r["event"]["S"] == "revoke"
    ]
    assert (revoked["credentialId"]["S"], revoked["nickname"]["S"]) == (target, "spare")


def test_revoke_with_a_sign_in_ceremony_is_refused(harness, gated_role):
    key = harness.new_key()
    harness.register("alice", key)
    target = harness.call("GET", "/credentials", user_arn=harness.user_arn("alice")).body[
        "credentials"
    ][0]["credentialId"]
    ceremony_id, assertion = _signed_in_assertion(harness, "alice", key, gated_role)
    reply = harness.call(
        "DELETE",
        f"/credentials/{target}",
        body={"ceremonyId": ceremony_id, "credential": assertion},
        user_arn=harness.user_arn("alice"),
    )
    assert reply.status == 404
    assert len(harness.key_items()) == 1


def test_revoking_another_users_key_is_404(harness):
    alice_key, bob_key = harness.new_key("alice"), harness.new_key("bob")
    harness.register("alice", alice_key)
    harness.register("bob", bob_key)
    bob_id = harness.call("GET", "/credentials", user_arn=harness.user_arn("bob")).body[
        "credentials"
    ][0]["credentialId"]
    ceremony_id, assertion = _manage_assertion(harness, "alice", alice_key)
    reply = harness.call(
        "DELETE",
        f"/credentials/{bob_id}",
        body={"ceremonyId": ceremony_id, "credential": assertion},
        user_arn=harness.user_arn("alice"),
    )
    assert reply.status == 404
    assert len(harness.key_items()) == 2


# -- public and contract routes ------------------------------------------------------------


def test_config_is_public_and_lists_roles(harness, gated_role):
    reply = harness.call("GET", "/config")
    assert reply.status == 200
    assert reply.body["rpId"] == "localhost"
    assert gated_role in [r["arn"] for r in reply.body["roles"]]


def test_roles_lists_session_caps_and_key_requirements(harness, gated_role):
    reply = harness.call("GET", "/roles", user_arn=harness.user_arn("alice"))
    assert {
        "arn": gated_role,
        "maxSessionSeconds": 3600,
        "userVerification": "preferred",
        "assurance": "any",
        "aaguids": [],
    } in reply.body["roles"]


def test_v1_prefix_is_accepted_as_well(harness):
    assert harness.call("GET", "/v1/config").status == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/registration/options"),
        ("POST", "/registration/verify"),
        ("POST", "/authentication/options"),
        ("POST", "/authentication/verify"),
        ("GET", "/credentials"),
        ("DELETE", "/credentials/AAAA"),
        ("GET", "/roles"),
    ],
)
def test_unsigned_requests_are_forbidden(harness, method, path):
    before = harness.snapshot()
    reply = harness.call(method, path, body={})
    assert reply.status == 403
    assert reply.problem["title"] == "Forbidden"
    assert harness.snapshot() == before


def test_unknown_route_is_a_404_problem(harness):
    assert harness.call("GET", "/nope").problem["status"] == 404


def test_origin_used_by_tests_is_allowed(harness):
    assert ORIGIN in harness.settings.origins


def test_a_one_character_iam_user_is_refused_clearly_at_registration(harness):
    """IAM allows a user named "a"; STS refuses it as a SourceIdentity, so tapgate says so at
    the first request instead of registering a key that can never sign in (finding 6)."""
    options = harness.call("POST", "/registration/options", body={}, user_arn=harness.user_arn("a"))
    assert options.status == 403
    assert "2-64 characters" in options.problem["detail"]
    assert harness.snapshot()["tapgate-ceremonies"] == []
