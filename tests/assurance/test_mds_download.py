"""Downloading the blob: https only (redirects too), bounded size, clear errors."""

from __future__ import annotations

import ssl

import pytest

from tapgate_broker.adapters.mds_download import HttpsBlobDownload
from tapgate_broker.core.metadata import MetadataDownloadError
from tests.assurance.https_server import Served, https_server


@pytest.fixture
def served(pki, tmp_path):
    with https_server(pki.attestation_root, tmp_path) as server:
        yield server


def _download(served: Served, path: str, **options) -> HttpsBlobDownload:
    context = ssl.create_default_context(cafile=str(served.ca_file))
    return HttpsBlobDownload(served.url + path, ssl_context=context, **options)


def test_downloads_the_body(served):
    served.routes["/blob"] = (200, {}, b"the blob")

    assert _download(served, "/blob")() == b"the blob"


def test_follows_a_redirect_to_https(served):
    served.routes["/old"] = (302, {"Location": served.url + "/blob"}, b"")
    served.routes["/blob"] = (200, {}, b"the blob")

    assert _download(served, "/old")() == b"the blob"


def test_refuses_a_redirect_to_plain_http(served):
    served.routes["/old"] = (302, {"Location": "http://localhost:1/blob"}, b"")

    with pytest.raises(MetadataDownloadError, match="non-https"):
        _download(served, "/old")()


def test_an_http_error_status_is_a_download_error(served):
    with pytest.raises(MetadataDownloadError, match="HTTP 404"):
        _download(served, "/missing")()


def test_a_body_over_the_bound_is_refused(served):
    served.routes["/big"] = (200, {}, b"x" * 101)

    with pytest.raises(MetadataDownloadError, match="more than 100 bytes"):
        _download(served, "/big", max_bytes=100)()
    served.routes["/big"] = (200, {}, b"x" * 100)
    assert len(_download(served, "/big", max_bytes=100)()) == 100


def test_a_server_certificate_from_an_untrusted_root_is_refused(served, pki):
    served.routes["/blob"] = (200, {}, b"the blob")
    untrusted = HttpsBlobDownload(served.url + "/blob")  # the system's roots only

    with pytest.raises(MetadataDownloadError, match="cannot download"):
        untrusted()


@pytest.mark.parametrize("url", ["http://mds3.fidoalliance.org/", "file:///etc/passwd", "https://"])
def test_only_https_urls_are_accepted(url):
    with pytest.raises(MetadataDownloadError, match="https URL"):
        HttpsBlobDownload(url)
