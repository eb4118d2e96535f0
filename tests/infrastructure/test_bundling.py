"""The Lambda asset as `cdk deploy` uploads it, bundled locally without Docker (slow: pip)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacks.bundling import bundle
from tests.infrastructure.conftest import REPO


@pytest.mark.slow
def test_the_asset_has_the_dependencies_for_arm64_and_no_host_bytecode(tmp_path: Path) -> None:
    bundle(source=REPO / "lambdas", output=tmp_path)
    assert (tmp_path / "fido2" / "__init__.py").is_file()
    assert (tmp_path / "aws_lambda_powertools").is_dir()
    assert (tmp_path / "tapgate_broker" / "handler.py").is_file()
    assert not list(tmp_path.rglob("*.pyc"))
    assert not list(tmp_path.rglob("__pycache__"))
    native = [p.name for p in tmp_path.rglob("*.so")]
    assert native, "cryptography should bring native code"
    assert all("x86_64" not in name for name in native)
    assert any("aarch64" in name for name in native) or any("abi3" in name for name in native)
