"""Audit test fixtures: the npm oracle install and paths to the corpus."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"
ORACLE_SCRIPT = Path(__file__).resolve().parent / "oracle" / "simulate.js"


@pytest.fixture(scope="session")
def oracle_ready() -> Path:
    """Make sure @cloud-copilot/iam-simulate is installed (npm ci from the lock file)."""
    if not (REPO / "node_modules" / "@cloud-copilot" / "iam-simulate").is_dir():
        npm = shutil.which("npm")
        assert npm, "npm is needed for the audit differential test (install nodejs and npm)"
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=REPO, check=True, timeout=600)
    return ORACLE_SCRIPT
