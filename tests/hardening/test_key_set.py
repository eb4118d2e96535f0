"""Step-up is decided, and enforced, when a key is stored (finding 1), and keys are capped.

Every transaction that adds or removes a key checks and moves the user's key-set version,
so a ceremony begun against one key set cannot store a key into another: a first key
without step-up once another key exists, two first-key registrations one after the other,
a key past the cap, or a removal approved against keys that changed since.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tapgate_broker.settings import Settings
from tests.hardening.conftest import key_items, register_forged, table_items
from tests.support.broker_harness import ORIGIN, Harness
from tests.support.forge import ForgedKey

ALICE = "alice"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, max_keys_per_user=3, admins=("root",))


def begin(h: Harness, path: str = "/registration/options", user: str = ALICE) -> Any:
    reply = h.call("POST", path, body={}, user_arn=h.user_arn(user))
    assert reply.status == 200, reply.body
    return reply.body


def finish(
    h: Harness,
    options: dict[str, Any],
    key: ForgedKey,
    *,
    step_up: ForgedKey | None = None,
    path: str = "/registration/verify",
    user: str = ALICE,
) -> Any:
    body: dict[str, Any] = {
        "ceremonyId": options["ceremonyId"],
        "credential": key.register(options["publicKey"], ORIGIN),
    }
    if step_up is not None:
        body["stepUp"] = step_up.assertion(options["stepUp"], ORIGIN)
    return h.call("POST", path, body=body, user_arn=h.user_arn(user))


def key_set_item(h: Harness, user: str = ALICE) -> dict[str, Any]:
    (item,) = [
        i
        for i in table_items(h, h.settings.credentials_table)
        if i["userName"]["S"] == user and i["credentialId"]["S"] == "#keyset"
    ]
    return item


def test_a_ceremony_begun_without_keys_cannot_add_a_key_once_one_exists(harness: Harness):
    """The review's attack: options with no stepUp, a first key on another ceremony, then
    the first ceremony finished with a second key and no step-up."""
    early = begin(harness)
    assert "stepUp" not in early
    register_forged(harness, ALICE, ForgedKey())
    late = finish(harness, early, ForgedKey())
    assert late.status == 409, late.body
    assert (
        late.problem["detail"]
        == "Your security keys changed since this ceremony began; start again."
    )
    assert len(key_items(harness)) == 1


def test_two_first_key_ceremonies_store_one_key(harness: Harness):
    first, second = begin(harness), begin(harness)
    assert finish(harness, first, ForgedKey()).status == 201
    assert finish(harness, second, ForgedKey()).status == 409
    assert len(key_items(harness)) == 1


def test_a_second_key_with_step_up_moves_the_key_set_on(harness: Harness):
    old = ForgedKey()
    register_forged(harness, ALICE, old)
    options = begin(harness)
    assert finish(harness, options, ForgedKey(), step_up=old).status == 201
    item = key_set_item(harness)
    assert (item["version"]["N"], item["keyCount"]["N"]) == ("2", "2")


def test_a_key_set_that_changed_since_options_stops_a_step_up_registration(harness: Harness):
    old = ForgedKey()
    register_forged(harness, ALICE, old)
    one, two = begin(harness), begin(harness)
    assert finish(harness, one, ForgedKey(), step_up=old).status == 201
    assert finish(harness, two, ForgedKey(), step_up=old).status == 409
    assert len(key_items(harness)) == 2


def test_the_key_cap_is_a_clear_409_at_options_and_at_the_write(harness: Harness):
    old = ForgedKey()
    register_forged(harness, ALICE, old)
    begin_second = begin(harness)
    assert finish(harness, begin_second, ForgedKey(), step_up=old).status == 201
    at_two = begin(harness)
    assert finish(harness, at_two, ForgedKey(), step_up=old).status == 201
    full = harness.call("POST", "/registration/options", body={}, user_arn=harness.user_arn(ALICE))
    assert full.status == 409
    assert "maximum of 3 security keys" in full.problem["detail"]
    assert len(key_items(harness)) == 3
    assert key_set_item(harness)["keyCount"]["N"] == "3"


def test_a_removal_approved_against_an_older_key_set_is_refused(harness: Harness):
    from fido2.utils import websafe_encode  # noqa: PLC0415

    old = ForgedKey()
    register_forged(harness, ALICE, old)
    manage = harness.options(ALICE, purpose="manage")
    options = begin(harness)
    assert finish(harness, options, ForgedKey(), step_up=old).status == 201
    body = {
        "ceremonyId": manage.body["ceremonyId"],
        "credential": old.assertion(manage.body["publicKey"], ORIGIN),
    }
    target = websafe_encode(old.credential_id)
    reply = harness.call(
        "DELETE", f"/credentials/{target}", body=body, user_arn=harness.user_arn(ALICE)
    )
    assert reply.status == 409, reply.body
    assert len(key_items(harness)) == 2


def test_removals_keep_the_count_exact(harness: Harness):
    from fido2.utils import websafe_encode  # noqa: PLC0415

    old, new = ForgedKey(), ForgedKey()
    register_forged(harness, ALICE, old)
    assert finish(harness, begin(harness), new, step_up=old).status == 201
    manage = harness.options(ALICE, purpose="manage")
    body = {
        "ceremonyId": manage.body["ceremonyId"],
        "credential": new.assertion(manage.body["publicKey"], ORIGIN),
    }
    target = websafe_encode(old.credential_id)
    reply = harness.call(
        "DELETE", f"/credentials/{target}", body=body, user_arn=harness.user_arn(ALICE)
    )
    assert reply.status == 204, reply.body
    item = key_set_item(harness)
    assert (item["version"]["N"], item["keyCount"]["N"]) == ("3", "1")
    assert len(key_items(harness)) == 1


def test_the_step_up_route_refuses_a_first_key(harness: Harness):
    reply = harness.call(
        "POST", "/registration/step-up/options", body={}, user_arn=harness.user_arn(ALICE)
    )
    assert reply.status == 403
    assert "enrollment link" in reply.problem["detail"]


def test_the_step_up_route_adds_a_further_key_with_a_step_up(harness: Harness):
    old = ForgedKey()
    register_forged(harness, ALICE, old)
    options = begin(harness, "/registration/step-up/options")
    assert "stepUp" in options
    reply = finish(harness, options, ForgedKey(), step_up=old, path="/registration/step-up/verify")
    assert reply.status == 201, reply.body
    without = finish(
        harness,
        begin(harness, "/registration/step-up/options"),
        ForgedKey(),
        path="/registration/step-up/verify",
    )
    assert without.status == 401
    assert len(key_items(harness)) == 2


def test_an_admin_link_ceremony_is_pinned_to_the_key_set_too(harness: Harness):
    """A link begun while alice had one key stores nothing if she added one meanwhile; the
    link stays usable for a new ceremony."""
    old = ForgedKey()
    register_forged(harness, ALICE, old)
    link = harness.call(
        "POST", "/enrollments", body={"userName": ALICE}, user_arn=harness.user_arn("root")
    )
    headers = {"Authorization": f"Bearer {link.body['token']}"}
    options = harness.call("POST", "/enrollment/options", body={}, headers=headers).body
    assert finish(harness, begin(harness), ForgedKey(), step_up=old).status == 201
    body = {
        "ceremonyId": options["ceremonyId"],
        "credential": ForgedKey().register(options["publicKey"], ORIGIN),
    }
    late = harness.call("POST", "/enrollment/verify", body=body, headers=headers)
    assert late.status == 409, late.body
    again = harness.call("POST", "/enrollment/options", body={}, headers=headers).body
    body = {
        "ceremonyId": again["ceremonyId"],
        "credential": ForgedKey().register(again["publicKey"], ORIGIN),
    }
    assert harness.call("POST", "/enrollment/verify", body=body, headers=headers).status == 201
    assert len(key_items(harness)) == 3
