"""Create, in an AWS endpoint (moto's server in local mode), what the CDK stack creates.

The tables, the broker role, the managed gating policy, one demo gated role whose
trust policy admits only the broker with tapgate's tags and the demo user's
SourceIdentity, and a demo IAM user with an access key. ``broker_environment``
then gives the handler the same environment variables the stack sets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from tapgate_broker.settings import (
    ENV_ADMINS,
    ENV_ALLOW_LOCALHOST_HTTP,
    ENV_AUDIT_TABLE,
    ENV_CEREMONIES_TABLE,
    ENV_CREDENTIALS_TABLE,
    ENV_FEDERATION_URL,
    ENV_ORIGINS,
    ENV_ROLES,
    ENV_RP_ID,
    ENV_RP_NAME,
)

POLICIES_DIR = Path(__file__).resolve().parents[2] / "policies"
CREDENTIAL_ID_INDEX = "byCredentialId"
TTL_ATTRIBUTE = "expiresAt"
SESSION_TAG_KEYS = ("tapgate-mfa", "tapgate-uv", "tapgate-credential")
BROKER_ROLE_NAME = "tapgate-broker"
GATING_POLICY_NAME = "tapgate-require-webauthn"
DEMO_ROLE_NAME = "tapgate-demo-admin"
DEMO_USER_NAME = "tapgate-demo"
SELF_SERVICE_POLICY_NAME = "tapgate-self-service"
# IAM Identity Center's roles, the default identity roles (core/identity.py)
IDENTITY_CENTER_ROLE_PATH = "aws-reserved/sso.amazonaws.com/"
LOCAL_API_ID = "local"
# The broker's own credentials in local mode: moto accepts any key for its default account.
BROKER_ACCESS_KEY_ID = "AKIATAPGATELOCALBRKR"
BROKER_SECRET_ACCESS_KEY = "tapgate-local-broker-not-a-secret"  # noqa: S105 -- moto only


@dataclass(frozen=True)
class DemoUser:
    user_name: str
    arn: str
    access_key_id: str
    secret_access_key: str = field(repr=False)

    def to_json(self) -> dict[str, str]:
        return {
            "userName": self.user_name,
            "arn": self.arn,
            "accessKeyId": self.access_key_id,
            "secretAccessKey": self.secret_access_key,
        }


@dataclass(frozen=True)
class GatedRole:
    arn: str
    name: str
    max_session_seconds: int = 3600
    user_verification: str = "preferred"


@dataclass(frozen=True)
class LocalResources:
    """Everything ``bootstrap`` created, by name and ARN."""

    region: str
    account_id: str
    credentials_table: str
    ceremonies_table: str
    audit_table: str
    broker_role_arn: str
    gating_policy_arn: str
    gated_roles: tuple[GatedRole, ...]
    demo_user: DemoUser


def create_tables(
    dynamodb: Any,
    *,
    credentials_table: str,
    ceremonies_table: str,
    audit_table: str,
) -> None:
    """The three tables with the stack's keys, index and TTL settings (on-demand billing)."""
    dynamodb.create_table(
        TableName=credentials_table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "userName", "AttributeType": "S"},
            {"AttributeName": "credentialId", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "userName", "KeyType": "HASH"},
            {"AttributeName": "credentialId", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": CREDENTIAL_ID_INDEX,
                "KeySchema": [{"AttributeName": "credentialId", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    dynamodb.create_table(
        TableName=ceremonies_table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "ceremonyId", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "ceremonyId", "KeyType": "HASH"}],
    )
    dynamodb.create_table(
        TableName=audit_table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "userName", "AttributeType": "S"},
            {"AttributeName": "at", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "userName", "KeyType": "HASH"},
            {"AttributeName": "at", "KeyType": "RANGE"},
        ],
    )
    for name in (ceremonies_table, audit_table):
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        )
    dynamodb.update_continuous_backups(
        TableName=credentials_table,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )


def gated_role_trust_policy(
    *, broker_role_arn: str, source_identities: list[str]
) -> dict[str, Any]:
    """Only the broker, only with tapgate's session tags, only for the listed users."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TapgateBrokerWithWebAuthn",
                "Effect": "Allow",
                "Principal": {"AWS": broker_role_arn},
                "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
                "Condition": {
                    "StringEquals": {
                        "aws:RequestTag/tapgate-mfa": "webauthn",
                        "sts:SourceIdentity": source_identities,
                    },
                    "ForAllValues:StringEquals": {"aws:TagKeys": list(SESSION_TAG_KEYS)},
                },
            }
        ],
    }


def bootstrap(
    session: boto3.session.Session,
    *,
    endpoint_url: str | None = None,
    prefix: str = "tapgate",
    demo_user_name: str = DEMO_USER_NAME,
    policies_dir: Path = POLICIES_DIR,
) -> LocalResources:
    """Create the stack's resources plus a demo user and gated role; return what was made."""
    region = session.region_name or "us-east-1"
    dynamodb = session.client("dynamodb", endpoint_url=endpoint_url, region_name=region)
    iam = session.client("iam", endpoint_url=endpoint_url, region_name=region)
    sts = session.client("sts", endpoint_url=endpoint_url, region_name=region)
    account_id = str(sts.get_caller_identity()["Account"])

    tables = {
        "credentials_table": f"{prefix}-credentials",
        "ceremonies_table": f"{prefix}-ceremonies",
        "audit_table": f"{prefix}-audit",
    }
    create_tables(dynamodb, **tables)
    table_arns = [
        f"arn:aws:dynamodb:{region}:{account_id}:table/{name}" for name in tables.values()
    ]

    lambda_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    broker_role_arn = iam.create_role(
        RoleName=BROKER_ROLE_NAME,
        AssumeRolePolicyDocument=json.dumps(lambda_trust),
        Description="tapgate broker Lambda",
    )["Role"]["Arn"]

    gating_policy_arn = iam.create_policy(
        PolicyName=GATING_POLICY_NAME,
        PolicyDocument=(policies_dir / "gating-policy.json").read_text(),
        Description="Deny everything unless the session carries tapgate-mfa=webauthn",
    )["Policy"]["Arn"]

    trust = gated_role_trust_policy(
        broker_role_arn=broker_role_arn, source_identities=[demo_user_name]
    )
    demo_role = iam.create_role(
        RoleName=DEMO_ROLE_NAME,
        AssumeRolePolicyDocument=json.dumps(trust),
        MaxSessionDuration=3600,
        Description="tapgate demo gated role",
    )["Role"]
    iam.attach_role_policy(RoleName=DEMO_ROLE_NAME, PolicyArn=gating_policy_arn)
    iam.put_role_policy(
        RoleName=DEMO_ROLE_NAME,
        PolicyName="administrator",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )
    gated_roles = (GatedRole(arn=demo_role["Arn"], name=DEMO_ROLE_NAME),)

    iam.put_role_policy(
        RoleName=BROKER_ROLE_NAME,
        PolicyName="tapgate-broker",
        PolicyDocument=json.dumps(
            _broker_policy(
                table_arns=table_arns,
                gated_role_arns=[r.arn for r in gated_roles],
                identity_role_arns=[f"arn:aws:iam::{account_id}:role/{IDENTITY_CENTER_ROLE_PATH}*"],
            )
        ),
    )

    user = iam.create_user(UserName=demo_user_name)["User"]
    self_service = (policies_dir / "self-service-policy.json").read_text()
    for placeholder, value in {
        "${Partition}": "aws",
        "${Region}": region,
        "${Account}": account_id,
        "${ApiId}": LOCAL_API_ID,
    }.items():
        self_service = self_service.replace(placeholder, value)
    iam.put_user_policy(
        UserName=demo_user_name, PolicyName=SELF_SERVICE_POLICY_NAME, PolicyDocument=self_service
    )
    key = iam.create_access_key(UserName=demo_user_name)["AccessKey"]

    return LocalResources(
        region=region,
        account_id=account_id,
        broker_role_arn=broker_role_arn,
        gating_policy_arn=gating_policy_arn,
        gated_roles=gated_roles,
        demo_user=DemoUser(
            user_name=demo_user_name,
            arn=user["Arn"],
            access_key_id=key["AccessKeyId"],
            secret_access_key=key["SecretAccessKey"],
        ),
        **tables,
    )


def broker_environment(
    resources: LocalResources,
    *,
    endpoint_url: str,
    origin: str,
    rp_id: str = "localhost",
    federation_url: str | None = None,
) -> dict[str, str]:
    """The environment the stack gives the Lambda, pointed at the local endpoint."""
    roles = [
        {
            "arn": role.arn,
            "name": role.name,
            "maxSessionSeconds": role.max_session_seconds,
            "userVerification": role.user_verification,
        }
        for role in resources.gated_roles
    ]
    return {
        ENV_CREDENTIALS_TABLE: resources.credentials_table,
        ENV_CEREMONIES_TABLE: resources.ceremonies_table,
        ENV_AUDIT_TABLE: resources.audit_table,
        ENV_RP_ID: rp_id,
        ENV_RP_NAME: "tapgate (local)",
        ENV_ORIGINS: json.dumps([origin]),
        ENV_ROLES: json.dumps(roles),
        ENV_ADMINS: json.dumps([resources.demo_user.user_name]),
        ENV_ALLOW_LOCALHOST_HTTP: "true",
        **({ENV_FEDERATION_URL: federation_url} if federation_url else {}),
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_DEFAULT_REGION": resources.region,
        "AWS_REGION": resources.region,
        "AWS_ACCESS_KEY_ID": BROKER_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": BROKER_SECRET_ACCESS_KEY,
        "POWERTOOLS_SERVICE_NAME": "tapgate",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "tapgate",
    }


def _broker_policy(
    *, table_arns: list[str], gated_role_arns: list[str], identity_role_arns: list[str]
) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                # as the stack: read an identity role to confirm a session's RoleId and path
                "Sid": "ConfirmIdentityRoles",
                "Effect": "Allow",
                "Action": ["iam:GetRole"],
                "Resource": identity_role_arns,
            },
            {
                "Sid": "AssumeGatedRoles",
                "Effect": "Allow",
                "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
                "Resource": gated_role_arns,
            },
            {
                "Sid": "Tables",
                "Effect": "Allow",
                "Action": [
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:Query",
                    "dynamodb:TransactWriteItems",
                ],
                "Resource": [*table_arns, *(f"{arn}/index/*" for arn in table_arns)],
            },
        ],
    }
