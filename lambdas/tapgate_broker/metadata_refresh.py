"""Lambda entry point of the scheduled FIDO metadata refresh (EventBridge, daily).

Downloads the MDS3 blob, verifies it and stores it in S3 only if good
(`core.metadata_refresh`). Every run adds one metric named after its outcome;
`MetadataBlobRejected` (a bad download, the stored blob kept) has an alarm in the stack. A
failing store raises, which Lambda counts as an error (alarmed too) and retries.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from botocore.config import Config

from tapgate_broker.adapters.mds_download import HttpsBlobDownload
from tapgate_broker.adapters.s3_metadata import S3MetadataStore
from tapgate_broker.core.metadata import (
    DEFAULT_BLOB_URL,
    TrustRoot,
    fido_mds_root,
    trust_root_from_pem,
)
from tapgate_broker.core.metadata_refresh import RefreshOutcome, RefreshStatus, refresh_metadata
from tapgate_broker.core.ports import Clock
from tapgate_contract import environment

# The contract with the stack (stacks/metadata.py sets them; a test checks both agree).
ENV_METADATA_BUCKET: Final = environment.METADATA_BUCKET
ENV_METADATA_KEY: Final = environment.METADATA_KEY
ENV_METADATA_URL: Final = environment.METADATA_URL
ENV_METADATA_ROOT: Final = environment.METADATA_ROOT  # PEM; unset: the FIDO Alliance's root
ALL_ENV_VARS: Final = (ENV_METADATA_BUCKET, ENV_METADATA_KEY, ENV_METADATA_URL, ENV_METADATA_ROOT)

SERVICE: Final = "tapgate-metadata"
NAMESPACE: Final = "tapgate"
METRICS: Final = {
    RefreshStatus.STORED: "MetadataBlobStored",
    RefreshStatus.UNCHANGED: "MetadataBlobUnchanged",
    RefreshStatus.REJECTED: "MetadataBlobRejected",
    RefreshStatus.CONFLICT: "MetadataBlobConflict",
}

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

_S3_CONFIG = Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3})


class RefreshSettingsError(Exception):
    """The environment does not describe a usable refresh (a deployment bug)."""


@dataclass(frozen=True)
class RefreshSettings:
    bucket: str
    key: str
    url: str = DEFAULT_BLOB_URL
    root_pem: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RefreshSettings:
        env = os.environ if environ is None else environ
        missing = [n for n in (ENV_METADATA_BUCKET, ENV_METADATA_KEY) if not env.get(n)]
        if missing:
            raise RefreshSettingsError(f"missing environment variables: {', '.join(missing)}")
        return cls(
            bucket=env[ENV_METADATA_BUCKET],
            key=env[ENV_METADATA_KEY],
            url=env.get(ENV_METADATA_URL) or DEFAULT_BLOB_URL,
            root_pem=env.get(ENV_METADATA_ROOT) or None,
        )

    def trust_root(self) -> TrustRoot:
        return trust_root_from_pem(self.root_pem) if self.root_pem else fido_mds_root()


def build_refresh(
    settings: RefreshSettings,
    *,
    s3: Any | None = None,
    download: Callable[[], bytes] | None = None,
    clock: Clock = time.time,
) -> Callable[[], RefreshOutcome]:
    """The refresh with its dependencies; `s3`, `download` and `clock` for tests."""
    store = S3MetadataStore(
        s3 or boto3.client("s3", config=_S3_CONFIG), bucket=settings.bucket, key=settings.key
    )
    fetch = download or HttpsBlobDownload(settings.url)
    root = settings.trust_root()

    def run() -> RefreshOutcome:
        now = dt.datetime.fromtimestamp(clock(), dt.UTC)
        return refresh_metadata(download=fetch, store=store, root=root, now=now)

    return run


@functools.cache
def _refresh_from_env() -> Callable[[], RefreshOutcome]:
    return build_refresh(RefreshSettings.from_env())


def report(outcome: RefreshOutcome) -> dict[str, Any]:
    """Count the outcome as a metric, log it, and answer it (the invocation's result)."""
    metrics.add_metric(name=METRICS[outcome.status], unit=MetricUnit.Count, value=1)
    summary = {
        "status": outcome.status.value,
        "no": outcome.no,
        "previousNo": outcome.previous_no,
        "reason": outcome.reason,
    }
    if outcome.status is RefreshStatus.REJECTED:
        logger.error("metadata blob rejected; the stored blob stays", extra=summary)
    else:
        logger.info("metadata refresh", extra=summary)
    return summary


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return report(_refresh_from_env()())
