"""Download the MDS3 blob over HTTPS, bounded in time and size.

Only https URLs, and redirects only to https URLs: the blob's signature protects its
content, but a plain-HTTP hop would let anyone on the path withhold updates unseen (the
nextUpdate check catches that too, later). The body is read up to `MAX_BLOB_BYTES` + 1
bytes, so an endless answer cannot exhaust the function's memory.
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from typing import Any, Final
from urllib.parse import urlsplit

from tapgate_broker.core.metadata import MAX_BLOB_BYTES, MetadataDownloadError

USER_AGENT: Final = "tapgate-metadata-refresh"


class _HttpsOnlyRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(  # noqa: PLR0917 (urllib's signature)
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> urllib.request.Request | None:
        if urlsplit(newurl).scheme != "https":
            raise MetadataDownloadError(f"the blob URL redirects to a non-https URL: {newurl}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class HttpsBlobDownload:
    """A callable that fetches the blob from `url`; raises `MetadataDownloadError`."""

    def __init__(
        self,
        url: str,
        *,
        timeout_seconds: float = 30.0,
        max_bytes: int = MAX_BLOB_BYTES,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if urlsplit(url).scheme != "https" or not urlsplit(url).hostname:
            raise MetadataDownloadError(f"the metadata blob URL must be an https URL: {url!r}")
        self._url = url
        self._timeout = timeout_seconds
        self._max_bytes = max_bytes
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=ssl_context or ssl.create_default_context()),
            _HttpsOnlyRedirects(),
        )

    def __call__(self) -> bytes:
        request = urllib.request.Request(self._url, headers={"User-Agent": USER_AGENT})  # noqa: S310 (https checked)
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                body: bytes = response.read(self._max_bytes + 1)
        except urllib.error.HTTPError as exc:
            raise MetadataDownloadError(f"{self._url} answered HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise MetadataDownloadError(f"cannot download {self._url}: {exc}") from exc
        if len(body) > self._max_bytes:
            raise MetadataDownloadError(f"{self._url} answered more than {self._max_bytes} bytes")
        return body
