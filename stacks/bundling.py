"""Bundle the broker Lambda without Docker: pip installs the runtime pins for the Lambda
platform and the broker package is copied beside them.

``--platform/--only-binary/--python-version`` make pip pick wheels built for Lambda's
arm64 Python, whatever the host runs; ``--no-compile`` and skipping ``__pycache__`` keep
bytecode of the host's Python out of the asset.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import ILocalBundling

LAMBDA_PYTHON_VERSION = "3.12"
LAMBDA_PLATFORM = "manylinux2014_aarch64"
BROKER_PACKAGE = "tapgate_broker"


class BundlingError(RuntimeError):
    """pip could not produce the Lambda's dependencies for the target platform."""


def pip_command(*, requirements: Path, target: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "-r",
        str(requirements),
        "--target",
        str(target),
        "--platform",
        LAMBDA_PLATFORM,
        "--implementation",
        "cp",
        "--only-binary=:all:",
        "--no-compile",
        "--python-version",
        LAMBDA_PYTHON_VERSION,
    ]


def bundle(*, source: Path, output: Path) -> None:
    """Write the Lambda's code (dependencies + broker package) into ``output``."""
    command = pip_command(requirements=source / "requirements.txt", target=output)
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BundlingError(
            f"pip could not install {source / 'requirements.txt'} for {LAMBDA_PLATFORM} "
            f"Python {LAMBDA_PYTHON_VERSION}:\n{result.stderr.strip()}"
        )
    shutil.copytree(
        source / BROKER_PACKAGE,
        output / BROKER_PACKAGE,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo"),
        dirs_exist_ok=True,
    )
    # Wheels never carry bytecode, but a stray one would be the host's: drop it; console
    # scripts (bin/) point at the host's interpreter and are of no use in Lambda.
    for cache in list(output.rglob("__pycache__")):
        shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(output / "bin", ignore_errors=True)


@jsii.implements(ILocalBundling)
class LocalPipBundling:
    """CDK's local bundling hook: never falls back to Docker."""

    def __init__(self, source: Path) -> None:
        self._source = source

    def try_bundle(self, output_dir: str, *_options: Any, **_keywords: Any) -> bool:
        # The bundling options (image, command) describe the Docker path, never used here.
        bundle(source=self._source, output=Path(output_dir))
        return True
