"""Identity roles are confirmed by what an attacker cannot choose (finding 4).

Played through the handler against moto's IAM: a role session counts as a user only when
iam:GetRole finds its role with the RoleId in the caller's principal id and a full ARN,
path included, that is an identity role (IAM Identity Center's path by default).
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from tapgate_broker.settings import Settings
from tests.hardening.conftest import register_forged
from tests.support.broker_harness import ACCOUNT, Harness
from tests.support.forge import ForgedKey

SSO_PATH = "/aws-reserved/sso.amazonaws.com/"
BREAKGLASS = f"arn:aws:iam::{ACCOUNT}:role/teams/breakglass"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    identity_roles = (*settings.identity_roles, BREAKGLASS)
    return dataclasses.replace(settings, identity_roles=identity_roles)


def keys_of(h: Harness, who: dict[str, str]) -> int:
    return h.call("GET", "/credentials", **who).status


def test_a_self_made_role_named_like_identity_center_is_not_the_victim(harness: Harness):
    """The review's attack: /attacker/AWSReservedSSO_Fake_…, assumed as alice, listed
    alice's keys."""
    register_forged(harness, "alice", ForgedKey())
    attacker = harness.role_session("AWSReservedSSO_Fake_1a2b", "alice", path="/attacker/")
    reply = harness.call("GET", "/credentials", **attacker)
    assert reply.status == 403, reply.body
    options = harness.call("POST", "/registration/step-up/options", body={}, **attacker)
    assert options.status == 403


@pytest.mark.parametrize("path", [SSO_PATH, SSO_PATH + "eu-west-1/"])
def test_a_genuine_identity_center_session_is_its_user(harness: Harness, path: str):
    sso = harness.role_session("AWSReservedSSO_Dev_3c4d", "carol@example.com", path=path)
    assert keys_of(harness, sso) == 200
    options = harness.call("POST", "/registration/options", body={}, **sso)
    assert options.status == 200
    assert options.body["publicKey"]["user"]["name"] == "carol@example.com"


def test_a_principal_id_of_another_role_is_refused(harness: Harness):
    sso = harness.role_session("AWSReservedSSO_Dev_3c4d", "alice", path=SSO_PATH)
    fake = harness.role_session("AWSReservedSSO_Fake_1a2b", "alice", path="/attacker/")
    spoofed = {"user_arn": sso["user_arn"], "caller_id": fake["caller_id"]}
    assert keys_of(harness, spoofed) == 403
    assert keys_of(harness, {"user_arn": sso["user_arn"], "caller_id": None}) == 403  # type: ignore[dict-item]
    assert keys_of(harness, sso) == 200


def test_an_identity_role_deleted_and_made_again_elsewhere_is_refused(harness: Harness):
    """The directory caches a role for the container's life; a new RoleId looks it up again."""
    name = "AWSReservedSSO_Dev_5e6f"
    assert keys_of(harness, harness.role_session(name, "alice", path=SSO_PATH)) == 200
    harness.session.client("iam").delete_role(RoleName=name)
    again = harness.role_session(name, "alice", path="/attacker/")
    assert keys_of(harness, again) == 403


def test_a_configured_role_is_matched_by_its_full_arn(harness: Harness):
    assert keys_of(harness, harness.role_session("breakglass", "frank", path="/teams/")) == 200


def test_the_same_role_name_on_another_path_is_not_the_configured_role(harness: Harness):
    assert keys_of(harness, harness.role_session("breakglass", "frank", path="/other/")) == 403


def test_the_broker_reads_roles_with_get_role_once_per_role(harness: Harness):
    calls: list[str] = []
    iam = harness.broker._role_directory._client  # type: ignore[attr-defined]
    iam.meta.events.register(
        "provide-client-params.iam.GetRole", lambda params, **_: calls.append(json.dumps(params))
    )
    sso = harness.role_session("AWSReservedSSO_Dev_7a8b", "carol", path=SSO_PATH)
    for _ in range(3):
        assert keys_of(harness, sso) == 200
    assert calls == [json.dumps({"RoleName": "AWSReservedSSO_Dev_7a8b"})]


def test_a_failing_get_role_is_a_503_with_retry_after_and_a_retry_works(harness: Harness):
    from botocore.exceptions import ClientError  # noqa: PLC0415

    failed: list[bool] = []

    def throttle(params: dict[str, object], **_: object) -> None:
        if not failed:
            failed.append(True)
            raise ClientError(
                {"Error": {"Code": "Throttling"}, "ResponseMetadata": {"HTTPStatusCode": 400}},
                "GetRole",
            )

    iam = harness.broker._role_directory._client  # type: ignore[attr-defined]
    iam.meta.events.register("provide-client-params.iam.GetRole", throttle)
    sso = harness.role_session("AWSReservedSSO_Dev_9c0d", "carol", path=SSO_PATH)
    reply = harness.call("GET", "/credentials", **sso)
    assert reply.status == 503
    assert reply.headers["Retry-After"] == "2"
    assert keys_of(harness, sso) == 200
