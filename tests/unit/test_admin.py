"""Admin key management on in-memory fakes: who may, what a revocation needs, what it does.

Each negative test changes one thing in an otherwise valid admin action.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from fido2.utils import websafe_encode

from tapgate_broker.core.admin import check_reason
from tapgate_broker.core.errors import (
    BadRequestError,
    CeremonyFailedError,
    ForbiddenError,
    NotFoundError,
    TapgateError,
)
from tapgate_broker.core.models import Caller
from tapgate_contract import routes as v1
from tests.support.broker_harness import api_event
from tests.support.fakes import MemoryDeployment
from tests.support.forge import ForgedKey

ORIGIN = "http://localhost:8080"
ADMIN = "root"
USER = "bob"


@pytest.fixture
def deployment() -> MemoryDeployment:
    return MemoryDeployment(admins=(ADMIN,))


def caller(name: str) -> Caller:
    return MemoryDeployment.caller(name)


def register(d: MemoryDeployment, name: str, key: ForgedKey | None = None) -> ForgedKey:
    key = key or ForgedKey()
    broker, who = d.broker, caller(name)
    key_set = d.credentials.key_set(name)
    options = broker.registration_options(who, nickname=name)
    step_up = None
    if key_set.keys:
        owner_key = d.keys[name][0]
        step_up = owner_key.assertion(options.step_up or {}, ORIGIN)
    broker.registration_verify(
        who,
        ceremony_id=options.ceremony_id,
        credential=key.register(options.public_key, ORIGIN),
        nickname=None,
        step_up=step_up,
    )
    d.keys.setdefault(name, []).append(key)
    return key


def approve(d: MemoryDeployment, admin_key: ForgedKey, name: str = ADMIN) -> dict[str, Any]:
    """Begin an admin ceremony and answer it with the admin's key: the revoke's body."""
    options = d.broker.admin.begin(caller(name))
    return {
        "ceremony_id": options.ceremony_id,
        "credential": admin_key.assertion(options.public_key, ORIGIN),
    }


@pytest.fixture
def world(deployment: MemoryDeployment) -> MemoryDeployment:
    deployment.keys = {}  # type: ignore[attr-defined]
    register(deployment, ADMIN)
    register(deployment, USER)
    register(deployment, USER)
    return deployment


def user_ids(d: MemoryDeployment, name: str) -> set[bytes]:
    return {c.credential_id for c in d.credentials.list_for_user(name)}


def test_an_admin_lists_any_users_keys(world: MemoryDeployment) -> None:
    keys = world.broker.admin.list_keys(caller(ADMIN), user_name=USER)
    assert {k.credential_id for k in keys} == {k.credential_id for k in world.keys[USER]}


def test_an_admin_revokes_one_key_with_a_reason_in_the_audit_trail(
    world: MemoryDeployment,
) -> None:
    first, second = world.keys[USER]
    revoked = world.broker.admin.revoke(
        caller(ADMIN),
        user_name=USER,
        credential_id=first.credential_id,
        reason="  left the company ",
        **approve(world, world.keys[ADMIN][0]),
    )
    assert revoked == [first.credential_id]
    assert user_ids(world, USER) == {second.credential_id}
    record = world.audit.records[-1]
    assert (record.event, record.outcome, record.user_name) == ("revoke", "success", USER)
    assert record.caller_arn == caller(ADMIN).arn
    assert record.credential_id == websafe_encode(first.credential_id)
    assert record.extra == {"adminAction": "revoke", "adminReason": "left the company"}


def test_revoke_all_removes_every_key_one_key_set_version_each(world: MemoryDeployment) -> None:
    version = world.credentials.versions[USER]
    revoked = world.broker.admin.revoke(
        caller(ADMIN),
        user_name=USER,
        credential_id=None,
        reason="laptop stolen",
        **approve(world, world.keys[ADMIN][0]),
    )
    assert set(revoked) == {k.credential_id for k in world.keys[USER]}
    assert user_ids(world, USER) == set()
    assert world.credentials.versions[USER] == version + 2
    records = [r for r in world.audit.records if r.extra.get("adminAction") == "revoke-all"]
    assert [(r.outcome, r.extra["adminReason"]) for r in records] == [
        ("success", "laptop stolen")
    ] * 2
    assert {r.credential_id for r in records} == {
        websafe_encode(k.credential_id) for k in world.keys[USER]
    }
    # the admin's approving key moved once, and still works
    assert world.credentials.list_for_user(ADMIN)[0].sign_count == world.keys[ADMIN][0].counter


def test_a_key_begun_with_before_its_revocation_cannot_finish(world: MemoryDeployment) -> None:
    """Begin a sign-in with K, an admin revokes K, finish: refused, nothing issued."""
    key = world.keys[USER][0]
    options = world.broker.authentication_options(
        caller(USER), role_arn=world.role_arn, purpose="sign-in"
    )
    answer = key.assertion(options.public_key, ORIGIN)
    world.broker.admin.revoke(
        caller(ADMIN),
        user_name=USER,
        credential_id=key.credential_id,
        reason="suspected clone",
        **approve(world, world.keys[ADMIN][0]),
    )
    with pytest.raises(CeremonyFailedError):
        world.broker.authentication_verify(
            caller(USER),
            ceremony_id=options.ceremony_id,
            credential=answer,
            role_arn=world.role_arn,
            duration_seconds=None,
        )
    assert world.issuer.calls == 0


def test_a_revoked_key_cannot_approve_a_further_key_begun_before(world: MemoryDeployment) -> None:
    key = world.keys[USER][0]
    options = world.broker.registration_options(caller(USER), nickname=None)
    step_up = key.assertion(options.step_up or {}, ORIGIN)
    world.broker.admin.revoke(
        caller(ADMIN),
        user_name=USER,
        credential_id=None,
        reason="offboarding",
        **approve(world, world.keys[ADMIN][0]),
    )
    with pytest.raises(TapgateError) as caught:
        world.broker.registration_verify(
            caller(USER),
            ceremony_id=options.ceremony_id,
            credential=ForgedKey().register(options.public_key, ORIGIN),
            nickname=None,
            step_up=step_up,
        )
    assert caught.value.status in (401, 409)
    assert user_ids(world, USER) == set()


def _attempt(world: MemoryDeployment, **change: Any) -> None:
    """A valid revoke-all of bob's keys by root, with one thing changed."""
    approval = change.pop("approval", None) or approve(world, world.keys[ADMIN][0])
    arguments: dict[str, Any] = {
        "user_name": USER,
        "credential_id": None,
        "reason": "offboarding",
        **approval,
        **change,
    }
    who = arguments.pop("caller", caller(ADMIN))
    world.broker.admin.revoke(who, **arguments)


def test_the_valid_attempt_used_by_the_negative_tests_succeeds(world: MemoryDeployment) -> None:
    _attempt(world)
    assert user_ids(world, USER) == set()


def test_a_non_admin_can_neither_begin_nor_revoke(world: MemoryDeployment) -> None:
    with pytest.raises(ForbiddenError):
        world.broker.admin.begin(caller(USER))
    with pytest.raises(ForbiddenError):
        _attempt(world, caller=caller(USER))
    assert len(user_ids(world, USER)) == 2


def test_a_stolen_admin_session_without_the_admins_key_revokes_nothing(
    world: MemoryDeployment,
) -> None:
    """The thief can begin the admin ceremony, but another key's assertion does not pass."""
    with pytest.raises(CeremonyFailedError):
        _attempt(world, approval=approve(world, ForgedKey()))
    assert len(user_ids(world, USER)) == 2
    refused = world.audit.records[-1]
    assert (refused.event, refused.outcome, refused.user_name) == ("revoke", "failure", USER)
    assert refused.extra == {"adminAction": "revoke-all", "adminReason": "offboarding"}


def test_the_users_own_key_cannot_approve_an_admin_action(world: MemoryDeployment) -> None:
    with pytest.raises(CeremonyFailedError):
        _attempt(world, approval=approve(world, world.keys[USER][0]))
    assert len(user_ids(world, USER)) == 2


def test_an_approval_is_used_once(world: MemoryDeployment) -> None:
    approval = approve(world, world.keys[ADMIN][0])
    world.broker.admin.revoke(
        caller(ADMIN),
        user_name=USER,
        credential_id=world.keys[USER][0].credential_id,
        reason="one",
        **approval,
    )
    with pytest.raises(TapgateError) as caught:
        _attempt(world, approval=approval)
    assert caught.value.status == 409
    assert len(user_ids(world, USER)) == 1


def test_a_manage_ceremony_is_not_an_admin_approval(world: MemoryDeployment) -> None:
    options = world.broker.authentication_options(caller(ADMIN), role_arn=None, purpose="manage")
    approval = {
        "ceremony_id": options.ceremony_id,
        "credential": world.keys[ADMIN][0].assertion(options.public_key, ORIGIN),
    }
    with pytest.raises(NotFoundError):
        _attempt(world, approval=approval)
    assert len(user_ids(world, USER)) == 2


def test_another_admins_approval_is_not_yours() -> None:
    d = MemoryDeployment(admins=(ADMIN, "root2"))
    d.keys = {}  # type: ignore[attr-defined]
    for name in (ADMIN, "root2", USER):
        register(d, name)
    approval = approve(d, d.keys["root2"][0], name="root2")
    with pytest.raises(NotFoundError):
        d.broker.admin.revoke(
            caller(ADMIN), user_name=USER, credential_id=None, reason="x", **approval
        )
    assert len(user_ids(d, USER)) == 1


@pytest.mark.parametrize(
    "reason", [None, "", "   ", 7, "x" * 257, "tab\tinside", "zero\u200bwidth", ["list"]]
)
def test_a_bad_reason_is_400_before_anything_changes(world: MemoryDeployment, reason: Any) -> None:
    approval = approve(world, world.keys[ADMIN][0])
    with pytest.raises(BadRequestError):
        _attempt(world, reason=reason, approval=approval)
    assert len(user_ids(world, USER)) == 2
    assert approval["ceremony_id"] not in world.ceremonies.consumed  # still usable


def test_a_reason_of_256_characters_is_accepted() -> None:
    assert check_reason("é" * 256) == "é" * 256


def test_revoking_a_key_the_user_does_not_have_is_404(world: MemoryDeployment) -> None:
    with pytest.raises(NotFoundError):
        _attempt(world, credential_id=world.keys[ADMIN][0].credential_id)
    assert len(user_ids(world, USER)) == 2
    assert len(user_ids(world, ADMIN)) == 1


def test_an_admin_without_a_key_cannot_begin(deployment: MemoryDeployment) -> None:
    with pytest.raises(ForbiddenError):
        deployment.broker.admin.begin(caller(ADMIN))


def test_revoke_all_of_a_user_without_keys_uses_the_approval(world: MemoryDeployment) -> None:
    approval = approve(world, world.keys[ADMIN][0])
    assert (
        world.broker.admin.revoke(
            caller(ADMIN), user_name="nobody", credential_id=None, reason="cleanup", **approval
        )
        == []
    )
    assert world.audit.records[-1].user_name == "nobody"
    assert world.audit.records[-1].outcome == "success"


def test_the_report_counts_users_unused_keys_and_models(world: MemoryDeployment) -> None:
    # root's key used recently; one of bob's never used since long ago
    old = world.keys[USER][0].credential_id
    item = world.credentials.items[(USER, old)]
    world.credentials.items[(USER, old)] = dataclasses.replace(
        item, created_at="2020-01-01T00:00:00Z", last_used_at=None
    )
    report = world.broker.admin.report(caller(ADMIN), unused_days=30)
    assert report.users == {ADMIN: 1, USER: 2}
    assert [k.credential_id for k in report.unused] == [old]
    assert report.by_aaguid == {"00000000-0000-0000-0000-000000000000": 3}
    with pytest.raises(ForbiddenError):
        world.broker.admin.report(caller(USER), unused_days=30)
    with pytest.raises(BadRequestError):
        world.broker.admin.report(caller(ADMIN), unused_days=0)


# --- the routes: a non-admin gets 403 on every admin route ------------------------------------


def _call(d: MemoryDeployment, route: v1.Route, user: str, body: Any = None) -> dict[str, Any]:
    path = route.path.replace("{userName}", USER).replace("{credentialId}", "AAAA")
    result = d.app.resolve(
        api_event(route.method, path, body=body, user_arn=caller(user).arn), None
    )
    return {"status": result["statusCode"], **json.loads(result["body"] or "{}")}


@pytest.mark.parametrize("route", v1.ADMIN_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_a_non_admin_gets_403_on_every_admin_route(
    world: MemoryDeployment, route: v1.Route
) -> None:
    body = {"ceremonyId": "A" * 32, "credential": {}, "reason": "x"}
    answer = _call(world, route, USER, body if route.body_model else None)
    assert answer["status"] == 403, answer
    answer = _call(world, route, ADMIN, body if route.body_model else None)
    assert answer["status"] != 403, answer
    assert len(user_ids(world, USER)) == 2


def test_every_admin_route_is_under_admin() -> None:
    assert all(r.path.startswith("/admin/") and r.auth is v1.Auth.SIGV4 for r in v1.ADMIN_ROUTES)
    # The events route is under /admin/ too, but answers anyone with their own events.
    admin_paths = [r for r in v1.ROUTES if r.path.startswith("/admin/")]
    assert set(admin_paths) == {*v1.ADMIN_ROUTES, v1.ADMIN_EVENTS}


def test_a_stored_key_summary_has_no_secret(world: MemoryDeployment) -> None:
    answer = _call(world, v1.ADMIN_USER_CREDENTIALS, ADMIN)
    assert answer["status"] == 200
    assert {c["credentialId"] for c in answer["credentials"]} == {
        websafe_encode(k.credential_id) for k in world.keys[USER]
    }
    assert not any("userHandle" in c or "credentialData" in c for c in answer["credentials"])
