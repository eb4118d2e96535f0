"""Refresh the stored MDS3 blob: download, verify, and replace the current one only if good.

A bad download (unreachable, malformed, a signature or chain that does not verify, a past
nextUpdate, a serial that does not grow) never replaces the current blob: the outcome says
why, and the handler turns it into a metric with an alarm. Downloading the blob already
stored is the common case (the FIDO Alliance publishes about monthly; the refresh runs
daily) and changes nothing. The replacement is conditional on the blob read at the start,
so two refreshes racing cannot roll the store back.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from tapgate_broker.core.metadata import (
    MetadataError,
    MetadataStore,
    MetadataStoreConflictError,
    StoredBlob,
    TrustRoot,
    verify_metadata,
)

logger = logging.getLogger(__name__)


class RefreshStatus(StrEnum):
    STORED = "stored"  # a newer good blob replaced the current one (or was the first)
    UNCHANGED = "unchanged"  # the download is the blob already stored
    REJECTED = "rejected"  # the download failed or is not good: the current blob stays
    CONFLICT = "conflict"  # another writer replaced the blob meanwhile: nothing written


@dataclass(frozen=True)
class RefreshOutcome:
    status: RefreshStatus
    reason: str = ""
    no: int | None = None  # the downloaded blob's serial, when it verified
    previous_no: int | None = None  # the stored blob's serial, when it had one


def refresh_metadata(
    *,
    download: Callable[[], bytes],
    store: MetadataStore,
    root: TrustRoot,
    now: dt.datetime,
) -> RefreshOutcome:
    """One refresh. Raises only `MetadataStoreError` (the store failed: retry later)."""
    current = store.read()
    previous_no = _serial(current, root=root, now=now)
    try:
        raw = download()
    except MetadataError as exc:
        return RefreshOutcome(RefreshStatus.REJECTED, str(exc), previous_no=previous_no)
    if current is not None and raw == current.raw:
        return RefreshOutcome(RefreshStatus.UNCHANGED, no=previous_no, previous_no=previous_no)
    try:
        verified = verify_metadata(raw, root=root, now=now, previous_no=previous_no)
    except MetadataError as exc:
        return RefreshOutcome(
            RefreshStatus.REJECTED, f"{type(exc).__name__}: {exc}", previous_no=previous_no
        )
    try:
        store.replace(raw, no=verified.no, previous=current)
    except MetadataStoreConflictError as exc:
        return RefreshOutcome(
            RefreshStatus.CONFLICT, str(exc), no=verified.no, previous_no=previous_no
        )
    return RefreshOutcome(RefreshStatus.STORED, no=verified.no, previous_no=previous_no)


def _serial(current: StoredBlob | None, *, root: TrustRoot, now: dt.datetime) -> int | None:
    """The stored blob's serial, which a replacement must exceed; None if there is none or
    it no longer verifies (its signer expired, the root changed): then the download only
    has to verify and be fresh, and a stale old blob cannot be replayed anyway."""
    if current is None:
        return None
    try:
        return verify_metadata(current.raw, root=root, now=now, require_fresh=False).no
    except MetadataError as exc:
        logger.warning("the stored metadata blob no longer verifies: %s", exc)
        return None
