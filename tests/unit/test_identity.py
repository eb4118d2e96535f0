"""The base identity: an IAM user's name, or a session of a role confirmed by its RoleId.

A role session's ARN has no path and its name is the assumer's choice, so the role is
looked up (iam:GetRole) and must have the RoleId the caller presented and a full ARN that is
a configured identity role (finding 4 of issue 10). These tests use an in-memory directory;
tests/hardening/test_identity_roles.py plays the same through the handler against moto.
"""

from __future__ import annotations

import pytest

from tapgate_broker.api.identity import caller_from_event
from tapgate_broker.core.errors import ForbiddenError
from tapgate_broker.core.identity import DEFAULT_IDENTITY_ROLES, Principal, identify
from tapgate_broker.core.ports import RoleInfo

ACCOUNT = "123456789012"
SSO_PATH = "aws-reserved/sso.amazonaws.com"


class Directory:
    """Roles by name, as GetRole would answer in the broker's account."""

    def __init__(self, *roles: tuple[str, str]) -> None:
        self.roles = {arn.rsplit("/", 1)[1]: RoleInfo(arn=arn, role_id=rid) for arn, rid in roles}
        self.lookups: list[str] = []

    def role(self, name: str, *, role_id: str) -> RoleInfo | None:
        self.lookups.append(name)
        return self.roles.get(name)


def role(path: str, name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{path}{name}"


def session(name: str, user: str, account: str = ACCOUNT) -> str:
    return f"arn:aws:sts::{account}:assumed-role/{name}/{user}"


SSO = role(f"{SSO_PATH}/", "AWSReservedSSO_Dev_2b")
SSO_REGIONAL = role(f"{SSO_PATH}/eu-west-1/", "AWSReservedSSO_Ops_3c")
FAKE_SSO = role("attacker/", "AWSReservedSSO_Fake_1a")
BREAKGLASS = role("teams/", "breakglass")
DEVELOPER = role("", "developer")
DIRECTORY = Directory(
    (SSO, "AROASSO0000000000001"),
    (SSO_REGIONAL, "AROASSO0000000000002"),
    (FAKE_SSO, "AROAFAKE000000000001"),
    (BREAKGLASS, "AROABREAK00000000001"),
    (DEVELOPER, "AROADEV0000000000001"),
)
CONFIGURED = (*DEFAULT_IDENTITY_ROLES, BREAKGLASS)


def who(
    arn: str, principal_id: str | None = None, roles: tuple[str, ...] = CONFIGURED
) -> Principal:
    return identify(arn, principal_id, identity_roles=roles, roles=DIRECTORY)


@pytest.mark.parametrize(
    ("arn", "name"),
    [
        (f"arn:aws:iam::{ACCOUNT}:user/alice", "alice"),
        (f"arn:aws:iam::{ACCOUNT}:user/engineering/ops/bob.smith", "bob.smith"),
        (f"arn:aws-cn:iam::{ACCOUNT}:user/dave", "dave"),
    ],
)
def test_an_iam_user_is_its_name_without_a_lookup(arn, name):
    before = len(DIRECTORY.lookups)
    assert who(arn) == Principal(name)
    assert len(DIRECTORY.lookups) == before


@pytest.mark.parametrize(
    ("role_arn", "role_id"),
    [(SSO, "AROASSO0000000000001"), (SSO_REGIONAL, "AROASSO0000000000002")],
)
def test_an_identity_center_session_is_its_session_name(role_arn, role_id):
    name = role_arn.rsplit("/", 1)[1]
    found = who(session(name, "carol@example.com"), f"{role_id}:carol@example.com")
    assert found == Principal("carol@example.com", role_arn=role_arn)


def test_a_configured_role_by_full_arn_is_an_identity_role():
    found = who(session("breakglass", "frank"), "AROABREAK00000000001:frank")
    assert found == Principal("frank", role_arn=BREAKGLASS)


def test_a_self_made_role_named_like_identity_center_is_refused():
    """The review's attack: /attacker/AWSReservedSSO_Fake_1a, assumed as the victim."""
    with pytest.raises(ForbiddenError):
        who(session("AWSReservedSSO_Fake_1a", "alice"), "AROAFAKE000000000001:alice")


@pytest.mark.parametrize(
    ("arn", "principal_id"),
    [
        # a role that is not an identity role
        (session("developer", "alice"), "AROADEV0000000000001:alice"),
        # the right role name, another role's id (a role deleted and made anew elsewhere)
        (session("AWSReservedSSO_Dev_2b", "alice"), "AROAFAKE000000000001:alice"),
        # no principal id, or one for another session name
        (session("AWSReservedSSO_Dev_2b", "alice"), None),
        (session("AWSReservedSSO_Dev_2b", "alice"), "AROASSO0000000000001:mallory"),
        (session("AWSReservedSSO_Dev_2b", "alice"), "AIDASSO0000000000001"),
        # a role the directory does not know (or may not read)
        (session("AWSReservedSSO_Gone_9z", "alice"), "AROAGONE000000000001:alice"),
        # the session is of another account: GetRole found our own role of that name
        (session("AWSReservedSSO_Dev_2b", "alice", "999999999999"), "AROASSO0000000000001:alice"),
        # GetFederationToken: the name is chosen by whoever called it
        (f"arn:aws:sts::{ACCOUNT}:federated-user/alice", None),
        (f"arn:aws:iam::{ACCOUNT}:root", None),
        (f"arn:aws:iam::{ACCOUNT}:role/admin", None),
        (f"arn:aws:iam::{ACCOUNT}:user/has space", None),
        ("not an arn", None),
    ],
)
def test_anything_else_is_refused(arn, principal_id):
    with pytest.raises(ForbiddenError):
        who(arn, principal_id)


def test_a_configured_arn_must_match_the_roles_path():
    elsewhere = (role("other/", "breakglass"),)
    with pytest.raises(ForbiddenError):
        who(session("breakglass", "frank"), "AROABREAK00000000001:frank", roles=elsewhere)


def test_unsigned_request_has_no_user():
    caller = caller_from_event(
        {"requestContext": {"identity": {"sourceIp": "192.0.2.1"}}}, identify=_never
    )
    assert caller.user_name is None
    assert caller.source_ip == "192.0.2.1"


def test_signed_request_carries_user_role_and_request_facts():
    seen: list[tuple[str, str | None]] = []

    def identify_(arn: str, principal_id: str | None) -> Principal:
        seen.append((arn, principal_id))
        return Principal("carol", role_arn=SSO)

    caller = caller_from_event(
        {
            "requestContext": {
                "identity": {
                    "userArn": session("AWSReservedSSO_Dev_2b", "carol"),
                    "caller": "AROASSO0000000000001:carol",
                    "sourceIp": "192.0.2.9",
                    "userAgent": "tapgate/0.1",
                }
            }
        },
        identify=identify_,
    )
    assert seen == [(session("AWSReservedSSO_Dev_2b", "carol"), "AROASSO0000000000001:carol")]
    assert (caller.user_name, caller.role_arn, caller.source_ip, caller.user_agent) == (
        "carol",
        SSO,
        "192.0.2.9",
        "tapgate/0.1",
    )


def _never(arn: str, principal_id: str | None) -> Principal:
    raise AssertionError("no identity to look up")
