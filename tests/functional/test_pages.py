"""The page routes through the handler: the stage root without its slash is redirected."""

from __future__ import annotations

import pytest

from tests.support.broker_harness import Harness, api_event

pytestmark = pytest.mark.usefixtures("aws")


def page_call(harness: Harness, public_path: str, path: str) -> dict:
    event = api_event("GET", path)
    event["requestContext"]["path"] = public_path
    result: dict = harness.app.resolve(event, None)
    headers = dict(result.get("headers") or {})
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name] = values[-1]
    result["headers"] = headers
    return result


def test_the_stage_root_without_its_slash_redirects_to_it(harness):
    result = page_call(harness, "/v1", "/")
    assert result["statusCode"] == 308
    assert result["headers"]["Location"] == "/v1/"
    assert "frame-ancestors 'none'" in result["headers"]["Content-Security-Policy"]


def test_the_stage_root_serves_the_page_with_its_headers(harness):
    result = page_call(harness, "/v1/", "/")
    assert result["statusCode"] == 200
    headers = result["headers"]
    assert headers["Content-Type"].startswith("text/html")
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "no-referrer"
    assert 'src="static/app.js"' in result["body"]
