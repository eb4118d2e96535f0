"""The broker's metadata: the stored blob, verified again, kept for the container's life.

Loaded on first use (registration asking for attestation, sign-in re-evaluating a
certified key), not at cold start: parsing the full blob takes a while and most requests
need none of it. The verified blob is kept and re-read after `max_age_seconds`, so a new
blob reaches a warm container within that time; a blob whose nextUpdate passes is not used
any more. Without a usable blob `index()` is None: registrations cannot be certified and
stored levels stand (see `assurance.reassess`).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Final

from tapgate_broker.core.assurance import MetadataIndex
from tapgate_broker.core.metadata import (
    MetadataError,
    MetadataStore,
    MetadataStoreError,
    TrustRoot,
    VerifiedMetadata,
    verify_metadata,
)
from tapgate_broker.core.ports import Clock

logger = logging.getLogger(__name__)

DEFAULT_MAX_AGE_SECONDS: Final = 6 * 3600
RETRY_AFTER_SECONDS: Final = 300  # after a missing or bad blob, before reading it again


class MetadataSource:
    def __init__(
        self,
        store: MetadataStore,
        *,
        root: TrustRoot,
        clock: Clock,
        max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS,
    ) -> None:
        self._store = store
        self._root = root
        self._clock = clock
        self._max_age = max_age_seconds
        self._verified: VerifiedMetadata | None = None
        self._index: MetadataIndex | None = None
        self._version: str | None = None  # the store's version of the blob verified last
        self._next_read = 0.0

    def index(self) -> MetadataIndex | None:
        """The current verified metadata, indexed; None when there is none usable.

        Raises `MetadataStoreError` when the store fails and nothing usable is cached.
        """
        now = self._clock()
        if now >= self._next_read:
            self._read(now)
        if self._verified is not None and self._verified.next_update < self._today(now):
            logger.warning("metadata blob no %s is past its nextUpdate", self._verified.no)
            self._verified = self._index = None
        return self._index

    def _read(self, now: float) -> None:
        try:
            stored = self._store.read()
        except MetadataStoreError:
            if self._verified is None:
                raise
            logger.warning("metadata store unreadable; keeping blob no %s", self._verified.no)
            self._next_read = now + RETRY_AFTER_SECONDS
            return
        if stored is None:
            logger.warning("no metadata blob is stored yet")
            self._next_read = now + RETRY_AFTER_SECONDS
            return
        if self._verified is not None and stored.version == self._version:
            self._next_read = now + self._max_age  # the same blob: verified already
            return
        try:
            verified = verify_metadata(stored.raw, root=self._root, now=self._datetime(now))
        except MetadataError as exc:
            logger.error("the stored metadata blob is not usable: %s", exc)
            self._next_read = now + RETRY_AFTER_SECONDS
            return
        if self._verified is None or verified.no != self._verified.no:
            self._verified = verified
            self._index = MetadataIndex(verified.payload)
        self._version = stored.version
        self._next_read = now + self._max_age

    @staticmethod
    def _datetime(now: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(now, dt.UTC)

    def _today(self, now: float) -> dt.date:
        return self._datetime(now).date()
