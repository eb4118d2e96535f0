"""The scheduled refresh against moto's S3: a good blob is stored; a bad download (bad
signature, old serial, past nextUpdate, unreachable) is refused and the stored blob kept,
untouched; the Lambda entry point emits the outcome as a metric."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest

from tapgate_broker import metadata_refresh
from tapgate_broker.adapters.s3_metadata import S3MetadataStore
from tapgate_broker.core.metadata import MetadataDownloadError, MetadataStoreError
from tapgate_broker.core.metadata_refresh import RefreshOutcome, RefreshStatus
from tapgate_broker.metadata_refresh import RefreshSettings, build_refresh
from tests.assurance.conftest import BLOB_KEY, BUCKET, NEXT_UPDATE, NOW
from tests.assurance.https_server import https_server
from tests.assurance.pki import Pki, issue, mds_blob, metadata_entry

STORED, UNCHANGED, REJECTED, CONFLICT = (
    RefreshStatus.STORED,
    RefreshStatus.UNCHANGED,
    RefreshStatus.REJECTED,
    RefreshStatus.CONFLICT,
)


def _entries(pki: Pki) -> list[dict]:
    return [metadata_entry(aaguid=None, roots=[pki.attestation_root], description="a model")]


def _blob(pki: Pki, *, no: int, next_update: dt.date = NEXT_UPDATE) -> bytes:
    return pki.blob(entries=_entries(pki), no=no, next_update=next_update)


def _settings(pki: Pki) -> RefreshSettings:
    return RefreshSettings(
        bucket=BUCKET,
        key=BLOB_KEY,
        url="https://mds.example.test/",
        root_pem=pki.metadata_root.pem.decode(),
    )


def _refresh(s3, pki: Pki, download: Callable[[], bytes]) -> RefreshOutcome:
    return build_refresh(_settings(pki), s3=s3, download=download, clock=NOW.timestamp)()


def _serving(raw: bytes) -> Callable[[], bytes]:
    return lambda: raw


def _stored(s3) -> tuple[bytes, dict]:
    response = s3.get_object(Bucket=BUCKET, Key=BLOB_KEY)
    return response["Body"].read(), response


def _versions(s3) -> int:
    return len(s3.list_object_versions(Bucket=BUCKET, Prefix=BLOB_KEY).get("Versions", []))


@pytest.fixture
def stored_7(s3, pki) -> bytes:
    """A deployment whose bucket holds good blob no 7."""
    raw = _blob(pki, no=7)
    assert _refresh(s3, pki, _serving(raw)).status is STORED
    return raw


def test_a_first_good_blob_is_stored(s3, pki):
    raw = _blob(pki, no=7)

    outcome = _refresh(s3, pki, _serving(raw))

    assert outcome == RefreshOutcome(STORED, no=7, previous_no=None)
    body, response = _stored(s3)
    assert body == raw
    assert (response["ContentType"], response["Metadata"]) == ("application/jwt", {"no": "7"})


def test_a_newer_good_blob_replaces_the_stored_one(s3, pki, stored_7):
    raw = _blob(pki, no=8)

    outcome = _refresh(s3, pki, _serving(raw))

    assert outcome == RefreshOutcome(STORED, no=8, previous_no=7)
    assert _stored(s3)[0] == raw
    assert _versions(s3) == 2


def test_downloading_the_stored_blob_again_writes_nothing(s3, pki, stored_7):
    outcome = _refresh(s3, pki, _serving(stored_7))

    assert outcome == RefreshOutcome(UNCHANGED, no=7, previous_no=7)
    assert _versions(s3) == 1


def _assert_kept(s3, stored: bytes) -> None:
    assert _stored(s3)[0] == stored
    assert _versions(s3) == 1


def test_a_blob_with_a_bad_signature_is_refused_and_the_stored_one_kept(s3, pki, stored_7):
    message, signature = _blob(pki, no=8).rsplit(b".", 1)
    bad = message + b"." + (b"A" if signature[:1] != b"A" else b"B") + signature[1:]

    outcome = _refresh(s3, pki, _serving(bad))

    assert (outcome.status, outcome.previous_no) == (REJECTED, 7)
    assert outcome.reason.startswith("MetadataSignatureError")
    _assert_kept(s3, stored_7)


@pytest.mark.parametrize("no", [6, 7])
def test_a_blob_with_an_old_serial_is_refused_and_the_stored_one_kept(s3, pki, stored_7, no):
    older = pki.blob(entries=[], no=no, next_update=NEXT_UPDATE)  # signed, but not newer

    outcome = _refresh(s3, pki, _serving(older))

    assert outcome.status is REJECTED
    assert outcome.reason.startswith("MetadataSerialError")
    _assert_kept(s3, stored_7)


def test_a_blob_past_its_next_update_is_refused_and_the_stored_one_kept(s3, pki, stored_7):
    stale = _blob(pki, no=8, next_update=NOW.date() - dt.timedelta(days=1))

    outcome = _refresh(s3, pki, _serving(stale))

    assert outcome.status is REJECTED
    assert outcome.reason.startswith("MetadataStaleError")
    _assert_kept(s3, stored_7)


def test_a_blob_signed_under_another_root_is_refused_and_the_stored_one_kept(s3, pki, stored_7):
    stranger = issue(pki.other_root, "stranger", rsa_key=True)
    forged = mds_blob(signer=stranger, entries=_entries(pki), no=8, next_update=NEXT_UPDATE)

    outcome = _refresh(s3, pki, _serving(forged))

    assert outcome.status is REJECTED
    _assert_kept(s3, stored_7)


def test_a_failed_download_is_refused_and_the_stored_one_kept(s3, pki, stored_7):
    def unreachable() -> bytes:
        raise MetadataDownloadError("cannot download https://mds.example.test/: timed out")

    outcome = _refresh(s3, pki, unreachable)

    assert outcome == RefreshOutcome(
        REJECTED, "cannot download https://mds.example.test/: timed out", previous_no=7
    )
    _assert_kept(s3, stored_7)


def test_a_bad_first_download_stores_nothing(s3, pki):
    outcome = _refresh(s3, pki, _serving(b"not a blob"))

    assert outcome.status is REJECTED
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_a_blob_stored_meanwhile_by_another_writer_is_not_overwritten(s3, pki, stored_7):
    theirs = _blob(pki, no=9)

    def racing_download() -> bytes:
        s3.put_object(Bucket=BUCKET, Key=BLOB_KEY, Body=theirs)  # another refresh wins
        return _blob(pki, no=8)

    outcome = _refresh(s3, pki, racing_download)

    assert (outcome.status, outcome.no) == (CONFLICT, 8)
    assert _stored(s3)[0] == theirs


def test_a_stored_blob_that_no_longer_verifies_is_replaced_by_a_good_one(s3, pki):
    s3.put_object(Bucket=BUCKET, Key=BLOB_KEY, Body=b"left over, not a blob")
    raw = _blob(pki, no=3)

    outcome = _refresh(s3, pki, _serving(raw))

    assert outcome == RefreshOutcome(STORED, no=3, previous_no=None)
    assert _stored(s3)[0] == raw


def test_a_store_that_fails_raises_for_lambda_to_count_and_retry(s3, pki):
    store = S3MetadataStore(s3, bucket="no-such-bucket", key=BLOB_KEY)

    with pytest.raises(MetadataStoreError):
        store.read()
    with pytest.raises(MetadataStoreError):
        store.replace(b"x", no=1, previous=None)


# -- the Lambda entry point ---------------------------------------------------------------------


class _Context:
    function_name = "tapgate-metadata-refresh"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:111122223333:function:refresh"
    aws_request_id = "test-request"


def _emitted_metrics(output: str) -> list[str]:
    names = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            document = json.loads(line)
            for directive in document["_aws"]["CloudWatchMetrics"]:
                names += [m["Name"] for m in directive["Metrics"]]
    return names


def test_the_handler_downloads_over_https_stores_and_counts_each_outcome(
    s3, pki, tmp_path, monkeypatch, capsys
):
    later = dt.date(2099, 1, 1)  # the handler reads the real clock
    good, bad = _blob(pki, no=7, next_update=later), _blob(pki, no=7, next_update=later)[:-8]
    with https_server(pki.attestation_root, tmp_path) as served:
        served.routes["/"] = (200, {}, good)
        monkeypatch.setenv("SSL_CERT_FILE", str(served.ca_file))  # trust the test server
        monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "tapgate")
        for name, value in {
            metadata_refresh.ENV_METADATA_BUCKET: BUCKET,
            metadata_refresh.ENV_METADATA_KEY: BLOB_KEY,
            metadata_refresh.ENV_METADATA_URL: served.url + "/",
            metadata_refresh.ENV_METADATA_ROOT: pki.metadata_root.pem.decode(),
        }.items():
            monkeypatch.setenv(name, value)
        metadata_refresh._refresh_from_env.cache_clear()
        try:
            first = metadata_refresh.handler({}, _Context())
            served.routes["/"] = (200, {}, bad)
            second = metadata_refresh.handler({}, _Context())
        finally:
            metadata_refresh._refresh_from_env.cache_clear()

    assert (first["status"], first["no"]) == ("stored", 7)
    assert (second["status"], second["previousNo"]) == ("rejected", 7)
    assert _stored(s3)[0] == good
    assert _emitted_metrics(capsys.readouterr().out) == [
        "MetadataBlobStored",
        "MetadataBlobRejected",
    ]


def test_settings_need_the_bucket_and_key_and_default_to_the_fido_service():
    settings = RefreshSettings.from_env(
        {metadata_refresh.ENV_METADATA_BUCKET: "b", metadata_refresh.ENV_METADATA_KEY: "k"}
    )

    assert (settings.url, settings.root_pem) == ("https://mds3.fidoalliance.org/", None)
    assert settings.trust_root().signer_names == {"mds.fidoalliance.org"}
    with pytest.raises(metadata_refresh.RefreshSettingsError, match="TAPGATE_METADATA_BUCKET"):
        RefreshSettings.from_env({metadata_refresh.ENV_METADATA_KEY: "k"})
