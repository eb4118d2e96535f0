"""The broker's loader: reads the stored blob once, verifies it again, keeps it for the
container's life (re-reading after max_age), and never uses a blob that is bad or stale."""

from __future__ import annotations

import datetime as dt

import pytest

from tapgate_broker.adapters.s3_metadata import S3MetadataStore
from tapgate_broker.core.metadata import MetadataStoreError
from tapgate_broker.core.metadata_source import RETRY_AFTER_SECONDS, MetadataSource
from tests.assurance.conftest import BLOB_KEY, BUCKET, NEXT_UPDATE, NOW
from tests.assurance.pki import Pki, metadata_entry

MAX_AGE = 3600


class Clock:
    def __init__(self) -> None:
        self.now = NOW.timestamp()

    def __call__(self) -> float:
        return self.now


def _blob(pki: Pki, no: int, next_update: dt.date = NEXT_UPDATE) -> bytes:
    entry = metadata_entry(aaguid=None, roots=[pki.attestation_root], description=f"no {no}")
    return pki.blob(entries=[entry], no=no, next_update=next_update)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def source(s3, trust_root, clock) -> MetadataSource:
    store = S3MetadataStore(s3, bucket=BUCKET, key=BLOB_KEY)
    return MetadataSource(store, root=trust_root, clock=clock, max_age_seconds=MAX_AGE)


def _put(s3, raw: bytes) -> None:
    s3.put_object(Bucket=BUCKET, Key=BLOB_KEY, Body=raw)


def test_the_stored_blob_is_verified_and_indexed(s3, pki, source):
    _put(s3, _blob(pki, 7))

    index = source.index()

    assert index is not None and index.no == 7


def test_the_blob_is_read_once_within_max_age(s3, pki, source, clock):
    _put(s3, _blob(pki, 7))
    first = source.index()
    s3.delete_object(Bucket=BUCKET, Key=BLOB_KEY)
    clock.now += MAX_AGE - 1

    assert source.index() is first


def test_a_newer_blob_is_picked_up_after_max_age(s3, pki, source, clock):
    _put(s3, _blob(pki, 7))
    source.index()
    _put(s3, _blob(pki, 8))
    clock.now += MAX_AGE

    index = source.index()

    assert index is not None and index.no == 8


def test_nothing_stored_is_no_metadata_until_it_appears(s3, pki, source, clock):
    assert source.index() is None
    _put(s3, _blob(pki, 7))
    assert source.index() is None  # not re-read at once
    clock.now += RETRY_AFTER_SECONDS

    index = source.index()

    assert index is not None and index.no == 7


@pytest.mark.parametrize(
    "raw",
    [b"garbage", b"stale"],
    ids=["not-a-blob", "past-next-update"],
)
def test_a_bad_or_stale_stored_blob_is_not_used(s3, pki, source, raw):
    if raw == b"stale":
        raw = _blob(pki, 7, next_update=NOW.date() - dt.timedelta(days=1))
    _put(s3, raw)

    assert source.index() is None


def test_a_blob_is_dropped_once_its_next_update_passes(s3, pki, source, clock):
    _put(s3, _blob(pki, 7, next_update=NOW.date()))
    assert source.index() is not None
    clock.now += 86_400  # tomorrow: past its nextUpdate, whatever max_age says

    assert source.index() is None


def test_a_failing_store_raises_when_nothing_is_cached(s3, trust_root, clock):
    store = S3MetadataStore(s3, bucket="no-such-bucket", key=BLOB_KEY)
    source = MetadataSource(store, root=trust_root, clock=clock)

    with pytest.raises(MetadataStoreError):
        source.index()


def test_a_bad_later_blob_keeps_the_cached_good_one(s3, pki, source, clock):
    _put(s3, _blob(pki, 7))
    cached = source.index()
    _put(s3, b"garbage")
    clock.now += MAX_AGE

    assert source.index() is cached


class _FailingAfterFirstRead:
    """The S3 store, until it starts failing (throttling, an outage)."""

    def __init__(self, store: S3MetadataStore) -> None:
        self.store, self.reads = store, 0

    def read(self):
        self.reads += 1
        if self.reads > 1:
            raise MetadataStoreError("cannot read the metadata blob: SlowDown")
        return self.store.read()

    def replace(self, raw, *, no, previous):
        raise AssertionError("the broker never writes")


def test_a_failing_store_keeps_the_cached_blob(s3, pki, trust_root, clock):
    _put(s3, _blob(pki, 7))
    store = _FailingAfterFirstRead(S3MetadataStore(s3, bucket=BUCKET, key=BLOB_KEY))
    source = MetadataSource(store, root=trust_root, clock=clock, max_age_seconds=MAX_AGE)
    cached = source.index()
    clock.now += MAX_AGE

    assert source.index() is cached
    assert store.reads == 2


def test_an_unchanged_blob_is_not_verified_again(s3, pki, source, clock, monkeypatch):
    _put(s3, _blob(pki, 7))
    first = source.index()
    verified: list[bytes] = []
    from tapgate_broker.core import metadata_source  # noqa: PLC0415

    real = metadata_source.verify_metadata
    monkeypatch.setattr(
        metadata_source,
        "verify_metadata",
        lambda raw, **kw: verified.append(raw) or real(raw, **kw),
    )
    clock.now += MAX_AGE
    assert source.index() is first  # the same object (ETag): read, not verified
    assert verified == []
    _put(s3, _blob(pki, 8))
    clock.now += MAX_AGE
    index = source.index()
    assert index is not None and index.no == 8
    assert len(verified) == 1
