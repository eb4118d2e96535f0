"""A metadata blob in a local file (``tapgate local --config``'s ``metadataBlob``): read-only.

Local mode has no refresh function; the user replaces the file, and a restarted broker
(or one whose cached blob aged out) reads it again, verified as the stored one is.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from tapgate_broker.core.metadata import (
    MAX_BLOB_BYTES,
    MetadataStoreError,
    StoredBlob,
)


class FileMetadataStore:
    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)

    def read(self) -> StoredBlob | None:
        try:
            with self._path.open("rb") as handle:
                raw = handle.read(MAX_BLOB_BYTES + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise MetadataStoreError(f"cannot read the metadata blob {self._path}: {exc}") from exc
        if len(raw) > MAX_BLOB_BYTES:
            raise MetadataStoreError(f"{self._path} is larger than {MAX_BLOB_BYTES} bytes")
        return StoredBlob(raw=raw, version=hashlib.sha256(raw).hexdigest())

    def replace(self, raw: bytes, *, no: int, previous: StoredBlob | None) -> None:
        raise MetadataStoreError("a local metadata file is replaced by its owner, not tapgate")
