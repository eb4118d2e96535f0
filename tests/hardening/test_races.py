"""Races: many threads answering ceremonies at once against moto.

moto's in-process DynamoDB backend does not serialize a conditional write's
check and its write (``update_item`` reads the item, evaluates the condition,
then mutates, with no lock), and ThreadedMotoServer runs the same backend code
on werkzeug threads, so neither is atomic under threads. DynamoDB is: each
single-item write and each transaction is serializable. ``atomic_dynamodb``
models exactly that by holding one lock around each moto DynamoDB *operation*
(the whole request handler: moto's ``update_item`` response code deep-copies the
stored item before it calls the backend, so a lock around backend methods alone
lets a concurrent write change the item mid-copy);
the broker's own sequence of requests (consume, verify, counter, STS, audit)
still interleaves freely between threads, which is the race under test.

Two *different users* registering one credential id at the same moment: the
broker's read of the byCredentialId index (eventually consistent) cannot stop
that, the credential-id guard item written in each key's transaction does.

Each thread gets its own resolver (as each Lambda execution environment
does); they share the Broker and its boto3 clients, which is stricter.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fido2.utils import websafe_encode
from moto.dynamodb.responses import DynamoHandler

from tapgate_broker.api.routes import build_app
from tests.hardening.conftest import GATED_ROLE, key_items, register_forged
from tests.support.broker_harness import ORIGIN, Harness, api_event
from tests.support.forge import ForgedKey

THREADS = 50


@pytest.fixture
def atomic_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    lock = threading.RLock()
    original = DynamoHandler.call_action

    def serialized(self: DynamoHandler) -> Any:
        with lock:
            return original(self)

    monkeypatch.setattr(DynamoHandler, "call_action", serialized)


def storm(harness: Harness, requests: list[tuple[str, str, str, dict[str, Any]]]) -> list[int]:
    """Send every (method, path, user, body) at once, each from its own thread."""
    barrier = threading.Barrier(len(requests))

    def one(request: tuple[str, str, str, dict[str, Any]]) -> int:
        method, path, user, body = request
        app = build_app(lambda: harness.broker)
        event = api_event(method, path, body=body, user_arn=harness.user_arn(user))
        barrier.wait()
        status: int = app.resolve(event, None)["statusCode"]
        return status

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(one, requests))


def stored_counter(harness: Harness, key: ForgedKey) -> int:
    items = key_items(harness)
    mine = [i for i in items if i["credentialId"]["S"] == websafe_encode(key.credential_id)]
    assert len(mine) == 1
    return int(mine[0]["signCount"]["N"])


def audit_outcomes(harness: Harness, event: str) -> Counter[str]:
    items = harness.dynamodb.scan(TableName=harness.settings.audit_table)["Items"]
    return Counter(i["outcome"]["S"] for i in items if i["event"]["S"] == event)


def sign_in_request(harness: Harness, key: ForgedKey, **assertion: Any) -> dict[str, Any]:
    options = harness.options("alice", roleArn=GATED_ROLE)
    assert options.status == 200, options.body
    return {
        "ceremonyId": options.body["ceremonyId"],
        "credential": key.assertion(options.body["publicKey"], ORIGIN, **assertion),
        "roleArn": GATED_ROLE,
    }


pytestmark = pytest.mark.usefixtures("atomic_dynamodb")


def test_fifty_threads_with_one_assertion_get_exactly_one_credential_set(harness: Harness):
    key = ForgedKey()
    register_forged(harness, "alice", key)
    body = sign_in_request(harness, key)
    statuses = storm(harness, [("POST", "/authentication/verify", "alice", body)] * THREADS)
    assert statuses.count(200) == 1
    assert Counter(statuses) == {200: 1, 409: THREADS - 1}
    assert len(harness.assume_role_calls) == 1
    assert stored_counter(harness, key) == key.counter
    assert audit_outcomes(harness, "authenticate") == {"success": 1}


@pytest.mark.parametrize("round_", range(5))
def test_two_assertions_racing_on_one_key_leave_the_higher_counter(harness: Harness, round_):
    key = ForgedKey()
    register_forged(harness, "alice", key)
    lower = sign_in_request(harness, key)
    higher = sign_in_request(harness, key)
    copies = 8  # each ceremony is answered from 8 threads at once
    requests = [("POST", "/authentication/verify", "alice", lower)] * copies + [
        ("POST", "/authentication/verify", "alice", higher)
    ] * copies
    statuses = storm(harness, requests)
    per_ceremony = [statuses[:copies], statuses[copies:]]
    for answers in per_ceremony:
        assert answers.count(200) <= 1  # at most one credential set per ceremony
        assert set(answers) <= {200, 401, 409}
    assert per_ceremony[1].count(200) == 1  # the higher counter always wins its ceremony
    assert len(harness.assume_role_calls) == statuses.count(200)
    assert stored_counter(harness, key) == key.counter


def test_one_credential_id_registered_in_racing_ceremonies_gives_one_item(harness: Harness):
    key = ForgedKey()
    requests = []
    for _ in range(10):
        options = harness.call(
            "POST", "/registration/options", body={}, user_arn=harness.user_arn("alice")
        )
        credential = key.register(options.body["publicKey"], ORIGIN)
        body = {"ceremonyId": options.body["ceremonyId"], "credential": credential}
        requests.append(("POST", "/registration/verify", "alice", body))
    statuses = storm(harness, requests)
    assert Counter(statuses) == {201: 1, 409: 9}
    items = key_items(harness)
    assert [i["credentialId"]["S"] for i in items] == [websafe_encode(key.credential_id)]
    assert audit_outcomes(harness, "register") == {"success": 1, "failure": 9}


def test_one_credential_id_racing_between_two_users_gives_one_item(harness: Harness):
    key = ForgedKey()
    requests = []
    for user in ("alice", "bob") * 5:
        options = harness.call(
            "POST", "/registration/options", body={}, user_arn=harness.user_arn(user)
        )
        credential = key.register(options.body["publicKey"], ORIGIN)
        body = {"ceremonyId": options.body["ceremonyId"], "credential": credential}
        requests.append(("POST", "/registration/verify", user, body))
    statuses = storm(harness, requests)
    assert Counter(statuses) == {201: 1, 409: 9}
    assert len(key_items(harness)) == 1


def test_one_enrollment_link_answered_from_many_threads_enrolls_one_key(harness: Harness):
    token = harness.call("POST", "/enrollments", body={}, user_arn=harness.user_arn("bob")).body[
        "token"
    ]
    headers = {"Authorization": f"Bearer {token}"}
    bodies = []
    for _ in range(10):
        options = harness.call("POST", "/enrollment/options", body={}, headers=headers)
        assert options.status == 200, options.body
        credential = ForgedKey().register(options.body["publicKey"], ORIGIN)
        bodies.append({"ceremonyId": options.body["ceremonyId"], "credential": credential})
    barrier = threading.Barrier(len(bodies))

    def one(body: dict[str, Any]) -> int:
        app = build_app(lambda: harness.broker)
        event = api_event("POST", "/enrollment/verify", body=body, headers=headers)
        barrier.wait()
        status: int = app.resolve(event, None)["statusCode"]
        return status

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        statuses = list(pool.map(one, bodies))
    assert Counter(statuses) == {201: 1, 401: 9}
    assert [i["userName"]["S"] for i in key_items(harness)] == ["bob"]
