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
        ("arn:aws:sts::123456789012:federated-user/erin", "erin"),
    ],
)
def test_user_names_from_principal_arns(arn, name):
    assert user_name_from_arn(arn) == name


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
