"""The base identity comes from the AWS_IAM authorizer's userArn."""

import pytest

from tapgate_broker.api.identity import caller_from_event, user_name_from_arn
from tapgate_broker.core.errors import ForbiddenError


@pytest.mark.parametrize(
    ("arn", "name"),
    [
        ("arn:aws:iam::123456789012:user/alice", "alice"),
        ("arn:aws:iam::123456789012:user/engineering/ops/bob.smith", "bob.smith"),
        (
            "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_1a/carol@example.com",
            "carol@example.com",
        ),
        ("arn:aws-cn:iam::123456789012:user/dave", "dave"),
        (
            "arn:aws:sts::123456789012:assumed-role/Okta-Engineers/erin@example.com",
            "erin@example.com",
        ),
        ("arn:aws:sts::123456789012:assumed-role/Admins/frank", "frank"),
    ],
)
def test_user_names_from_principal_arns(arn, name):
    roles = ("AWSReservedSSO_*", "Okta-*", "arn:aws:iam::123456789012:role/Admins")
    assert user_name_from_arn(arn, identity_roles=roles) == name


def test_by_default_only_identity_center_sessions_are_identities():
    sso = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Dev_2b/gina"
    assert user_name_from_arn(sso) == "gina"
    with pytest.raises(ForbiddenError) as caught:
        user_name_from_arn("arn:aws:sts::123456789012:assumed-role/ci-deployer/gina")
    assert "identityRoles" in caught.value.detail


@pytest.mark.parametrize(
    "arn",
    [
        # a role session whose caller picked another user's name
        "arn:aws:sts::123456789012:assumed-role/developer/alice",
        # the admin role's name in another account
        "arn:aws:sts::999999999999:assumed-role/Admins/alice",
        # a glob is not a substring
        "arn:aws:sts::123456789012:assumed-role/MyOkta-Engineers/alice",
        # GetFederationToken: the name is chosen by whoever called it
        "arn:aws:sts::123456789012:federated-user/alice",
    ],
)
def test_sessions_whose_name_anyone_could_choose_are_refused(arn):
    roles = ("AWSReservedSSO_*", "Okta-*", "arn:aws:iam::123456789012:role/Admins")
    with pytest.raises(ForbiddenError):
        user_name_from_arn(arn, identity_roles=roles)


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::123456789012:root",
        "arn:aws:iam::123456789012:role/admin",
        "arn:aws:iam::123456789012:user/has space",
        "not an arn",
    ],
)
def test_other_principals_are_refused(arn):
    with pytest.raises(ForbiddenError):
        user_name_from_arn(arn)


def test_unsigned_request_has_no_user():
    caller = caller_from_event({"requestContext": {"identity": {"sourceIp": "192.0.2.1"}}})
    assert caller.user_name is None
    assert caller.source_ip == "192.0.2.1"


def test_signed_request_carries_user_and_request_facts():
    caller = caller_from_event(
        {
            "requestContext": {
                "identity": {
                    "userArn": "arn:aws:iam::123456789012:user/alice",
                    "sourceIp": "192.0.2.9",
                    "userAgent": "tapgate/0.1",
                }
            }
        }
    )
    assert (caller.user_name, caller.source_ip, caller.user_agent) == (
        "alice",
        "192.0.2.9",
        "tapgate/0.1",
    )
