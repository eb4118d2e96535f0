"""What can be checked is checked before anyone is asked to touch a key: a revoke of an id
that is malformed or not yours, and an --api-url that is not a tapgate API at all.

The soft key file named here does not exist: had a command reached the touch, it would
have failed on the key instead of with the line each test expects.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tapgate.cli.main import main

ROLE = "arn:aws:iam::123456789012:role/admin"
MINE = "AAECAwQFBgcICQoLDA0ODw"  # 16 bytes, base64url


@pytest.fixture(autouse=True)
def isolated(isolated_cli: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("TAPGATE_ALLOW_SOFT_KEY", "1")


def only_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.strip().splitlines()  # nothing else: no "Touch your security key."
    return line


@pytest.fixture
def site() -> Iterator[dict[str, Any]]:
    """A web server that answers as ``site["kind"]`` says: another API, a web page, an API
    that answers JSON to anything, or a tapgate API that refuses the ceremony."""
    site: dict[str, Any] = {"kind": "tapgate"}

    class Handler(BaseHTTPRequestHandler):
        def answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, kind, body = 200, "application/json", b"{}"
            if site["kind"] == "other API":  # what API Gateway says for an unknown route
                status, body = 403, b'{"message":"Missing Authentication Token"}'
            elif site["kind"] == "web page":
                kind, body = "text/html", b"<html><body>Welcome</body></html>"
            elif site["kind"] == "any JSON":
                body = b'{"ok": true}'
            elif self.path == "/v1/config":
                body = json.dumps({"rpId": "example.com", "roles": []}).encode()
            elif self.path == "/v1/credentials":
                body = json.dumps({"credentials": [{"credentialId": MINE}]}).encode()
            else:
                status, kind = 403, "application/problem+json"
                body = json.dumps({"status": 403, "title": "Forbidden", "detail": "Not gated."})
                body = body.encode()  # type: ignore[assignment]
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = answer

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


def credentials(site: dict[str, Any], tmp_path: Path) -> list[str]:
    return [
        "credentials",
        "--api-url",
        site["url"],
        "--api-region",
        "us-east-1",
        "--role",
        ROLE,
        "--authenticator",
        f"soft:{tmp_path / 'no-such-key.json'}",
    ]


@pytest.mark.parametrize("kind", ["other API", "web page", "any JSON"])
def test_an_api_url_that_is_not_tapgate_is_named(
    site: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    site["kind"] = kind
    assert main(credentials(site, tmp_path)) == 1
    line = only_line(capsys)
    assert f"{site['url']} does not answer like a tapgate API" in line
    assert "--api-url" in line


def test_a_tapgate_apis_own_refusal_is_passed_on(
    site: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(credentials(site, tmp_path)) == 1
    assert (
        only_line(capsys)
        == "tapgate: the tapgate API refused the request: 403 Forbidden: Not gated."
    )


@pytest.mark.parametrize(
    "credential_id",
    ["", "has space", "AAECAwQF/gcI", "AAECAwQFBgcICQoLDA0ODw==", "AAECA", "A" * 1367, "é" * 22],
)
def test_a_malformed_id_to_revoke_is_refused_first(
    capsys: pytest.CaptureFixture[str], credential_id: str
) -> None:
    assert main(["revoke", credential_id]) == 2  # no API URL needed: nothing was sent
    assert "CREDENTIAL_ID must be a credential id as `tapgate list` shows it" in only_line(capsys)


def test_an_id_that_is_not_yours_is_refused_before_the_touch(
    site: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = "BAECAwQFBgcICQoLDA0ODw"
    argv = ["revoke", other, "--api-url", site["url"], "--api-region", "us-east-1"]
    assert main([*argv, "--authenticator", f"soft:{tmp_path / 'no-such-key.json'}"]) == 1
    assert only_line(capsys) == (
        f"tapgate: no key with id {other} is registered for you (see `tapgate list`)"
    )
