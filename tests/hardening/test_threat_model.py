"""docs/design.md's threat model, claim by claim, attacked over HTTP in local mode.

One ``tapgate local`` (moto's server, the real handler behind the local gateway, SigV4 checked
as API Gateway checks it) serves the whole module; every test makes its own IAM users (or
role sessions) in moto, so the tests do not depend on each other. The attacker speaks HTTP
with its own SigV4 signer and forges WebAuthn answers byte by byte (forge.py).

What local mode cannot show is said where it matters: IAM conditions are not evaluated by
moto or the local gateway, so the resource policy that keeps stolen access keys away from
the first-key routes is proven with the IAM evaluator and oracle in
tests/infrastructure/test_api_policy.py; ceremony expiry needs a clock the test controls
(tests/functional). Each claim's docstring names the line of the threat model it attacks.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from fido2.utils import websafe_encode

from tapgate.local.server import LocalHandle, start_local
from tests.support.forge import ForgedKey

REGION = "us-east-1"
GENERIC_401 = "The security key ceremony could not be verified."


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHandle]:
    handle = start_local(port=0, open_route_limits=(1000.0, 1000))
    try:
        yield handle
    finally:
        handle.stop()


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class Client:
    """An HTTP client of the local API: signed (SigV4) when it has credentials."""

    api_url: str
    credentials: Credentials | None = None
    arn: str = ""

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        sign: bool = True,
    ) -> Reply:
        data = json.dumps(body).encode() if body is not None else b""
        url = self.api_url + path
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if sign and self.credentials is not None:
            request = AWSRequest(method=method, url=url, data=data, headers=all_headers)
            SigV4Auth(self.credentials, "execute-api", REGION).add_auth(request)
            all_headers = dict(request.headers.items())
        http_request = urllib.request.Request(
            url, data=data or None, headers=all_headers, method=method
        )
        try:
            with urllib.request.urlopen(http_request, timeout=30) as response:
                text = response.read().decode()
                reply = Reply(response.status, dict(response.headers), _json(text))
        except urllib.error.HTTPError as error:
            reply = Reply(error.code, dict(error.headers), _json(error.read().decode()))
        assert reply.status < 500, (method, path, reply.status, reply.body)  # no fault injected
        return reply


def _json(text: str) -> Any:
    return json.loads(text) if text else None


def aws(local: LocalHandle, service: str) -> Any:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    return session.client(service, endpoint_url=local.aws_endpoint_url)


def new_user(local: LocalHandle, prefix: str = "user") -> Client:
    """An IAM user of its own in moto, with an access key, as a signed client."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    iam = aws(local, "iam")
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    credentials = Credentials(key["AccessKeyId"], key["SecretAccessKey"])
    return Client(local.api_url, credentials, arn)


def role_session(local: LocalHandle, role: str, path: str, session_name: str) -> Client:
    """A session of a role made in moto (any path), as a signed client."""
    iam = aws(local, "iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    try:
        arn = iam.get_role(RoleName=role)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        arn = iam.create_role(RoleName=role, Path=path, AssumeRolePolicyDocument=json.dumps(trust))[
            "Role"
        ]["Arn"]
    issued = aws(local, "sts").assume_role(RoleArn=arn, RoleSessionName=session_name)
    c = issued["Credentials"]
    credentials = Credentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    return Client(local.api_url, credentials, issued["AssumedRoleUser"]["Arn"])


def anonymous(local: LocalHandle) -> Client:
    return Client(local.api_url)


def gated_role(local: LocalHandle) -> str:
    return str(local.state["gatedRoles"][0]["arn"])


def origin(local: LocalHandle) -> str:
    return str(local.state["origin"])


def register(
    client: Client, key: ForgedKey, local: LocalHandle, step_up: ForgedKey | None = None
) -> Reply:
    """A first key on the MFA-gated route (local mode does not evaluate IAM conditions), or a
    further key with a step-up on the step-up route."""
    base = "/v1/registration/step-up" if step_up else "/v1/registration"
    options = client.call("POST", f"{base}/options", {})
    assert options.status == 200, options.body
    body: dict[str, Any] = {
        "ceremonyId": options.body["ceremonyId"],
        "credential": key.register(options.body["publicKey"], origin(local)),
    }
    if step_up is not None:
        body["stepUp"] = step_up.assertion(options.body["stepUp"], origin(local))
    return client.call("POST", f"{base}/verify", body)


def with_key(local: LocalHandle, prefix: str = "user") -> tuple[Client, ForgedKey]:
    client, key = new_user(local, prefix), ForgedKey()
    assert register(client, key, local).status == 201
    return client, key


def sign_in(client: Client, key: ForgedKey, local: LocalHandle, **assertion: Any) -> Reply:
    options = client.call("POST", "/v1/authentication/options", {"roleArn": gated_role(local)})
    assert options.status == 200, options.body
    return client.call(
        "POST",
        "/v1/authentication/verify",
        {
            "ceremonyId": options.body["ceremonyId"],
            "credential": key.assertion(options.body["publicKey"], origin(local), **assertion),
            "roleArn": gated_role(local),
        },
    )


def problem(reply: Reply, status: int) -> dict[str, Any]:
    assert reply.status == status, reply.body
    assert reply.headers["Content-Type"] == "application/problem+json"
    assert set(reply.body) == {"type", "title", "status", "detail"}
    return dict(reply.body)


# -- "A phished or replayed assertion is useless" -----------------------------------------


def test_a_replayed_assertion_is_useless(local):
    """Challenges are single-use: the same answer twice, or in a new ceremony."""
    alice, key = with_key(local)
    options = alice.call("POST", "/v1/authentication/options", {"roleArn": gated_role(local)})
    answer = {
        "ceremonyId": options.body["ceremonyId"],
        "credential": key.assertion(options.body["publicKey"], origin(local)),
        "roleArn": gated_role(local),
    }
    assert alice.call("POST", "/v1/authentication/verify", answer).status == 200
    problem(alice.call("POST", "/v1/authentication/verify", answer), 409)
    fresh = alice.call("POST", "/v1/authentication/options", {"roleArn": gated_role(local)})
    moved = {**answer, "ceremonyId": fresh.body["ceremonyId"]}
    assert problem(alice.call("POST", "/v1/authentication/verify", moved), 401)["detail"] == (
        GENERIC_401
    )


@pytest.mark.parametrize(
    "phished",
    [
        {"origin": "https://tapgate-login.example"},  # a look-alike page relayed the ceremony
        {"type": "webauthn.create"},  # a registration's client data
    ],
)
def test_an_assertion_made_for_another_origin_or_purpose_is_useless(local, phished):
    alice, key = with_key(local)
    key.client_data = phished
    problem(sign_in(alice, key, local), 401)


def test_an_assertion_for_another_rp_id_is_useless(local):
    alice, key = with_key(local)
    options = alice.call("POST", "/v1/authentication/options", {"roleArn": gated_role(local)})
    public_key = {**options.body["publicKey"], "rpId": "evil.example"}  # signs another RP's hash
    answer = {
        "ceremonyId": options.body["ceremonyId"],
        "credential": key.assertion(public_key, origin(local)),
        "roleArn": gated_role(local),
    }
    problem(alice.call("POST", "/v1/authentication/verify", answer), 401)


def test_a_ceremony_is_bound_to_its_user_and_kind(local):
    """Bob cannot answer alice's ceremony; a registration ceremony does not sign in."""
    alice, key = with_key(local)
    bob, _ = with_key(local)
    options = alice.call("POST", "/v1/authentication/options", {"roleArn": gated_role(local)})
    answer = {
        "ceremonyId": options.body["ceremonyId"],
        "credential": key.assertion(options.body["publicKey"], origin(local)),
        "roleArn": gated_role(local),
    }
    problem(bob.call("POST", "/v1/authentication/verify", answer), 404)
    registration = alice.call("POST", "/v1/registration/step-up/options", {})
    wrong_kind = {**answer, "ceremonyId": registration.body["ceremonyId"]}
    problem(alice.call("POST", "/v1/authentication/verify", wrong_kind), 404)
    assert alice.call("POST", "/v1/authentication/verify", answer).status == 200  # not burnt


# -- "Stolen long-term access keys alone give neither a registered key nor credentials" ----


def test_stolen_access_keys_neither_add_a_key_nor_sign_in(local):
    """The attacker signs as alice (her access keys) but holds no key of hers."""
    alice, key = with_key(local)
    theirs = ForgedKey()
    for step_up in (None, ForgedKey(), ForgedKey(credential_id=key.credential_id)):
        options = alice.call("POST", "/v1/registration/step-up/options", {})
        body: dict[str, Any] = {
            "ceremonyId": options.body["ceremonyId"],
            "credential": theirs.register(options.body["publicKey"], origin(local)),
        }
        if step_up is not None:
            body["stepUp"] = step_up.assertion(options.body["stepUp"], origin(local))
        problem(alice.call("POST", "/v1/registration/step-up/verify", body), 401)
    posing = ForgedKey(credential_id=key.credential_id, user_handle=key.user_handle)
    problem(sign_in(alice, posing, local, counter=10**6), 401)
    link = alice.call("POST", "/v1/enrollments", {})  # a self-issued link: she has a key
    problem(link, 403)
    listed = alice.call("GET", "/v1/credentials")
    assert [c["credentialId"] for c in listed.body["credentials"]] == [
        websafe_encode(key.credential_id)
    ]


def test_a_first_key_needs_what_the_ceremony_was_begun_with(local):
    """Step-up is decided when the key is stored: a ceremony begun keyless stores nothing once
    a key exists (finding 1), over the wire."""
    carol = new_user(local)
    early = carol.call("POST", "/v1/registration/options", {})
    assert "stepUp" not in early.body
    assert register(carol, ForgedKey(), local).status == 201
    late = carol.call(
        "POST",
        "/v1/registration/verify",
        {
            "ceremonyId": early.body["ceremonyId"],
            "credential": ForgedKey().register(early.body["publicKey"], origin(local)),
        },
    )
    problem(late, 409)
    assert len(carol.call("GET", "/v1/credentials").body["credentials"]) == 1


# -- "A cloned key is detected by a sign counter that does not advance" -------------------


def test_a_cloned_key_is_detected_by_its_counter(local):
    alice, key = with_key(local)
    assert sign_in(alice, key, local).status == 200  # the original: counter 1
    clone = ForgedKey(
        credential_id=key.credential_id, private_key=key.private_key, user_handle=key.user_handle
    )
    problem(sign_in(alice, clone, local, counter=1), 401)  # the copy repeats it
    assert sign_in(alice, key, local).status == 200  # the original still works


# -- "The broker can assume only gated roles" ------------------------------------------------


@pytest.mark.parametrize(
    "role",
    [
        "arn:aws:iam::123456789012:role/tapgate-broker",
        "arn:aws:iam::999999999999:role/tapgate-demo-admin",
    ],
)
def test_a_role_tapgate_does_not_gate_is_refused(local, role):
    alice, key = with_key(local)
    options = alice.call("POST", "/v1/authentication/options", {"roleArn": gated_role(local)})
    answer = {
        "ceremonyId": options.body["ceremonyId"],
        "credential": key.assertion(options.body["publicKey"], origin(local)),
        "roleArn": role,
    }
    problem(alice.call("POST", "/v1/authentication/verify", answer), 403)


# -- "Bad input of any shape gets a 4xx problem document, never a 500" -----------------------


@pytest.mark.parametrize(
    ("method", "path", "raw", "content_type"),
    [
        ("POST", "/v1/passkey/verify", b"{", "application/json"),
        ("POST", "/v1/passkey/verify", b"\xff\xfe", "application/json"),
        ("POST", "/v1/passkey/verify", b'{"ceremonyId": 1}', "text/plain"),
        ("POST", "/v1/passkey/verify", b"[" * 5000, "application/json"),
        ("POST", "/v1/passkey/verify", b'{"a": NaN}', "application/json"),
        ("POST", "/v1/enrollment/options", b"{}", "application/json"),  # no token
        ("DELETE", "/v1/passkey/credentials/%2e%2e%2f", b"{}", "application/json"),
        ("TRACE", "/v1/", b"", "application/json"),
        ("GET", "/v1/static/../handler.py", b"", "application/json"),
    ],
)
def test_bad_input_gets_a_4xx_problem_document(local, method, path, raw, content_type):
    request = urllib.request.Request(
        local.api_url + path,
        data=raw or None,
        headers={"Content-Type": content_type},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, headers, text = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, headers, text = error.code, error.headers, error.read()
    assert 400 <= status < 500, (status, text[:200])
    assert headers["Content-Type"] == "application/problem+json"
    assert json.loads(text)["status"] == status


# -- "An enrollment link is a bearer secret ..." ----------------------------------------------


def test_an_enrollment_link_is_a_one_time_secret_stored_only_as_its_hash(local):
    newcomer = new_user(local, "newcomer")
    link = newcomer.call("POST", "/v1/enrollments", {})
    assert link.status == 201, link.body
    token = link.body["token"]
    assert len(token) == 43  # 256 bits, base64url
    assert link.body["url"].endswith(f"/v1/enroll#token={token}")  # in the fragment
    tables = aws(local, "dynamodb")
    stored = json.dumps(tables.scan(TableName="tapgate-ceremonies")["Items"], default=str)
    assert token not in stored
    assert hashlib.sha256(token.encode()).hexdigest() in stored
    bearer = {"Authorization": f"Bearer {token}"}
    web = anonymous(local)
    for expected in (201, 401):  # used up by the key it enrolled
        options = web.call("POST", "/v1/enrollment/options", {}, headers=bearer)
        if expected == 401:
            problem(options, 401)
            break
        answer = {
            "ceremonyId": options.body["ceremonyId"],
            "credential": ForgedKey().register(options.body["publicKey"], origin(local)),
        }
        assert web.call("POST", "/v1/enrollment/verify", answer, headers=bearer).status == 201


def test_a_link_ceremony_is_finished_only_with_the_link(local):
    """Finding 2 over the wire: the link's user cannot finish it with SigV4."""
    newcomer = new_user(local, "newcomer")
    token = newcomer.call("POST", "/v1/enrollments", {}).body["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    options = anonymous(local).call("POST", "/v1/enrollment/options", {}, headers=bearer)
    answer = {
        "ceremonyId": options.body["ceremonyId"],
        "credential": ForgedKey().register(options.body["publicKey"], origin(local)),
    }
    problem(newcomer.call("POST", "/v1/registration/verify", answer), 404)
    assert (
        anonymous(local).call("POST", "/v1/enrollment/verify", answer, headers=bearer).status == 201
    )


# -- "A discoverable passkey ... requires user verification, and says nothing" ---------------


def passkey_answer(local: LocalHandle, key: ForgedKey, **assertion: Any) -> dict[str, Any]:
    options = anonymous(local).call("POST", "/v1/passkey/options", {"roleArn": gated_role(local)})
    return {
        "ceremonyId": options.body["ceremonyId"],
        "credential": key.assertion(options.body["publicKey"], origin(local), **assertion),
        "roleArn": gated_role(local),
    }


def test_a_passkey_needs_user_verification(local):
    _, key = with_key(local)
    web = anonymous(local)
    problem(web.call("POST", "/v1/passkey/verify", passkey_answer(local, key)), 401)
    verified = passkey_answer(local, key, user_verified=True)
    assert web.call("POST", "/v1/passkey/verify", verified).status == 200


def test_a_failed_passkey_says_nothing_about_what_exists(local):
    _, key = with_key(local)
    web = anonymous(local)
    unknown = passkey_answer(local, ForgedKey(user_handle=b"u" * 32), user_verified=True)
    forged = passkey_answer(
        local,
        ForgedKey(credential_id=key.credential_id, user_handle=key.user_handle),
        user_verified=True,
    )
    answers = [web.call("POST", "/v1/passkey/verify", a) for a in (unknown, forged)]
    first, second = (problem(a, 401) for a in answers)
    assert first == second


# -- "A role session's name is chosen by whoever assumes the role" ----------------------------


def test_only_confirmed_identity_role_sessions_are_users(local):
    """Finding 4 over the wire: a self-made role named like Identity Center's, assumed with
    a victim's name, is refused; a genuine Identity Center role session is its user."""
    victim, _ = with_key(local, "victim")
    victim_name = victim.arn.rsplit("/", 1)[1]
    fake = role_session(local, "AWSReservedSSO_Admin_fa4e", "/attacker/", victim_name)
    problem(fake.call("GET", "/v1/credentials"), 403)
    genuine = role_session(
        local, "AWSReservedSSO_Admin_9e1b", "/aws-reserved/sso.amazonaws.com/", "carol"
    )
    listed = genuine.call("GET", "/v1/credentials")
    assert listed.status == 200, listed.body
    assert listed.body == {"credentials": []}


# -- local mode itself: DNS rebinding ---------------------------------------------------------


def test_a_page_on_another_host_cannot_reach_the_local_api(local):
    reply = anonymous(local).call(
        "GET", "/v1/config", headers={"Host": "attacker.example"}, sign=False
    )
    problem(reply, 403)


# -- "A stolen admin session without the admin's key can revoke nothing" ------------------


def demo_admin(local: LocalHandle) -> Client:
    """Local mode's demo user, the one configured admin."""
    user = local.state["demoUser"]
    return Client(local.api_url, Credentials(user["accessKeyId"], user["secretAccessKey"]))


def admin_approval(admin: Client, key: ForgedKey, local: LocalHandle) -> dict[str, Any]:
    options = admin.call("POST", "/v1/admin/options", {})
    assert options.status == 200, options.body
    return {
        "ceremonyId": options.body["ceremonyId"],
        "credential": key.assertion(options.body["publicKey"], origin(local)),
    }


def test_an_admin_revokes_all_of_a_users_keys_and_their_next_sign_in_fails(local):
    admin, admin_key = demo_admin(local), ForgedKey()
    assert register(admin, admin_key, local).status == 201
    user, key = with_key(local, "leaver")
    second = ForgedKey()
    assert register(user, second, local, step_up=key).status == 201
    name = user.arn.rsplit("/", 1)[1]
    path = f"/v1/admin/users/{name}/credentials"
    # non-admins (the user, and a stranger with a key) get 403 on every admin route
    stranger, _ = with_key(local, "stranger")
    for client in (user, stranger):
        for method, route, body in (
            ("POST", "/v1/admin/options", {}),
            ("GET", path, None),
            ("DELETE", path, {"ceremonyId": "A" * 32, "credential": {}, "reason": "x"}),
            (
                "DELETE",
                f"{path}/{websafe_encode(key.credential_id)}",
                {"ceremonyId": "A" * 32, "credential": {}, "reason": "x"},
            ),
            ("GET", "/v1/admin/report", None),
        ):
            problem(client.call(method, route, body), 403)
    # the admin's session with another key's answer revokes nothing
    stolen = admin.call(
        "DELETE", path, {**admin_approval(admin, ForgedKey(), local), "reason": "x"}
    )
    problem(stolen, 401)
    assert len(admin.call("GET", path).body["credentials"]) == 2
    # begun before the revocation, finished after: refused
    options = user.call("POST", "/v1/authentication/options", {"roleArn": gated_role(local)})
    early = key.assertion(options.body["publicKey"], origin(local))
    revoked = admin.call(
        "DELETE", path, {**admin_approval(admin, admin_key, local), "reason": "left the company"}
    )
    assert revoked.status == 200, revoked.body
    assert sorted(revoked.body["revoked"]) == sorted(
        websafe_encode(k.credential_id) for k in (key, second)
    )
    assert admin.call("GET", path).body["credentials"] == []
    late = user.call(
        "POST",
        "/v1/authentication/verify",
        {
            "ceremonyId": options.body["ceremonyId"],
            "credential": early,
            "roleArn": gated_role(local),
        },
    )
    problem(late, 401)
    problem(user.call("POST", "/v1/authentication/options", {"roleArn": gated_role(local)}), 404)
    report = admin.call("GET", "/v1/admin/report?unusedDays=1")
    assert report.status == 200, report.body
    assert name not in {u["userName"] for u in report.body["users"]}
