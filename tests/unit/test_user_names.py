"""One definition of a tapgate user name, the same at every way in (issue 10, finding 6).

A user name ends up as the STS SourceIdentity of every session, so it is what STS accepts
there: 2-64 ASCII characters of letters, digits and +=,.@_-, matched in full.
"""

from __future__ import annotations

import pytest

from tapgate_broker.adapters.sts import StsRoleIssuer
from tapgate_broker.core.enrollment import check_user_name
from tapgate_broker.core.errors import BadRequestError, ForbiddenError
from tapgate_broker.core.identity import DEFAULT_IDENTITY_ROLES, Principal, identify
from tapgate_broker.core.ports import RoleInfo
from tapgate_broker.core.user_names import is_user_name

SSO_ROLE_ID = "AROASSO0000000000001"
SSO_ROLE = RoleInfo(
    arn="arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Dev_2b",
    role_id=SSO_ROLE_ID,
)


class _OneRole:
    def role(self, name: str, *, role_id: str) -> RoleInfo | None:
        return SSO_ROLE if name == "AWSReservedSSO_Dev_2b" else None


def who(arn: str, principal_id: str | None = None) -> Principal:
    return identify(arn, principal_id, identity_roles=DEFAULT_IDENTITY_ROLES, roles=_OneRole())


GOOD = ["al", "alice", "bob.smith", "carol@example.com", "x+y=z,w", "a_b-c", "A" * 64]
BAD = [
    "a",  # IAM allows one character, STS's SourceIdentity does not
    "alice\n",  # a `$` anchor would let this through
    "alice\r",
    "\nalice",
    "ali ce",
    "A" * 65,
    "",
    "aws:alice",
    "AWS:alice",
    "al\u00efce",  # \w without re.ASCII would take it
    "\u0661\u0662",  # Arabic-Indic digits
    "alice/bob",
    None,
    42,
]


@pytest.mark.parametrize("name", GOOD)
def test_names_sts_accepts_are_user_names(name):
    assert is_user_name(name)


@pytest.mark.parametrize("name", BAD, ids=repr)
def test_anything_else_is_not(name):
    assert not is_user_name(name)


@pytest.mark.parametrize("name", [n for n in BAD if isinstance(n, str) and n and "/" not in n])
def test_an_iam_user_with_an_unusable_name_is_refused(name):
    with pytest.raises(ForbiddenError):
        who(f"arn:aws:iam::123456789012:user/{name}")


def test_a_one_character_iam_user_is_told_why():
    """IAM allows the name "a"; STS never accepts it as a SourceIdentity."""
    with pytest.raises(ForbiddenError) as caught:
        who("arn:aws:iam::123456789012:user/a")
    assert "2-64 characters" in caught.value.detail


@pytest.mark.parametrize("name", ["a", "alice\n"])
def test_an_identity_role_session_with_an_unusable_name_is_refused(name):
    arn = f"arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Dev_2b/{name}"
    with pytest.raises(ForbiddenError):
        who(arn, f"{SSO_ROLE_ID}:{name}")


@pytest.mark.parametrize("name", BAD, ids=repr)
def test_an_enrollment_user_name_is_checked_the_same_way(name):
    with pytest.raises(BadRequestError):
        check_user_name(name)


class _NoSts:
    def assume_role(self, **_: object) -> None:
        raise AssertionError("STS must not be called with an unusable SourceIdentity")


@pytest.mark.parametrize("name", ["alice\n", "a", "aws:x"])
def test_the_sts_adapter_refuses_an_unusable_source_identity(name):
    with pytest.raises(ForbiddenError):
        StsRoleIssuer(_NoSts()).assume(
            role_arn="arn:aws:iam::123456789012:role/gated",
            user_name=name,
            credential_id=b"\x01" * 16,
            user_verified=False,
            duration_seconds=900,
            assurance="device-bound",
        )
