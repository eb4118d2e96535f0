"""Create, in an AWS endpoint (moto's server in local mode), what the CDK stack creates.

The tables, the broker role and its policy, the managed gating policy and one demo gated
role (the demo user's, with administrator permissions) are built from the contract's specs
and policy builders (``tapgate_contract``), the ones the stack builds its resources from;
``tests/infrastructure/test_local_parity.py`` compares the two statement by statement. A
demo IAM user with an access key and the self-service policy stands for a real user.
``broker_environment`` then gives the handler the variables the stack sets.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3

from tapgate.local.config import LocalRoleSpec
from tapgate_contract import environment, tables
from tapgate_contract.identity import DEFAULT_IDENTITY_ROLES
from tapgate_contract.limits import MAX_SESSION_SECONDS
from tapgate_contract.policies import (
    broker_policy,
    broker_role_trust_policy,
    event_bus_arn,
    gated_role_tags,
    gated_role_trust_policy,
    gating_policy,
    identity_role_resource,
    self_service_policy,
)
from tapgate_contract.tags import ANY_ASSURANCE

BROKER_ROLE_NAME = "tapgate-broker"
BROKER_POLICY_NAME = "tapgate-broker"
GATING_POLICY_NAME = "tapgate-require-webauthn"
DEMO_ROLE_NAME = "tapgate-demo-admin"
# What the demo role may do once the gate lets a session through (cdk.json's
# managedPolicyArns of a gated role).
DEMO_PERMISSIONS_POLICY_NAME = "tapgate-demo-permissions"
DEMO_USER_NAME = "tapgate-demo"
# A second (moto) AWS account with a gated role of its own, as a member account's stack
# (stacks/member_account.py) makes one: its trust policy trusts this account's broker role,
# and the broker lists it by ARN (cdk.json's externalRoles). Local mode signs in to it too.
MEMBER_ACCOUNT_ID = "222233334444"
MEMBER_ROLE_NAME = "tapgate-demo-member-admin"
# moto's server serves the account a request names in this header (else the caller's).
MOTO_ACCOUNT_HEADER = "x-moto-account-id"
SELF_SERVICE_POLICY_NAME = "tapgate-self-service"
LOCAL_API_ID = "local"
LOCAL_PARTITION = "aws"  # moto's
# The broker's own credentials in local mode: moto accepts any key for its default account.
BROKER_ACCESS_KEY_ID = "AKIATAPGATELOCALBRKR"
BROKER_SECRET_ACCESS_KEY = "tapgate-local-broker-not-a-secret"  # noqa: S105 -- moto only
_ALLOW_EVERYTHING = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


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
class LocalGatedRole:
    """A gated role local mode created, with what cdk.json's ``gatedRoles`` says of one."""

    arn: str
    name: str
    allowed_source_identities: tuple[str, ...]
    managed_policy_arns: tuple[str, ...]  # its permissions (the gating policy comes on top)
    max_session_seconds: int = MAX_SESSION_SECONDS
    user_verification: str = "preferred"
    require_sign_counter: bool = False
    assurance: str = ANY_ASSURANCE
    aaguids: tuple[str, ...] = ()


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
    gated_roles: tuple[LocalGatedRole, ...]
    demo_user: DemoUser
    member_roles: tuple[LocalGatedRole, ...] = ()  # in MEMBER_ACCOUNT_ID

    @property
    def offered_roles(self) -> tuple[LocalGatedRole, ...]:
        """Every role the broker offers: this account's and the member account's."""
        return self.gated_roles + self.member_roles


def create_tables(
    dynamodb: Any,
    *,
    credentials_table: str,
    ceremonies_table: str,
    audit_table: str,
) -> dict[str, str]:
    """The contract's three tables (keys, index, TTL, point-in-time recovery) under these
    names; returns each table's ARN by its role."""
    names = {
        tables.CREDENTIALS.role: credentials_table,
        tables.CEREMONIES.role: ceremonies_table,
        tables.AUDIT.role: audit_table,
    }
    arns: dict[str, str] = {}
    for spec in tables.TABLES:
        name = names[spec.role]
        indexes = spec.global_secondary_indexes()
        created = dynamodb.create_table(
            TableName=name,
            BillingMode=tables.BILLING_MODE,
            AttributeDefinitions=spec.attribute_definitions(),
            KeySchema=spec.key_schema(),
            **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
        )
        arns[spec.role] = str(created["TableDescription"]["TableArn"])
        if spec.ttl_attribute is not None:
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute},
            )
        if spec.point_in_time_recovery:
            dynamodb.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
    return arns


def create_gated_role(
    iam: Any,
    *,
    name: str,
    broker_role_arn: str,
    allowed_source_identities: tuple[str, ...],
    managed_policy_arns: tuple[str, ...],
    gating_policy_arn: str,
    user_verification: str = "preferred",
    max_session_seconds: int = MAX_SESSION_SECONDS,
    require_sign_counter: bool = False,
    assurance: str = ANY_ASSURANCE,
    aaguids: tuple[str, ...] = (),
) -> LocalGatedRole:
    """A gated role as the stack's ``GatedRole`` builds one: the contract's trust policy,
    the gated-role tag, its permissions and the gating policy."""
    trust = gated_role_trust_policy(
        broker_role_arn=broker_role_arn,
        allowed_source_identities=allowed_source_identities,
        require_user_verification=user_verification == "required",
        assurance=assurance,
    )
    role = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(trust),
        MaxSessionDuration=MAX_SESSION_SECONDS,
        Description="Usable only through tapgate with a WebAuthn assertion",
        Tags=[{"Key": k, "Value": v} for k, v in gated_role_tags().items()],
    )["Role"]
    for arn in (*managed_policy_arns, gating_policy_arn):
        iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    return LocalGatedRole(
        arn=role["Arn"],
        name=name,
        allowed_source_identities=allowed_source_identities,
        managed_policy_arns=managed_policy_arns,
        user_verification=user_verification,
        max_session_seconds=max_session_seconds,
        require_sign_counter=require_sign_counter,
        assurance=assurance,
        aaguids=aaguids,
    )


def account_client(
    session: boto3.session.Session,
    service: str,
    account_id: str,
    *,
    endpoint_url: str | None,
    region: str,
) -> Any:
    """A client of moto's server that acts in ``account_id`` (another account than the
    caller's: what a member account's own administrator would do there)."""
    client = session.client(service, endpoint_url=endpoint_url, region_name=region)

    def in_account(request: Any, **_: Any) -> None:
        request.headers[MOTO_ACCOUNT_HEADER] = account_id

    client.meta.events.register_first(f"before-sign.{service}", in_account)
    return client


def create_member_role(
    iam: Any, *, broker_role_arn: str, allowed_source_identities: tuple[str, ...]
) -> LocalGatedRole:
    """In a member account: its own gating policy and one gated role trusting the broker
    role of the tapgate account, as the member-account stack builds them."""
    gating_policy_arn = iam.create_policy(
        PolicyName=GATING_POLICY_NAME,
        PolicyDocument=json.dumps(gating_policy()),
        Description="Deny everything unless the session carries tapgate-mfa=webauthn",
    )["Policy"]["Arn"]
    permissions_arn = iam.create_policy(
        PolicyName=DEMO_PERMISSIONS_POLICY_NAME,
        PolicyDocument=json.dumps(_ALLOW_EVERYTHING),
        Description="What the demo member-account role may do once tapgate let the session in",
    )["Policy"]["Arn"]
    return create_gated_role(
        iam,
        name=MEMBER_ROLE_NAME,
        broker_role_arn=broker_role_arn,
        allowed_source_identities=allowed_source_identities,
        managed_policy_arns=(permissions_arn,),
        gating_policy_arn=gating_policy_arn,
    )


def bootstrap(
    session: boto3.session.Session,
    *,
    endpoint_url: str | None = None,
    prefix: str = "tapgate",
    demo_user_name: str = DEMO_USER_NAME,
    before_demo_key: Callable[[], None] | None = None,
    roles: Sequence[LocalRoleSpec] = (),
) -> LocalResources:
    """Create the stack's resources plus a demo user and gated role; return what was made.

    ``roles`` (``tapgate local --config``'s gatedRoles) are created beside the demo role, as
    the stack creates them, with the demo's permissions. ``before_demo_key`` runs right
    before the demo user's access key is created (local mode seeds moto's random generator
    there, so the key is the same after a restart).
    """
    region = session.region_name or "us-east-1"
    dynamodb = session.client("dynamodb", endpoint_url=endpoint_url, region_name=region)
    iam = session.client("iam", endpoint_url=endpoint_url, region_name=region)
    sts = session.client("sts", endpoint_url=endpoint_url, region_name=region)
    account_id = str(sts.get_caller_identity()["Account"])

    table_names = {
        "credentials_table": f"{prefix}-{tables.CREDENTIALS.role}",
        "ceremonies_table": f"{prefix}-{tables.CEREMONIES.role}",
        "audit_table": f"{prefix}-{tables.AUDIT.role}",
    }
    table_arns = create_tables(dynamodb, **table_names)

    broker_role_arn = iam.create_role(
        RoleName=BROKER_ROLE_NAME,
        AssumeRolePolicyDocument=json.dumps(broker_role_trust_policy()),
        Description="tapgate broker: verifies WebAuthn ceremonies, assumes gated roles",
    )["Role"]["Arn"]

    gating_policy_arn = iam.create_policy(
        PolicyName=GATING_POLICY_NAME,
        PolicyDocument=json.dumps(gating_policy()),
        Description="Deny everything unless the session carries tapgate-mfa=webauthn",
    )["Policy"]["Arn"]
    demo_permissions_arn = iam.create_policy(
        PolicyName=DEMO_PERMISSIONS_POLICY_NAME,
        PolicyDocument=json.dumps(_ALLOW_EVERYTHING),
        Description="What the demo gated role may do once tapgate let the session in",
    )["Policy"]["Arn"]
    gated_roles = (
        create_gated_role(
            iam,
            name=DEMO_ROLE_NAME,
            broker_role_arn=broker_role_arn,
            allowed_source_identities=(demo_user_name,),
            managed_policy_arns=(demo_permissions_arn,),
            gating_policy_arn=gating_policy_arn,
        ),
        *(
            create_gated_role(
                iam,
                name=spec.name,
                broker_role_arn=broker_role_arn,
                allowed_source_identities=spec.allowed_source_identities,
                managed_policy_arns=(demo_permissions_arn,),
                gating_policy_arn=gating_policy_arn,
                user_verification=spec.user_verification,
                max_session_seconds=spec.max_session_seconds,
                require_sign_counter=spec.require_sign_counter,
                assurance=spec.assurance,
                aaguids=spec.aaguids,
            )
            for spec in roles
        ),
    )

    member_roles = (
        create_member_role(
            account_client(
                session, "iam", MEMBER_ACCOUNT_ID, endpoint_url=endpoint_url, region=region
            ),
            broker_role_arn=broker_role_arn,
            allowed_source_identities=(demo_user_name,),
        ),
    )

    iam.put_role_policy(
        RoleName=BROKER_ROLE_NAME,
        PolicyName=BROKER_POLICY_NAME,
        PolicyDocument=json.dumps(
            broker_policy(
                credentials_table_arn=table_arns[tables.CREDENTIALS.role],
                ceremonies_table_arn=table_arns[tables.CEREMONIES.role],
                audit_table_arn=table_arns[tables.AUDIT.role],
                event_bus_arn=event_bus_arn(
                    partition=LOCAL_PARTITION, region=region, account=account_id
                ),
                identity_role_arns=[
                    identity_role_resource(p, partition=LOCAL_PARTITION, account=account_id)
                    for p in DEFAULT_IDENTITY_ROLES
                ],
                gated_role_arns=[r.arn for r in gated_roles + member_roles],
            )
        ),
    )

    user = iam.create_user(UserName=demo_user_name)["User"]
    self_service = self_service_policy(
        partition=LOCAL_PARTITION, region=region, account=account_id, api_id=LOCAL_API_ID
    )
    iam.put_user_policy(
        UserName=demo_user_name,
        PolicyName=SELF_SERVICE_POLICY_NAME,
        PolicyDocument=json.dumps(self_service),
    )
    if before_demo_key is not None:
        before_demo_key()
    key = iam.create_access_key(UserName=demo_user_name)["AccessKey"]

    return LocalResources(
        region=region,
        account_id=account_id,
        broker_role_arn=broker_role_arn,
        gating_policy_arn=gating_policy_arn,
        gated_roles=gated_roles,
        member_roles=member_roles,
        demo_user=DemoUser(
            user_name=demo_user_name,
            arn=user["Arn"],
            access_key_id=key["AccessKeyId"],
            secret_access_key=key["SecretAccessKey"],
        ),
        **table_names,
    )


def broker_environment(
    resources: LocalResources,
    *,
    endpoint_url: str,
    origin: str,
    rp_id: str = "localhost",
    federation_url: str | None = None,
    metadata_file: str | None = None,
    metadata_root_pem: str | None = None,
) -> dict[str, str]:
    """The environment the stack gives the Lambda, pointed at the local endpoint; the FIDO
    metadata from a file instead of the stack's bucket."""
    roles = [
        {
            "arn": role.arn,
            "name": role.name,
            "maxSessionSeconds": role.max_session_seconds,
            "userVerification": role.user_verification,
            "requireSignCounter": role.require_sign_counter,
            "assurance": role.assurance,
            "aaguids": list(role.aaguids),
        }
        for role in resources.offered_roles
    ]
    metadata: dict[str, str] = {}
    if metadata_file is not None:
        metadata[environment.METADATA_FILE] = metadata_file
    if metadata_root_pem is not None:
        metadata[environment.METADATA_ROOT] = metadata_root_pem
    return {
        environment.CREDENTIALS_TABLE: resources.credentials_table,
        environment.CEREMONIES_TABLE: resources.ceremonies_table,
        environment.AUDIT_TABLE: resources.audit_table,
        environment.RP_ID: rp_id,
        environment.RP_NAME: "tapgate (local)",
        environment.ORIGINS: json.dumps([origin]),
        environment.ROLES: json.dumps(roles),
        environment.ADMINS: json.dumps([resources.demo_user.user_name]),
        **({environment.FEDERATION_URL: federation_url} if federation_url else {}),
        **metadata,
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_DEFAULT_REGION": resources.region,
        "AWS_REGION": resources.region,
        "AWS_ACCESS_KEY_ID": BROKER_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": BROKER_SECRET_ACCESS_KEY,
        "POWERTOOLS_SERVICE_NAME": "tapgate",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "tapgate",
    }
