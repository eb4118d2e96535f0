"""Bundle the broker Lambda without Docker: pip installs the runtime pins for the Lambda
platform, the packages the Lambda runtime already provides are removed again, and the broker
and contract packages are copied beside the rest.

``--platform/--only-binary/--python-version`` make pip pick wheels built for Lambda's
arm64 Python, whatever the host runs; ``--no-compile`` and skipping ``__pycache__`` keep
bytecode of the host's Python out of the asset.

Bytecode is version-specific and ``/var/task`` is read-only, so an asset without it is
compiled from source at every cold start (about half of the handler's import time). When a
Python of the runtime's version does the bundling (the host's own, or ``python3.12`` on
PATH), it compiles the whole asset; otherwise the asset ships source only, as before.

The Lambda Python runtime ships boto3 with its dependencies. pip still installs botocore and
its dependencies (Powertools' tracer needs aws-xray-sdk, which requires botocore); keeping
them would double the asset and put a second botocore in front of the runtime's boto3, the
version mix AWS warns against. So they are removed, by their installed-file records.
"""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
import subprocess
import sys
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import ILocalBundling

LAMBDA_PYTHON_VERSION = "3.12"
LAMBDA_PLATFORM = "manylinux2014_aarch64"
# The packages of ours the Lambda runs: the broker and the contract it imports.
DEPLOYED_PACKAGES = ("tapgate_broker", "tapgate_contract")
# boto3 and its dependency tree as the Lambda Python runtime provides it (normalized names).
RUNTIME_PROVIDED = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"}
)


class BundlingError(RuntimeError):
    """pip could not produce the Lambda's dependencies for the target platform."""


# How the source tree is fingerprinted: the same files CDK's asset copy leaves out.
_NOT_SOURCE = ("__pycache__",)
_NOT_SOURCE_SUFFIXES = (".pyc", ".pyo")


def asset_hash(source: Path, *, recipe: bytes | None = None) -> str:
    """The asset's cache key: the source tree and this module (the bundling recipe).

    CDK's default key hashes only the source, so a changed recipe (say, a package no longer
    bundled) would reuse a stale bundle from cdk.out.
    """
    digest = hashlib.sha256(recipe if recipe is not None else Path(__file__).read_bytes())
    # The same recipe bundles with or without bytecode, depending on this machine.
    digest.update(b"bytecode" if runtime_python() is not None else b"source only")
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_dir() or set(relative.parts) & set(_NOT_SOURCE):
            continue
        if path.suffix in _NOT_SOURCE_SUFFIXES:
            continue
        digest.update(b"\0" + relative.as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


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
    """Write the Lambda's code (dependencies + our packages) into ``output``."""
    command = pip_command(requirements=source / "requirements.txt", target=output)
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BundlingError(
            f"pip could not install {source / 'requirements.txt'} for {LAMBDA_PLATFORM} "
            f"Python {LAMBDA_PYTHON_VERSION}:\n{result.stderr.strip()}"
        )
    remove_runtime_provided(output)
    for package in DEPLOYED_PACKAGES:
        shutil.copytree(
            source / package,
            output / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo"),
            dirs_exist_ok=True,
        )
    # Wheels never carry bytecode, but a stray one would be the host's: drop it; console
    # scripts (bin/) point at the host's interpreter and are of no use in Lambda.
    for cache in list(output.rglob("__pycache__")):
        shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(output / "bin", ignore_errors=True)
    python = runtime_python()
    if python is not None:
        compile_bytecode(output, python=python)


def runtime_python() -> str | None:
    """An interpreter of the Lambda runtime's Python version on this machine, or None.

    The host's own Python if it is that version, else ``python3.12`` on PATH if it runs
    (a pyenv shim for a version not selected does not).
    """
    if f"{sys.version_info.major}.{sys.version_info.minor}" == LAMBDA_PYTHON_VERSION:
        return sys.executable
    candidate = shutil.which(f"python{LAMBDA_PYTHON_VERSION}")
    if candidate is None:
        return None
    probe = subprocess.run(  # noqa: S603  (an interpreter found on PATH, asked its version)
        [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0 or probe.stdout.strip() != LAMBDA_PYTHON_VERSION:
        return None
    return candidate


def compile_bytecode(output: Path, *, python: str) -> None:
    """Compile every module of the asset with ``python`` (the runtime's version).

    Hash-based and unchecked: the zip CDK uploads does not keep the sources' modification
    times, which timestamp-based bytecode is validated against, and the deployed sources
    cannot change under their bytecode (``/var/task`` is read-only).
    """
    command = [python, "-m", "compileall", "-q", "-j", "0"]
    command += ["--invalidation-mode", "unchecked-hash", str(output)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BundlingError(f"{python} could not compile the asset:\n{result.stdout.strip()}")


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def remove_runtime_provided(target: Path) -> list[str]:
    """Delete every installed distribution in ``target`` that the Lambda runtime provides:
    each file its ``RECORD`` lists, the directories that leaves empty, and its dist-info.
    Returns the names removed."""
    root = target.resolve()
    removed: list[str] = []
    for dist_info in sorted(root.glob("*.dist-info")):
        metadata = HeaderParser().parsestr((dist_info / "METADATA").read_text(encoding="utf-8"))
        name = str(metadata["Name"])
        if _normalized(name) not in RUNTIME_PROVIDED:
            continue
        emptied: set[Path] = set()
        with (dist_info / "RECORD").open(encoding="utf-8", newline="") as record:
            for row in csv.reader(record):
                if not row:
                    continue
                path = (root / row[0]).resolve()
                # Console scripts are recorded as ../../bin/...: pip --target put them in
                # bin/, which bundle() drops whole. Nothing outside the asset is touched.
                if not path.is_relative_to(root) or path == root:
                    continue
                path.unlink(missing_ok=True)
                emptied.update(p for p in path.parents if p.is_relative_to(root) and p != root)
        shutil.rmtree(dist_info, ignore_errors=True)
        for directory in sorted(emptied, key=lambda p: len(p.parts), reverse=True):
            if directory.is_dir() and not any(directory.iterdir()):
                directory.rmdir()
        removed.append(name)
    return removed


@jsii.implements(ILocalBundling)
class LocalPipBundling:
    """CDK's local bundling hook: never falls back to Docker."""

    def __init__(self, source: Path) -> None:
        self._source = source

    def try_bundle(self, output_dir: str, *_options: Any, **_keywords: Any) -> bool:
        # The bundling options (image, command) describe the Docker path, never used here.
        bundle(source=self._source, output=Path(output_dir))
        return True
