"""S3 adapter for the current MDS3 blob: one object, replaced only conditionally.

The bucket is versioned (the stack), so every blob ever stored stays recoverable. A
replacement carries `If-Match` with the ETag read at the start of the refresh (or
`If-None-Match: *` for the first blob), so it fails instead of overwriting a blob that
another writer stored meanwhile.
"""

from __future__ import annotations

from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from tapgate_broker.adapters.aws_errors import error_code
from tapgate_broker.core.metadata import (
    MAX_BLOB_BYTES,
    MetadataStoreConflictError,
    MetadataStoreError,
    StoredBlob,
)

CONTENT_TYPE: Final = "application/jwt"
SERIAL_METADATA: Final = "no"  # x-amz-meta-no: the blob's serial, for people reading S3
_MISSING: Final = frozenset({"NoSuchKey", "404"})
_CONFLICT: Final = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})


class S3MetadataStore:
    def __init__(self, client: Any, *, bucket: str, key: str) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key

    def read(self) -> StoredBlob | None:
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=self._key)
            if int(response.get("ContentLength", 0)) > MAX_BLOB_BYTES:
                raise MetadataStoreError(
                    f"s3://{self._bucket}/{self._key} is larger than {MAX_BLOB_BYTES} bytes"
                )
            raw = response["Body"].read(MAX_BLOB_BYTES + 1)
        except ClientError as exc:
            if error_code(exc) in _MISSING:
                return None
            raise MetadataStoreError(f"cannot read the metadata blob: {error_code(exc)}") from exc
        except BotoCoreError as exc:
            raise MetadataStoreError(f"cannot read the metadata blob: {exc}") from exc
        return StoredBlob(raw=raw, version=str(response["ETag"]))

    def replace(self, raw: bytes, *, no: int, previous: StoredBlob | None) -> None:
        condition = {"IfMatch": previous.version} if previous else {"IfNoneMatch": "*"}
        try:
            self._client.put_object(
                Bucket=self._bucket,
                Key=self._key,
                Body=raw,
                ContentType=CONTENT_TYPE,
                Metadata={SERIAL_METADATA: str(no)},
                **condition,
            )
        except ClientError as exc:
            code = error_code(exc)
            if code in _CONFLICT:
                raise MetadataStoreConflictError(
                    "the metadata blob changed since it was read; not replaced"
                ) from exc
            raise MetadataStoreError(f"cannot store the metadata blob: {code}") from exc
        except BotoCoreError as exc:
            raise MetadataStoreError(f"cannot store the metadata blob: {exc}") from exc
