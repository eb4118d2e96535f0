"""Browser sign-in for the CLI, in-process: handler + moto + forged passkeys.

The page trades a passkey assertion for a code (POST /passkey/code), the CLI the code and its
PKCE verifier for credentials (POST /passkey/token). Each negative test changes one thing.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tapgate_broker.adapters.dynamodb import DynamoCodeStore
from tapgate_broker.core.code_exchange import CodeInvalidError, hash_code, s256
from tests.hardening.conftest import register_forged
from tests.support.broker_harness import ORIGIN, Harness, Reply
from tests.support.deployment import GATED_ROLE
from tests.support.forge import ForgedKey

pytestmark = pytest.mark.usefixtures("aws")

PORT = 49152


def new_verifier() -> str:
    return secrets.token_urlsafe(48)  # 64 characters of the RFC 7636 alphabet


def passkey(h: Harness, user: str = "alice") -> ForgedKey:
    key = ForgedKey()
    register_forged(h, user, key)
    return key


def get_code(
    h: Harness,
    key: ForgedKey,
    verifier: str,
    *,
    role: str = GATED_ROLE,
    user_verified: bool = True,
    **overrides: Any,
) -> Reply:
    options = h.call("POST", "/passkey/options", body={"roleArn": role})
    assert options.status == 200, options.body
    body = {
        "ceremonyId": options.body["ceremonyId"],
        "credential": key.assertion(options.body["publicKey"], ORIGIN, user_verified=user_verified),
        "roleArn": role,
        "codeChallenge": s256(verifier),
        "codeChallengeMethod": "S256",
        "redirectPort": PORT,
        **overrides,
    }
    return h.call("POST", "/passkey/code", body={k: v for k, v in body.items() if v is not None})


def exchange(h: Harness, code: str, verifier: str, **overrides: Any) -> Reply:
    body = {"code": code, "codeVerifier": verifier, "redirectPort": PORT, **overrides}
    return h.call("POST", "/passkey/token", body=body)


def events(h: Harness, event: str, outcome: str | None = None) -> list[dict[str, Any]]:
    items = h.table_items(h.settings.audit_table)
    return [i for i in items if i["event"]["S"] == event and outcome in (None, i["outcome"]["S"])]


def test_a_code_and_its_verifier_give_the_role_and_the_code_is_stored_as_a_hash(harness):
    key, verifier = passkey(harness), new_verifier()
    issued = get_code(harness, key, verifier)
    assert issued.status == 200, issued.body
    assert issued.body["redirectUri"] == f"http://127.0.0.1:{PORT}/callback"
    assert issued.body["expiresIn"] == 60
    assert harness.assume_role_calls == []  # nothing is issued to the browser
    code = issued.body["code"]
    stored = str(harness.table_items(harness.settings.ceremonies_table))
    assert code not in stored
    assert verifier not in stored

    reply = exchange(harness, code, verifier)
    assert reply.status == 200, reply.body
    assert reply.body["SourceIdentity"] == "alice"
    assert reply.body["RoleArn"] == GATED_ROLE
    assert harness.assume_role_calls[-1]["SourceIdentity"] == "alice"
    success = events(harness, "authenticate")
    assert [e["outcome"]["S"] for e in success] == ["success"]
    assert success[0]["via"]["S"] == "browser-code"


def test_a_replayed_code_is_refused_and_nothing_more_is_issued(harness):
    key, verifier = passkey(harness), new_verifier()
    code = get_code(harness, key, verifier).body["code"]
    assert exchange(harness, code, verifier).status == 200
    replay = exchange(harness, code, verifier)
    assert replay.status == 400
    assert replay.problem["type"].endswith("/code-invalid")
    assert len(harness.assume_role_calls) == 1
    failures = events(harness, "authenticate", "failure")
    assert [e["reason"]["S"] for e in failures] == ["code already used"]
    assert failures[0]["via"]["S"] == "browser-code"
    assert failures[0]["userName"]["S"] == "alice"


def test_an_expired_code_is_refused(harness, clock):
    key, verifier = passkey(harness), new_verifier()
    code = get_code(harness, key, verifier).body["code"]
    clock.advance(60)
    reply = exchange(harness, code, verifier)
    assert reply.status == 400
    assert harness.assume_role_calls == []
    assert events(harness, "authenticate")[0]["reason"]["S"] == "code expired"


def test_a_wrong_verifier_is_refused_and_burns_the_code(harness):
    key, verifier = passkey(harness), new_verifier()
    code = get_code(harness, key, verifier).body["code"]
    assert exchange(harness, code, new_verifier()).status == 400
    # The right verifier comes too late: a code seen with a wrong one is used up.
    assert exchange(harness, code, verifier).status == 400
    assert harness.assume_role_calls == []


def test_another_port_is_refused(harness):
    key, verifier = passkey(harness), new_verifier()
    code = get_code(harness, key, verifier).body["code"]
    assert exchange(harness, code, verifier, redirectPort=PORT + 1).status == 400
    assert harness.assume_role_calls == []


def test_an_unknown_code_is_the_same_refusal_and_audited(harness):
    reply = exchange(harness, secrets.token_urlsafe(32), new_verifier())
    assert reply.status == 400
    assert reply.problem["type"].endswith("/code-invalid")
    assert events(harness, "authenticate")[0]["userName"]["S"] == "-unknown-"


def test_a_key_removed_after_signing_cannot_redeem_its_code(harness):
    key, verifier = passkey(harness), new_verifier()
    code = get_code(harness, key, verifier).body["code"]
    stored = harness.table_items(harness.settings.credentials_table)
    for item in stored:
        harness.dynamodb.delete_item(
            TableName=harness.settings.credentials_table,
            Key={"userName": item["userName"], "credentialId": item["credentialId"]},
        )
    reply = exchange(harness, code, verifier)
    assert reply.status == 401
    assert harness.assume_role_calls == []


def test_an_assertion_without_user_verification_gets_no_code(harness):
    reply = get_code(harness, passkey(harness), new_verifier(), user_verified=False)
    assert reply.status == 401
    assert "code" not in reply.body
    assert events(harness, "sign-in-code")[0]["outcome"]["S"] == "failure"


def test_a_bad_code_request_is_400_before_the_ceremony_is_used(harness):
    """One case through the route (the shapes are in tests/unit/test_code_exchange.py)."""
    key, verifier = passkey(harness), new_verifier()
    options = harness.call("POST", "/passkey/options", body={"roleArn": GATED_ROLE})
    good = {
        "ceremonyId": options.body["ceremonyId"],
        "credential": key.assertion(options.body["publicKey"], ORIGIN, user_verified=True),
        "roleArn": GATED_ROLE,
        "codeChallenge": s256(verifier),
        "codeChallengeMethod": "S256",
        "redirectPort": PORT,
    }
    reply = harness.call("POST", "/passkey/code", body={**good, "redirectPort": 80})
    assert reply.status == 400, reply.body
    assert "redirectPort" in reply.problem["detail"]
    # Refused before anything was used: the same ceremony still answers.
    assert harness.call("POST", "/passkey/code", body=good).status == 200


def test_a_bad_token_request_is_400_and_leaves_the_code_usable(harness):
    key, verifier = passkey(harness), new_verifier()
    code = get_code(harness, key, verifier).body["code"]
    reply = exchange(harness, code, verifier[:42])
    assert reply.status == 400, reply.body
    assert "codeVerifier" in reply.problem["detail"]
    assert events(harness, "authenticate") == []  # refused before any AWS call
    assert exchange(harness, code, verifier).status == 200


def test_single_use_is_enforced_in_the_write_even_after_a_stale_read(harness):
    """Two exchanges racing both read the code unused; the conditional write lets one win."""
    key, verifier = passkey(harness), new_verifier()
    code = get_code(harness, key, verifier).body["code"]
    store = DynamoCodeStore(
        harness.dynamodb,
        table_name=harness.settings.ceremonies_table,
        credentials_table=harness.settings.credentials_table,
    )
    stale = store.get(hash_code(code))
    assert stale is not None
    assert stale.used_at is None
    assert exchange(harness, code, verifier).status == 200  # the racer that won
    with pytest.raises(CodeInvalidError):
        store.redeem(stale, now=int(harness.clock()))
