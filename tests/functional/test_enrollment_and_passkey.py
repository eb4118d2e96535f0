"""Enrollment links and discoverable passkeys, in-process: handler + moto + keys.

Console links go to the local federation stand-in, served here on 127.0.0.1 and
checking sessions against moto's STS, as local mode does.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fido2.utils import websafe_encode

from tapgate.local.federation import TITLE, FederationStandIn, session_check
from tapgate.local.server import moto_secret_lookup
from tapgate_broker.core.enrollment import hash_token
from tapgate_broker.settings import Settings
from tests.support.broker_harness import ACCOUNT, ORIGIN, Harness, Reply, get_assertion
from tests.support.deployment import GATED_ROLE, register_forged
from tests.support.forge import ForgedKey

pytestmark = pytest.mark.usefixtures("aws")

ADMIN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/tapgate-admins"


# -- fixtures -------------------------------------------------------------------------


class _StandInHandler(BaseHTTPRequestHandler):
    server: Any

    def do_GET(self) -> None:
        query = self.path.partition("?")[2]
        answer = self.server.stand_in.handle("GET", query)
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # its queries carry session secrets


@pytest.fixture
def federation(aws: None) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StandInHandler)
    server.stand_in = FederationStandIn(  # type: ignore[attr-defined]
        check_session=session_check(moto_secret_lookup(account_id=ACCOUNT))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/federation"
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(settings: Settings, federation: str) -> Settings:
    return dataclasses.replace(
        settings, admins=("root-admin", ADMIN_ROLE), federation_url=federation
    )


def user_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:user/{name}"


def create_link(h: Harness, caller: str | dict[str, str], user: str | None = None) -> Reply:
    """``caller``: an IAM user's ARN, or ``Harness.role_session``'s keywords."""
    who = {"user_arn": caller} if isinstance(caller, str) else caller
    return h.call("POST", "/enrollments", body={"userName": user} if user else {}, **who)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def enroll(h: Harness, token: str, key: ForgedKey, nickname: str = "phone") -> Reply:
    options = h.call("POST", "/enrollment/options", body={}, headers=bearer(token))
    assert options.status == 200, options.body
    return h.call(
        "POST",
        "/enrollment/verify",
        body={
            "ceremonyId": options.body["ceremonyId"],
            "credential": key.register(options.body["publicKey"], ORIGIN),
            "nickname": nickname,
        },
        headers=bearer(token),
    )


def audit_events(h: Harness, event: str) -> list[dict[str, Any]]:
    return [i for i in h.table_items(h.settings.audit_table) if i["event"]["S"] == event]


def signed_key_count(h: Harness, user: str) -> int:
    listed = h.call("GET", "/credentials", user_arn=user_arn(user))
    return len(listed.body["credentials"])


# -- creating enrollment links -----------------------------------------------------------


def test_an_admin_creates_a_link_for_anyone_and_only_its_hash_is_stored(harness):
    reply = create_link(harness, user_arn("root-admin"), "bob")
    assert reply.status == 201, reply.body
    token = reply.body["token"]
    assert len(token) >= 43  # 256 bits, base64url
    assert reply.body["userName"] == "bob"
    assert reply.body["url"] == f"{ORIGIN}/v1/enroll#token={token}"
    assert reply.body["expiresAt"] == "2027-01-15T08:15:00Z"  # 900 s after the fake clock
    stored = json.dumps(harness.snapshot(), default=lambda b: bytes(b).hex())
    assert token not in stored
    assert hash_token(token) in stored
    (issued,) = audit_events(harness, "enrollment-issued")
    assert issued["userName"]["S"] == "bob"
    assert issued["issuedBy"]["S"] == user_arn("root-admin")


def test_a_session_of_an_admin_role_is_an_admin(harness):
    reply = create_link(harness, harness.role_session("tapgate-admins", "carol@example.com"), "bob")
    assert reply.status == 201, reply.body


def test_a_role_named_like_the_admin_role_on_another_path_is_not_an_admin(harness):
    """The admin entry is the role's ARN with its path; the session ARN has no path."""
    reply = create_link(
        harness, harness.role_session("tapgate-admins", "carol", path="/elsewhere/"), "bob"
    )
    assert reply.status == 403


def _other_account_session(h: Harness) -> dict[str, str]:
    ours = h.role_session("tapgate-admins", "x")
    return {**ours, "user_arn": "arn:aws:sts::999988887777:assumed-role/tapgate-admins/x"}


@pytest.mark.parametrize(
    "caller",
    [
        lambda h: user_arn("mallory"),
        # a role session named like the admin user is not that user
        lambda h: h.role_session("developers", "root-admin"),
        # a role of the same name in another account is another role
        _other_account_session,
    ],
    ids=["user", "session-named-like-admin", "other-account"],
)
def test_anyone_else_cannot_create_a_link_for_someone_else(harness, caller):
    reply = create_link(harness, caller(harness), "bob")
    assert reply.status == 403
    assert reply.problem["status"] == 403
    assert audit_events(harness, "enrollment-issued") == []


def test_a_user_without_a_key_creates_a_link_for_themself(harness):
    reply = create_link(harness, user_arn("dave"))
    assert reply.status == 201, reply.body
    assert reply.body["userName"] == "dave"


def test_a_user_with_a_key_cannot_create_a_link_for_themself(harness):
    harness.register("dave", harness.new_key())
    reply = create_link(harness, user_arn("dave"))
    assert reply.status == 403
    assert "already have a key" in reply.problem["detail"]


@pytest.mark.parametrize(
    "name", ["", "a" * 65, "bob smith", "bob/../x", "b\u00f6b", 42, "bob\n", "b", "aws:bob"]
)
def test_a_malformed_user_name_is_400(harness, name):
    reply = harness.call(
        "POST", "/enrollments", body={"userName": name}, user_arn=user_arn("root-admin")
    )
    assert reply.status == 400
    assert audit_events(harness, "enrollment-issued") == []


def test_creating_a_link_needs_a_signature(harness):
    assert harness.call("POST", "/enrollments", body={"userName": "bob"}).status == 403


# -- using an enrollment link -----------------------------------------------------------------


def test_a_link_enrolls_one_key_and_is_then_used_up(harness):
    token = create_link(harness, user_arn("root-admin"), "bob").body["token"]
    key = ForgedKey()
    options = harness.call("POST", "/enrollment/options", body={}, headers=bearer(token))
    assert options.status == 200
    assert options.body["userName"] == "bob"
    assert options.body["publicKey"]["user"]["name"] == "bob"
    assert "stepUp" not in options.body
    reply = harness.call(
        "POST",
        "/enrollment/verify",
        body={
            "ceremonyId": options.body["ceremonyId"],
            "credential": key.register(options.body["publicKey"], ORIGIN),
            "nickname": "phone",
        },
        headers=bearer(token),
    )
    assert reply.status == 201, reply.body
    assert reply.body["credential"]["nickname"] == "phone"
    assert signed_key_count(harness, "bob") == 1
    (registered,) = audit_events(harness, "register")
    assert registered["outcome"]["S"] == "success"
    assert registered["via"]["S"] == "enrollment-token"

    again = harness.call("POST", "/enrollment/options", body={}, headers=bearer(token))
    assert again.status == 401
    assert again.problem["type"].endswith("/enrollment-token-invalid")


def test_a_failed_touch_leaves_the_link_usable(harness):
    token = create_link(harness, user_arn("root-admin"), "bob").body["token"]
    options = harness.call("POST", "/enrollment/options", body={}, headers=bearer(token))
    credential = ForgedKey().register(options.body["publicKey"], "https://evil.example")
    body = {"ceremonyId": options.body["ceremonyId"], "credential": credential}
    assert (
        harness.call("POST", "/enrollment/verify", body=body, headers=bearer(token)).status == 401
    )
    assert enroll(harness, token, ForgedKey()).status == 201


def test_an_expired_link_is_refused_at_options_and_at_verify(harness, clock):
    token = create_link(harness, user_arn("root-admin"), "bob").body["token"]
    options = harness.call("POST", "/enrollment/options", body={}, headers=bearer(token))
    clock.advance(901)
    late = harness.call("POST", "/enrollment/options", body={}, headers=bearer(token))
    assert late.status == 401
    assert late.problem["type"].endswith("/enrollment-token-invalid")
    body = {
        "ceremonyId": options.body["ceremonyId"],
        "credential": ForgedKey().register(options.body["publicKey"], ORIGIN),
    }
    reply = harness.call("POST", "/enrollment/verify", body=body, headers=bearer(token))
    assert reply.status == 401
    assert harness.key_items() == []


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwdw==", "Bearer short", "Bearer " + "a" * 43],
)
def test_a_missing_malformed_or_unknown_token_is_the_same_401(harness, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    reply = harness.call("POST", "/enrollment/options", body={}, headers=headers)
    assert reply.status == 401
    assert reply.problem["detail"] == (
        "This enrollment link has expired or was already used; ask for a new one."
    )


def test_a_ceremony_begun_with_one_link_cannot_be_finished_with_another(harness):
    first = create_link(harness, user_arn("root-admin"), "bob").body["token"]
    second = create_link(harness, user_arn("root-admin"), "bob").body["token"]
    options = harness.call("POST", "/enrollment/options", body={}, headers=bearer(first))
    body = {
        "ceremonyId": options.body["ceremonyId"],
        "credential": ForgedKey().register(options.body["publicKey"], ORIGIN),
    }
    reply = harness.call("POST", "/enrollment/verify", body=body, headers=bearer(second))
    assert reply.status == 404  # not this link's ceremony; it stays unused
    assert harness.key_items() == []
    assert enroll(harness, second, ForgedKey()).status == 201  # the other link still works


def test_a_signed_registration_ceremony_cannot_be_finished_with_a_link(harness):
    token = create_link(harness, user_arn("root-admin"), "bob").body["token"]
    options = harness.call("POST", "/registration/options", body={}, user_arn=user_arn("bob"))
    body = {
        "ceremonyId": options.body["ceremonyId"],
        "credential": ForgedKey().register(options.body["publicKey"], ORIGIN),
    }
    reply = harness.call("POST", "/enrollment/verify", body=body, headers=bearer(token))
    assert reply.status == 404  # begun with SigV4, so only SigV4 can finish it
    assert harness.key_items() == []


def test_an_admin_link_adds_a_key_without_step_up_for_a_user_who_lost_theirs(harness):
    harness.register("bob", harness.new_key())
    token = create_link(harness, user_arn("root-admin"), "bob").body["token"]
    assert enroll(harness, token, ForgedKey()).status == 201
    assert signed_key_count(harness, "bob") == 2


def test_a_self_issued_link_stops_working_once_the_user_has_a_key(harness):
    token = create_link(harness, user_arn("dave")).body["token"]
    harness.register("dave", harness.new_key())
    reply = harness.call("POST", "/enrollment/options", body={}, headers=bearer(token))
    assert reply.status == 401
    assert signed_key_count(harness, "dave") == 1


def test_a_bearer_token_does_not_open_the_signed_registration_route(harness):
    token = create_link(harness, user_arn("root-admin"), "bob").body["token"]
    reply = harness.call("POST", "/registration/options", body={}, headers=bearer(token))
    assert reply.status == 403


# -- passkey sign-in --------------------------------------------------------------------


def register_passkey(h: Harness, user: str) -> ForgedKey:
    key = ForgedKey()
    register_forged(h, user, key)
    return key


def passkey_options(h: Harness, **body: Any) -> Reply:
    reply = h.call("POST", "/passkey/options", body=body)
    assert reply.status == 200, reply.body
    return reply


def passkey_verify(
    h: Harness, key: ForgedKey, *, user_verified: bool = True, **extra: Any
) -> Reply:
    options = passkey_options(h, roleArn=GATED_ROLE)
    assertion = key.assertion(options.body["publicKey"], ORIGIN, user_verified=user_verified)
    return h.call(
        "POST",
        "/passkey/verify",
        body={
            "ceremonyId": options.body["ceremonyId"],
            "credential": assertion,
            "roleArn": GATED_ROLE,
            **extra,
        },
    )


def test_passkey_options_allow_any_credential_and_require_user_verification(harness):
    public_key = passkey_options(harness, roleArn=GATED_ROLE).body["publicKey"]
    assert public_key.get("allowCredentials", []) == []
    assert public_key["userVerification"] == "required"
    assert public_key["rpId"] == "localhost"


def test_a_passkey_signs_in_and_the_console_link_opens_the_role_session(
    harness, aws_session_factory
):
    key = register_passkey(harness, "alice")
    reply = passkey_verify(harness, key, console=True)
    assert reply.status == 200, reply.body
    assert reply.body["SourceIdentity"] == "alice"
    assert harness.assume_role_calls[-1]["SourceIdentity"] == "alice"
    identity = aws_session_factory(reply.body).client("sts").get_caller_identity()
    assert identity["Arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/tapgate-test-admin/")
    link = urllib.parse.urlsplit(reply.body["consoleUrl"])
    query = urllib.parse.parse_qs(link.query)
    assert query["Action"] == ["login"]
    assert query["Issuer"] == [ORIGIN]
    assert query["Destination"] == ["https://console.aws.amazon.com/"]
    with urllib.request.urlopen(reply.body["consoleUrl"], timeout=10) as page:
        text = page.read().decode()
    assert f"<title>{TITLE}</title>" in text
    assert identity["Arn"] in text


def test_without_console_there_is_no_console_link(harness):
    reply = passkey_verify(harness, register_passkey(harness, "alice"))
    assert reply.status == 200
    assert "consoleUrl" not in reply.body


def test_a_passkey_through_a_real_client_with_a_pin(harness):
    key = harness.new_key(pin="1234")
    assert harness.register("alice", key, pin="1234").status == 201
    options = passkey_options(harness, roleArn=GATED_ROLE)
    assertion = get_assertion(harness.client(key, pin="1234"), options.body["publicKey"])
    reply = harness.call(
        "POST",
        "/passkey/verify",
        body={
            "ceremonyId": options.body["ceremonyId"],
            "credential": assertion,
            "roleArn": GATED_ROLE,
        },
    )
    assert reply.status == 200, reply.body
    assert reply.body["SourceIdentity"] == "alice"


def test_a_passkey_without_user_verification_fails(harness):
    key = register_passkey(harness, "alice")
    reply = passkey_verify(harness, key, user_verified=False)
    assert reply.status == 401
    assert harness.assume_role_calls == []


def test_an_unknown_credential_and_a_wrong_signature_look_the_same(harness):
    key = register_passkey(harness, "alice")
    stranger = ForgedKey(user_handle=key.user_handle)
    unknown = passkey_verify(harness, stranger)
    impostor = ForgedKey(credential_id=key.credential_id, user_handle=key.user_handle)
    wrong_signature = passkey_verify(harness, impostor)
    assert unknown.status == wrong_signature.status == 401
    assert unknown.body == wrong_signature.body
    assert harness.assume_role_calls == []


def test_a_user_handle_of_someone_else_fails(harness):
    alice, bob = register_passkey(harness, "alice"), register_passkey(harness, "bob")
    alice.user_handle = bob.user_handle
    assert passkey_verify(harness, alice).status == 401


def test_passkey_and_signed_ceremonies_do_not_mix(harness):
    key = register_passkey(harness, "alice")
    unsigned = passkey_options(harness, roleArn=GATED_ROLE)
    answer = {
        "ceremonyId": unsigned.body["ceremonyId"],
        "credential": key.assertion(unsigned.body["publicKey"], ORIGIN, user_verified=True),
        "roleArn": GATED_ROLE,
    }
    signed_answer = harness.call(
        "POST", "/authentication/verify", body=answer, user_arn=user_arn("alice")
    )
    assert signed_answer.status == 404
    signed = harness.options("alice", roleArn=GATED_ROLE)
    answer = {
        "ceremonyId": signed.body["ceremonyId"],
        "credential": key.assertion(signed.body["publicKey"], ORIGIN, user_verified=True),
        "roleArn": GATED_ROLE,
    }
    assert harness.call("POST", "/passkey/verify", body=answer).status == 404


def test_a_bad_console_flag_is_400_and_leaves_the_ceremony_usable(harness):
    key = register_passkey(harness, "alice")
    options = passkey_options(harness, roleArn=GATED_ROLE)
    body = {
        "ceremonyId": options.body["ceremonyId"],
        "credential": key.assertion(options.body["publicKey"], ORIGIN, user_verified=True),
        "roleArn": GATED_ROLE,
        "console": "yes",
    }
    assert harness.call("POST", "/passkey/verify", body=body).status == 400
    body["console"] = False
    assert harness.call("POST", "/passkey/verify", body=body).status == 200


def test_a_federation_endpoint_that_is_down_is_503_with_retry_after(harness, federation):
    harness.broker._console._endpoint = "http://127.0.0.1:9/federation"  # nothing listens
    reply = passkey_verify(harness, register_passkey(harness, "alice"), console=True)
    assert reply.status == 503
    assert int(reply.headers["Retry-After"]) >= 1
    assert "127.0.0.1" not in json.dumps(reply.problem)


# -- managing keys with a passkey ------------------------------------------------------------


def manage_answer(h: Harness, key: ForgedKey, *, user_verified: bool = True) -> dict[str, Any]:
    options = passkey_options(h, purpose="manage")
    return {
        "ceremonyId": options.body["ceremonyId"],
        "credential": key.assertion(options.body["publicKey"], ORIGIN, user_verified=user_verified),
    }


def test_a_passkey_lists_its_owners_keys(harness):
    key = register_passkey(harness, "alice")
    register_passkey(harness, "bob")
    reply = harness.call("POST", "/passkey/credentials/list", body=manage_answer(harness, key))
    assert reply.status == 200, reply.body
    assert reply.body["userName"] == "alice"
    assert [c["credentialId"] for c in reply.body["credentials"]] == [
        websafe_encode(key.credential_id)
    ]
    assert len(audit_events(harness, "list-keys")) == 1


def test_listing_needs_user_verification(harness):
    key = register_passkey(harness, "alice")
    body = manage_answer(harness, key, user_verified=False)
    assert harness.call("POST", "/passkey/credentials/list", body=body).status == 401


def test_a_sign_in_ceremony_cannot_list_keys(harness):
    key = register_passkey(harness, "alice")
    options = passkey_options(harness, roleArn=GATED_ROLE)
    body = {
        "ceremonyId": options.body["ceremonyId"],
        "credential": key.assertion(options.body["publicKey"], ORIGIN, user_verified=True),
    }
    assert harness.call("POST", "/passkey/credentials/list", body=body).status == 404


def test_a_passkey_removes_one_of_its_owners_keys(harness):
    key = register_passkey(harness, "alice")
    target = websafe_encode(key.credential_id)
    reply = harness.call(
        "DELETE", f"/passkey/credentials/{target}", body=manage_answer(harness, key)
    )
    assert reply.status == 204
    assert signed_key_count(harness, "alice") == 0
    assert harness.key_items() == []
    assert [i["outcome"]["S"] for i in audit_events(harness, "revoke")] == ["success"]


def test_a_passkey_cannot_remove_someone_elses_key(harness):
    key = register_passkey(harness, "alice")
    bob = register_passkey(harness, "bob")
    target = websafe_encode(bob.credential_id)
    reply = harness.call(
        "DELETE", f"/passkey/credentials/{target}", body=manage_answer(harness, key)
    )
    assert reply.status == 404
    assert signed_key_count(harness, "bob") == 1


def test_a_removed_key_can_be_registered_again(harness):
    key = register_passkey(harness, "alice")
    target = websafe_encode(key.credential_id)
    harness.call("DELETE", f"/passkey/credentials/{target}", body=manage_answer(harness, key))
    register_forged(harness, "bob", key)  # 201: the id guard went with the key
