"""Build the Broker from the environment, once per cold start."""

from __future__ import annotations

import functools
import time

import boto3
from botocore.config import Config

from tapgate_broker.adapters.dynamodb import (
    DynamoAuditLog,
    DynamoCeremonyStore,
    DynamoCodeStore,
    DynamoCredentialStore,
    DynamoEnrollmentStore,
)
from tapgate_broker.adapters.federation import FederationConsoleSignIn
from tapgate_broker.adapters.iam import IamRoleDirectory
from tapgate_broker.adapters.sts import StsRoleIssuer
from tapgate_broker.core.ports import Clock
from tapgate_broker.core.service import Broker, BrokerConfig
from tapgate_broker.settings import Settings

# Fail fast inside the Lambda's time budget; the client retries on 503.
_CLIENT_CONFIG = Config(
    connect_timeout=2, read_timeout=5, retries={"max_attempts": 2, "mode": "standard"}
)


def build_broker(
    settings: Settings,
    *,
    session: boto3.session.Session | None = None,
    clock: Clock | None = None,
) -> Broker:
    session = session or boto3.session.Session()
    dynamodb = session.client("dynamodb", config=_CLIENT_CONFIG)
    sts = session.client("sts", config=_CLIENT_CONFIG)
    iam = session.client("iam", config=_CLIENT_CONFIG)
    audit = DynamoAuditLog(
        dynamodb,
        table_name=settings.audit_table,
        retention_days=settings.audit_retention_days,
    )
    return Broker(
        config=BrokerConfig(
            rp_id=settings.rp_id,
            rp_name=settings.rp_name,
            origins=settings.origins,
            roles=settings.roles,
            ceremony_ttl_seconds=settings.ceremony_ttl_seconds,
            admins=settings.admins,
            enrollment_ttl_seconds=settings.enrollment_ttl_seconds,
            identity_roles=settings.identity_roles,
            max_keys_per_user=settings.max_keys_per_user,
        ),
        credentials=DynamoCredentialStore(
            dynamodb,
            table_name=settings.credentials_table,
            tokens_table=settings.ceremonies_table,
            audit_log=audit,
        ),
        ceremonies=DynamoCeremonyStore(dynamodb, table_name=settings.ceremonies_table),
        enrollments=DynamoEnrollmentStore(dynamodb, table_name=settings.ceremonies_table),
        console=FederationConsoleSignIn(
            issuer=settings.origins[0], endpoint=settings.federation_url
        ),
        audit=audit,
        issuer=StsRoleIssuer(sts),
        role_directory=IamRoleDirectory(iam),
        codes=DynamoCodeStore(
            dynamodb,
            table_name=settings.ceremonies_table,
            credentials_table=settings.credentials_table,
        ),
        clock=clock or time.time,
    )


@functools.cache
def broker_from_env() -> Broker:
    return build_broker(Settings.from_env())
