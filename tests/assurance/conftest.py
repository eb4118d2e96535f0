"""Fixtures for assurance tests: one test PKI per session, a registration ceremony through
python-fido2's client and server, and metadata built from test blobs."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest
from fido2.server import Fido2Server
from fido2.webauthn import (
    AttestationObject,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialUserEntity,
)
from moto import mock_aws

from tapgate.authenticators.soft import soft_client
from tapgate_broker.core.assurance import MetadataIndex
from tapgate_broker.core.metadata import TrustRoot, verify_metadata
from tests.assurance.pki import Pki

NOW = dt.datetime(2030, 6, 1, 12, 0, tzinfo=dt.UTC)
NEXT_UPDATE = dt.date(2030, 7, 1)
ORIGIN = "http://localhost:8080"
ALICE = PublicKeyCredentialUserEntity(id=b"alice-handle", name="alice", display_name="Alice")


@pytest.fixture(scope="session")
def pki() -> Pki:
    return Pki.make()


@pytest.fixture(scope="session")
def trust_root(pki: Pki) -> TrustRoot:
    return TrustRoot(certificates=(pki.metadata_root.der,))


Index = Callable[[Sequence[dict[str, Any]]], MetadataIndex]


@pytest.fixture(scope="session")
def index(pki: Pki, trust_root: TrustRoot) -> Index:
    """Metadata listing `entries`, through the same verification a deployment does."""

    def build(entries: Sequence[dict[str, Any]], *, no: int = 7) -> MetadataIndex:
        raw = pki.blob(entries=entries, no=no, next_update=NEXT_UPDATE)
        return MetadataIndex(verify_metadata(raw, root=trust_root, now=NOW).payload)

    return build


Register = Callable[[Path], tuple[AttestationObject, bytes]]


@pytest.fixture(scope="session")
def register() -> Register:
    """A verified registration of the soft key at `path`, attestation asked "direct":
    its attestation object and the client data hash it signed."""
    server = Fido2Server(
        PublicKeyCredentialRpEntity(id="localhost", name="tapgate tests"), attestation="direct"
    )

    def ceremony(path: Path) -> tuple[AttestationObject, bytes]:
        options, state = server.register_begin(ALICE, user_verification="discouraged")
        public_key = json.loads(json.dumps(dict(options)))["publicKey"]
        response = soft_client(path, ORIGIN).make_credential(public_key)
        server.register_complete(state, json.loads(json.dumps(dict(response))))
        return response.response.attestation_object, response.response.client_data.hash

    return ceremony


BUCKET = "tapgate-metadata-test"
BLOB_KEY = "mds3/blob.jwt"


@pytest.fixture(scope="module")
def _s3_module() -> Iterator[Any]:
    """moto's S3 in process, started once per module (starting it costs more than a test),
    and stopped before the next module: no other suite runs under it."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "eu-west-1",
        }.items():
            patch.setenv(name, value)
        patch.delenv("AWS_PROFILE", raising=False)
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        with mock_aws():
            yield boto3.client("s3", region_name="eu-west-1")


@pytest.fixture
def s3(_s3_module: Any) -> Iterator[Any]:
    """An empty versioned bucket like the stack's, in moto's S3; removed after the test."""
    client = _s3_module
    client.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    yield client
    listing = client.list_object_versions(Bucket=BUCKET)
    for version in listing.get("Versions", []) + listing.get("DeleteMarkers", []):
        client.delete_object(Bucket=BUCKET, Key=version["Key"], VersionId=version["VersionId"])
    client.delete_bucket(Bucket=BUCKET)
