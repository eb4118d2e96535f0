"""`tapgate local` on a terminal: the numbered steps stay readable — one short line per
request, no JSON, no metrics documents, no Powertools warning."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

LAST_STEP = "Stop with Ctrl-C."


def read_until(master: int, seen: bytearray, wanted: bytes, *, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while wanted not in seen:
        assert time.monotonic() < deadline, seen.decode(errors="replace")
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            seen += os.read(master, 65536)


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_on_a_terminal_each_request_is_one_short_line(tmp_path: Path) -> None:
    state_file = tmp_path / "local.json"
    master, terminal = os.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TAPGATE_"))}
    command = [sys.executable, "-m", "tapgate.cli.main", "local", "--port", "0"]
    with (tmp_path / "err").open("w") as err:
        process = subprocess.Popen(
            [*command, "--state-file", str(state_file)],
            cwd=tmp_path,
            env=env,
            stdout=terminal,  # a terminal: no --log-format needed
            stderr=err,
        )
    os.close(terminal)
    seen = bytearray()
    try:
        read_until(master, seen, LAST_STEP.encode())
        api = json.loads(state_file.read_text())["apiUrl"]
        assert get(api + "/v1/config") == 200  # records no metric: Powertools would warn
        assert get(api + "/v1/credentials") == 403  # unsigned: refused
        read_until(master, seen, b'"GET /v1/credentials HTTP/1.1" 403')
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        os.close(master)
    text = seen.decode(errors="replace").replace("\r\n", "\n")
    logged = text[text.index(LAST_STEP) + len(LAST_STEP) :].strip().splitlines()
    assert any('"GET /v1/config HTTP/1.1" 200' in line for line in logged), logged
    assert all(len(line) < 120 and not line.lstrip().startswith("{") for line in logged), logged
    assert "No application metrics to publish" not in (tmp_path / "err").read_text()
