"""Enrollment tokens: hashing, parsing, expiry, single use, and who is an admin."""

from __future__ import annotations

import hashlib

import pytest

from tapgate_broker.api.requests import bearer_token
from tapgate_broker.core.enrollment import hash_token, is_admin, new_token
from tapgate_broker.core.errors import EnrollmentTokenInvalidError
from tapgate_broker.core.models import Caller, EnrollmentToken
from tests.hardening.fakes import MemoryDeployment
from tests.hardening.forge import ForgedKey

ADMIN = "arn:aws:iam::123456789012:user/admin"


def test_a_new_token_has_256_bits_and_its_hash_is_sha256_hex():
    token, digest = new_token()
    assert len(token) == 43  # 32 bytes, base64url without padding
    assert digest == hashlib.sha256(token.encode()).hexdigest()
    assert hash_token(token) == digest
    assert len({new_token()[0] for _ in range(100)}) == 100


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_a_bearer_header_gives_its_token(scheme):
    token, _ = new_token()
    assert bearer_token(f"{scheme} {token}") == token


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Token abc",
        "Bearer abc",
        "Bearer " + "a" * 44,
        "Bearer " + "a" * 42 + "=",
        "Bearer " + "a" * 43 + " extra",
        "Bearer\t" + "a" * 43,
        "AWS4-HMAC-SHA256 Credential=x",
    ],
)
def test_anything_but_a_well_formed_bearer_token_is_refused(header):
    with pytest.raises(EnrollmentTokenInvalidError) as caught:
        bearer_token(header)
    assert caught.value.status == 401


def test_a_token_is_usable_until_it_expires_or_is_used():
    token = EnrollmentToken("h", "bob", ADMIN, admin_issued=True, expires_at=1000)
    assert token.usable(999)
    assert not token.usable(1000)
    used = EnrollmentToken("h", "bob", ADMIN, admin_issued=True, expires_at=1000, used_at=10)
    assert not used.usable(11)


ADMINS_ROLE = "arn:aws:iam::123456789012:role/Admins"
DEV_ROLE = "arn:aws:iam::123456789012:role/dev"
TEAM_ADMINS_ROLE = "arn:aws:iam::123456789012:role/team/Admins"


@pytest.mark.parametrize(
    ("caller", "role_arn", "admins", "expected"),
    [
        ("arn:aws:iam::123456789012:user/admin", None, ["admin"], True),
        ("arn:aws:iam::123456789012:user/ops/admin", None, ["admin"], True),
        ("arn:aws:iam::123456789012:user/administrator", None, ["admin"], False),
        ("arn:aws:sts::123456789012:assumed-role/dev/admin", DEV_ROLE, ["admin"], False),
        # a role session is an admin when its confirmed role (path included) is listed
        ("arn:aws:sts::123456789012:assumed-role/Admins/alice", ADMINS_ROLE, [ADMINS_ROLE], True),
        (
            "arn:aws:sts::123456789012:assumed-role/Admins/alice",
            TEAM_ADMINS_ROLE,
            [TEAM_ADMINS_ROLE],
            True,
        ),
        # the same name on another path is another role
        (
            "arn:aws:sts::123456789012:assumed-role/Admins/alice",
            ADMINS_ROLE,
            [TEAM_ADMINS_ROLE],
            False,
        ),
        ("arn:aws:iam::123456789012:user/Admins", None, [ADMINS_ROLE], False),
        (None, None, ["admin"], False),
        ("arn:aws:iam::123456789012:user/admin", None, [], False),
    ],
)
def test_who_is_an_admin(caller, role_arn, admins, expected):
    assert is_admin(caller, admins, role_arn=role_arn) is expected


def _enroll(deployment: MemoryDeployment, token: str) -> None:
    broker = deployment.broker
    anonymous = Caller(user_name=None, arn=None)
    options = broker.enrollment_options(anonymous, token=token, nickname=None)
    broker.enrollment_verify(
        anonymous,
        token=token,
        ceremony_id=options.ceremony_id,
        credential=ForgedKey().register(options.public_key, deployment.origin),
        nickname=None,
    )


def test_a_token_enrolls_exactly_one_key():
    deployment = MemoryDeployment()
    issued = deployment.broker.create_enrollment(
        Caller(user_name="bob", arn="arn:aws:iam::123456789012:user/bob"), user_name=None
    )
    _enroll(deployment, issued.token)
    with pytest.raises(EnrollmentTokenInvalidError):
        _enroll(deployment, issued.token)
    assert len(deployment.credentials.items) == 1
