"""Shared by the CLI tests that call ``main`` in this process."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest


@pytest.fixture
def isolated_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No AWS or tapgate setting from the developer's shell or home: an empty AWS config, a
    cache of its own, and ``tmp_path`` as the working folder (so no .tapgate/ nearby)."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "TAPGATE_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def unused_port() -> int:
    """A port nothing listens on (free a moment ago; nothing here binds it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
