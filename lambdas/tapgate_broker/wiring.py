"""Build the Broker from the environment, once per cold start."""

from __future__ import annotations

import dataclasses
import functools
import time

import boto3
from aws_lambda_powertools.metrics import Metrics, MetricUnit
from botocore.config import Config

from tapgate_broker.adapters.audit_reader import DynamoAuditReader
from tapgate_broker.adapters.dynamodb import (
    DynamoAuditLog,
    DynamoCeremonyStore,
    DynamoCodeStore,
    DynamoCredentialStore,
    DynamoEnrollmentStore,
)
from tapgate_broker.adapters.event_bus import EventBridgeSignals
from tapgate_broker.adapters.federation import FederationConsoleSignIn
from tapgate_broker.adapters.file_metadata import FileMetadataStore
from tapgate_broker.adapters.iam import IamRoleDirectory
from tapgate_broker.adapters.s3_metadata import S3MetadataStore
from tapgate_broker.adapters.sts import StsRoleIssuer
from tapgate_broker.core.assurance_policy import MetadataLookup
from tapgate_broker.core.event_signals import (
    SignalEmitter,
    SignallingAuditLog,
)
from tapgate_broker.core.metadata import MetadataStore, fido_mds_root, trust_root_from_pem
from tapgate_broker.core.metadata_source import DEFAULT_MAX_AGE_SECONDS, MetadataSource
from tapgate_broker.core.ports import Clock
from tapgate_broker.core.service import Broker, BrokerConfig
from tapgate_broker.settings import Settings
from tapgate_contract import signals

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
    # The EventBridge client is made with the first event (most requests send none).
    emitter = SignalEmitter(
        EventBridgeSignals(lambda: session.client("events", config=_CLIENT_CONFIG), count=count)
    )
    return Broker(
        config=BrokerConfig(
            **{f.name: getattr(settings, f.name) for f in dataclasses.fields(BrokerConfig)}
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
        audit=SignallingAuditLog(audit, emitter),
        issuer=StsRoleIssuer(sts),
        role_directory=IamRoleDirectory(iam),
        audit_reader=DynamoAuditReader(dynamodb, table_name=settings.audit_table),
        codes=DynamoCodeStore(
            dynamodb,
            table_name=settings.ceremonies_table,
            credentials_table=settings.credentials_table,
        ),
        clock=clock or time.time,
        metadata=metadata_lookup(settings, session=session, clock=clock or time.time),
    )


def count(name: str) -> None:
    """One of the broker's metrics (tapgate_contract.signals), flushed with the handler's:
    Powertools' Metrics instances of one namespace share their metric set."""
    _METRICS.add_metric(name=name, unit=MetricUnit.Count, value=1)


_METRICS = Metrics(namespace=signals.METRIC_NAMESPACE, service=signals.SERVICE)


def metadata_lookup(
    settings: Settings, *, session: boto3.session.Session, clock: Clock
) -> MetadataLookup | None:
    """The verified FIDO metadata, read on first use: from the stack's bucket, or in local
    mode from a file; None when the deployment keeps none (no key can be certified)."""
    if settings.metadata_file is None and settings.metadata_bucket is None:
        return None

    @functools.cache
    def source() -> MetadataSource:  # built on first use: most requests need no metadata
        store: MetadataStore
        if settings.metadata_file is not None:
            store = FileMetadataStore(settings.metadata_file)
        else:
            store = S3MetadataStore(
                session.client("s3", config=_CLIENT_CONFIG),
                bucket=str(settings.metadata_bucket),
                key=settings.metadata_key,
            )
        root = (
            trust_root_from_pem(settings.metadata_root_pem)
            if settings.metadata_root_pem
            else fido_mds_root()
        )
        # A local file is read again on each use (its hash tells an unchanged one, which is
        # not verified again): a blob the user replaced counts at the next sign-in.
        max_age = 0 if settings.metadata_file is not None else DEFAULT_MAX_AGE_SECONDS
        return MetadataSource(store, root=root, clock=clock, max_age_seconds=max_age)

    return lambda: source().index()


@functools.cache
def broker_from_env() -> Broker:
    return build_broker(Settings.from_env())
