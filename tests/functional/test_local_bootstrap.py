"""Local mode against moto's real server: the stack's resources, the broker's environment,
the key lookup behind the gateway's SigV4 check, and the state file."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tapgate.local.bootstrap import (
    BROKER_ROLE_NAME,
    DEMO_PERMISSIONS_POLICY_NAME,
    DEMO_ROLE_NAME,
    GATING_POLICY_NAME,
    broker_environment,
)
from tapgate.local.server import LocalHandle, LocalModeError, moto_secret_lookup, start_local
from tapgate_broker.core.models import UserVerification
from tapgate_broker.settings import Settings
from tapgate_contract.policies import gated_role_trust_policy

ACCOUNT = "123456789012"
SHIPPED_GATING_POLICY = (
    Path(__file__).resolve().parents[2]
    / "lambdas"
    / "tapgate_contract"
    / "policies"
    / "gating-policy.json"
)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHandle]:
    state_file = tmp_path_factory.mktemp("local") / ".tapgate" / "local.json"
    handle = start_local(port=0, state_file=state_file)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def session(local: LocalHandle) -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )


def client(session: boto3.session.Session, local: LocalHandle, name: str) -> Any:
    return session.client(name, endpoint_url=local.aws_endpoint_url)


def key_schema(table: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]]


def attribute_types(table: dict[str, Any]) -> dict[str, str]:
    return {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}


# --- DynamoDB -------------------------------------------------------------------------


def test_credentials_table_has_the_stack_keys_index_and_backups(local, session):
    dynamodb = client(session, local, "dynamodb")
    name = local.resources.credentials_table
    table = dynamodb.describe_table(TableName=name)["Table"]
    assert key_schema(table) == [("userName", "HASH"), ("credentialId", "RANGE")]
    assert attribute_types(table) == {"userName": "S", "credentialId": "S"}
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "byCredentialId"
    assert key_schema(index) == [("credentialId", "HASH")]
    assert index["Projection"]["ProjectionType"] == "ALL"
    backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_ceremonies_table_has_its_key_and_ttl(local, session):
    dynamodb = client(session, local, "dynamodb")
    name = local.resources.ceremonies_table
    table = dynamodb.describe_table(TableName=name)["Table"]
    assert key_schema(table) == [("ceremonyId", "HASH")]
    assert attribute_types(table) == {"ceremonyId": "S"}
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"}


def test_audit_table_has_its_keys_index_and_ttl(local, session):
    dynamodb = client(session, local, "dynamodb")
    name = local.resources.audit_table
    table = dynamodb.describe_table(TableName=name)["Table"]
    assert key_schema(table) == [("userName", "HASH"), ("at", "RANGE")]
    assert attribute_types(table) == {"userName": "S", "at": "S", "day": "S"}
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "byDay"
    assert key_schema(index) == [("day", "HASH"), ("at", "RANGE")]
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"}


# --- IAM ------------------------------------------------------------------------------


def test_the_broker_role_is_for_lambda_and_may_assume_only_the_gated_roles(local, session):
    iam = client(session, local, "iam")
    role = iam.get_role(RoleName=BROKER_ROLE_NAME)["Role"]
    assert role["Arn"] == local.resources.broker_role_arn
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
    (policy_name,) = iam.list_role_policies(RoleName=BROKER_ROLE_NAME)["PolicyNames"]
    document = iam.get_role_policy(RoleName=BROKER_ROLE_NAME, PolicyName=policy_name)
    sts_statement = next(
        s for s in document["PolicyDocument"]["Statement"] if "sts:AssumeRole" in s["Action"]
    )
    assert sts_statement["Resource"] == [r.arn for r in local.resources.offered_roles]
    iam_statement = next(
        s for s in document["PolicyDocument"]["Statement"] if "iam:GetRole" in s["Action"]
    )
    assert iam_statement["Action"] == "iam:GetRole"
    assert iam_statement["Resource"] == [
        f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/*"
    ]


def test_the_gating_policy_is_the_shipped_document(local, session):
    iam = client(session, local, "iam")
    arn = local.resources.gating_policy_arn
    assert arn == f"arn:aws:iam::{ACCOUNT}:policy/{GATING_POLICY_NAME}"
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]
    expected = json.loads(SHIPPED_GATING_POLICY.read_text())
    assert document["Document"] == expected


def test_the_demo_role_is_gated_and_trusts_only_the_broker_with_tags(local, session):
    """tests/infrastructure/test_local_parity.py compares it with the stack's in full."""
    iam = client(session, local, "iam")
    role = iam.get_role(RoleName=DEMO_ROLE_NAME)["Role"]
    assert [r.arn for r in local.resources.gated_roles] == [role["Arn"]]
    attached = iam.list_attached_role_policies(RoleName=DEMO_ROLE_NAME)["AttachedPolicies"]
    assert {p["PolicyArn"] for p in attached} == {
        local.resources.gating_policy_arn,
        f"arn:aws:iam::{ACCOUNT}:policy/{DEMO_PERMISSIONS_POLICY_NAME}",
    }
    assert role["AssumeRolePolicyDocument"] == gated_role_trust_policy(
        broker_role_arn=local.resources.broker_role_arn,
        allowed_source_identities=["tapgate-demo"],
    )
    tags = iam.list_role_tags(RoleName=DEMO_ROLE_NAME)["Tags"]
    assert tags == [{"Key": "tapgate-gated", "Value": "true"}]


def test_the_member_accounts_role_trusts_the_broker_across_accounts(local, session):
    """A second moto account's gated role, as the member-account stack makes one."""
    from tapgate.local.bootstrap import (  # noqa: PLC0415
        MEMBER_ACCOUNT_ID,
        MEMBER_ROLE_NAME,
        account_client,
    )

    iam = account_client(
        session, "iam", MEMBER_ACCOUNT_ID, endpoint_url=local.aws_endpoint_url, region="us-east-1"
    )
    role = iam.get_role(RoleName=MEMBER_ROLE_NAME)["Role"]
    assert role["Arn"] == f"arn:aws:iam::{MEMBER_ACCOUNT_ID}:role/{MEMBER_ROLE_NAME}"
    assert [r.arn for r in local.resources.member_roles] == [role["Arn"]]
    assert role["AssumeRolePolicyDocument"] == gated_role_trust_policy(
        broker_role_arn=local.resources.broker_role_arn,
        allowed_source_identities=["tapgate-demo"],
    )
    attached = iam.list_attached_role_policies(RoleName=MEMBER_ROLE_NAME)["AttachedPolicies"]
    assert f"arn:aws:iam::{MEMBER_ACCOUNT_ID}:policy/{GATING_POLICY_NAME}" in {
        p["PolicyArn"] for p in attached
    }
    # not in the tapgate account
    with pytest.raises(client(session, local, "iam").exceptions.NoSuchEntityException):
        client(session, local, "iam").get_role(RoleName=MEMBER_ROLE_NAME)


def test_the_demo_user_keys_identify_the_demo_user(local):
    user = local.resources.demo_user
    sts = boto3.client(
        "sts",
        region_name="us-east-1",
        endpoint_url=local.aws_endpoint_url,
        aws_access_key_id=user.access_key_id,
        aws_secret_access_key=user.secret_access_key,
    )
    assert (
        sts.get_caller_identity()["Arn"] == user.arn == f"arn:aws:iam::{ACCOUNT}:user/tapgate-demo"
    )
    assert user.secret_access_key not in repr(user)


# --- the broker environment -----------------------------------------------------------


def test_the_broker_environment_parses_as_settings(local):
    env = broker_environment(
        local.resources, endpoint_url=local.aws_endpoint_url, origin="http://localhost:8080"
    )
    settings = Settings.from_env(env)
    assert settings.credentials_table == local.resources.credentials_table
    assert settings.ceremonies_table == local.resources.ceremonies_table
    assert settings.audit_table == local.resources.audit_table
    assert settings.rp_id == "localhost"
    assert settings.origins == ("http://localhost:8080",)
    assert settings.admins == ("tapgate-demo",)
    role, member_role = settings.roles
    assert role.arn == local.resources.gated_roles[0].arn
    assert member_role.arn == local.resources.member_roles[0].arn
    assert role.max_session_seconds == 3600
    assert role.user_verification is UserVerification.PREFERRED
    assert env["AWS_ENDPOINT_URL"] == local.aws_endpoint_url
    assert env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["POWERTOOLS_SERVICE_NAME"] == "tapgate"
    assert env["POWERTOOLS_TRACE_DISABLED"] == "true"


def test_the_running_broker_got_the_environment_with_the_api_origin(local):
    assert Settings.from_env(os.environ).origins == (local.api_url,)


# --- the key lookup behind the SigV4 check --------------------------------------------


def test_the_lookup_finds_an_iam_users_key(local, session):
    user = local.resources.demo_user
    found = moto_secret_lookup(account_id=ACCOUNT)(user.access_key_id)
    assert found is not None
    assert found[:3] == (user.secret_access_key, user.arn, None)
    iam = client(session, local, "iam")
    assert found.principal_id == iam.get_user(UserName=user.user_name)["User"]["UserId"]


def test_the_lookup_knows_no_made_up_key(local):
    assert moto_secret_lookup(account_id=ACCOUNT)("AKIAMADEUP0000000000") is None


def test_the_lookup_refuses_an_inactive_key(local, session):
    iam = client(session, local, "iam")
    iam.create_user(UserName="tapgate-inactive")
    key = iam.create_access_key(UserName="tapgate-inactive")["AccessKey"]
    lookup = moto_secret_lookup(account_id=ACCOUNT)
    assert lookup(key["AccessKeyId"]) is not None
    iam.update_access_key(
        UserName="tapgate-inactive", AccessKeyId=key["AccessKeyId"], Status="Inactive"
    )
    assert lookup(key["AccessKeyId"]) is None


def test_the_lookup_finds_assumed_role_credentials_with_their_token(local, session):
    sts = client(session, local, "sts")
    issued = sts.assume_role(RoleArn=local.resources.gated_roles[0].arn, RoleSessionName="carol")[
        "Credentials"
    ]
    found = moto_secret_lookup(account_id=ACCOUNT)(issued["AccessKeyId"])
    assert found is not None
    secret, arn, token, principal_id = found
    role = client(session, local, "iam").get_role(RoleName=DEMO_ROLE_NAME)["Role"]
    assert principal_id == f"{role['RoleId']}:carol"  # what API Gateway reports as caller
    assert secret == issued["SecretAccessKey"]
    assert token == issued["SessionToken"]
    assert arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/{DEMO_ROLE_NAME}/carol"


# --- the running gateway and its state file -------------------------------------------


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def signed_headers(url: str, access_key: str, secret: str) -> dict[str, str]:
    request = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials(access_key, secret), "execute-api", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def test_the_state_file_is_the_documented_shape_and_private(local):
    assert local.state_file is not None
    state = json.loads(local.state_file.read_text())
    assert state == local.state
    user = local.resources.demo_user
    assert state == {
        "apiUrl": local.api_url,
        "awsEndpointUrl": local.aws_endpoint_url,
        "region": "us-east-1",
        "rpId": "localhost",
        "origin": local.api_url,
        "demoUser": {
            "userName": "tapgate-demo",
            "arn": user.arn,
            "accessKeyId": user.access_key_id,
            "secretAccessKey": user.secret_access_key,
        },
        "gatedRoles": [
            {"arn": r.arn, "assurance": "any", "aaguids": []} for r in local.resources.offered_roles
        ],
    }
    assert state["apiUrl"].startswith("http://localhost:")
    assert not state["apiUrl"].endswith("/v1")
    assert stat.S_IMODE(local.state_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(local.state_file.parent.stat().st_mode) == 0o700


def test_the_gateway_serves_the_real_handler(local):
    status, config = fetch(local.api_url + "/v1/config")
    assert status == 200
    assert config["rpId"] == "localhost"
    assert [r["arn"] for r in config["roles"]] == [r.arn for r in local.resources.offered_roles]


def test_the_gateway_checks_signatures_against_moto_keys(local):
    url = local.api_url + "/v1/credentials"
    user = local.resources.demo_user
    status, problem = fetch(url)
    assert (status, problem["status"]) == (403, 403)
    status, _ = fetch(url, signed_headers(url, user.access_key_id, "x" * 40))
    assert status == 403
    status, body = fetch(url, signed_headers(url, user.access_key_id, user.secret_access_key))
    assert status == 200
    assert body == {"credentials": []}


def test_run_local_stops_cleanly_on_sigterm(tmp_path):
    state_file = tmp_path / "state" / "local.json"
    code = (
        "import sys; from pathlib import Path; from tapgate.local.server import run_local; "
        f"sys.exit(run_local(port=0, state_file=Path({str(state_file)!r})))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not state_file.exists():
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "run_local did not write its state file"
            time.sleep(0.1)
        api_url = json.loads(state_file.read_text())["apiUrl"]
        assert fetch(api_url + "/v1/config")[0] == 200
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    key_file = state_file.parent / "demo-key.json"
    assert f"credentials --api-url {api_url} --state-file {state_file}" in output
    assert f"tapgate register --authenticator soft:{key_file}" in output
    assert f"--authenticator soft:{key_file} --role " in output
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"  # the demo key stays for next time
    assert not state_file.exists()


def test_a_port_in_use_is_a_local_mode_error(local):
    port = int(local.api_url.rsplit(":", 1)[1])
    with pytest.raises(LocalModeError, match=f"127.0.0.1:{port}"):
        start_local(port=port)
    # the running instance and its moto state are untouched
    url = local.api_url + "/v1/credentials"
    user = local.resources.demo_user
    status, _ = fetch(url, signed_headers(url, user.access_key_id, user.secret_access_key))
    assert status == 200


def test_the_running_gateway_answers_only_for_its_origin(local):
    """DNS rebinding: a page on another site whose name now points at 127.0.0.1 sends its
    own Host; tapgate local answers only for the origin in its state file."""
    import http.client  # noqa: PLC0415
    from urllib.parse import urlsplit  # noqa: PLC0415

    port = urlsplit(local.api_url).port
    for host, status in ((f"evil.example:{port}", 403), (f"localhost:{port}", 200)):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request("GET", "/v1/config", headers={"Host": host})
            response = connection.getresponse()
            assert response.status == status, host
            assert json.loads(response.read())
        finally:
            connection.close()
