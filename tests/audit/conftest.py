"""Audit test fixtures: the npm oracle install, paths to the corpus, the stack's template."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

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


@pytest.fixture(scope="session")
def stack_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The real stack synthesized now (not a copy that goes stale): the template file the
    synth wrote (what `cdk synth` leaves in cdk.out/) and its JSON. The context is the
    infrastructure suite's: cdk.json plus the optional paths (a UV-required gated role,
    an external role, admins, a custom domain); bundling is skipped."""
    from stacks.application import STACK_NAME, build_app  # noqa: PLC0415  (jsii: seconds)
    from tests.infrastructure.conftest import full_context, no_bundling  # noqa: PLC0415

    outdir = tmp_path_factory.mktemp("audit-cdk.out")
    app, _stack = build_app(context=no_bundling(full_context()), outdir=str(outdir))
    artifact = app.synth().get_stack_by_name(STACK_NAME)
    path = Path(artifact.template_full_path)
    template: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return path, template


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the real-world corpus's precision and recall whenever its test ran."""
    from tests.audit import realworld  # noqa: PLC0415

    if realworld.LAST is not None:
        terminalreporter.write_line(realworld.LAST.line())
