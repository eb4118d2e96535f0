"""The Lambda asset as `cdk deploy` uploads it, bundled locally without Docker.

One slow test runs pip for real; the removal of runtime-provided packages is also checked on
a small fake install, so its rules are tested without the network.
"""

from __future__ import annotations

import importlib.util
import io
import shutil
import subprocess
import sys
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Template
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from stacks import broker, bundling
from stacks.bundling import (
    LAMBDA_PYTHON_VERSION,
    RUNTIME_PROVIDED,
    BundlingError,
    asset_hash,
    bundle,
    compile_bytecode,
    remove_runtime_provided,
    runtime_python,
)
from tapgate_contract.routes import ROUTES
from tests.infrastructure.conftest import REPO

# Measured at 24.3 MB with boto3's dependency tree, 6.7 MB without (zip -9, December 2025).
MAX_ZIPPED_BYTES = 10 * 1024 * 1024
# What the Lambda runtime's environment markers evaluate with.
LAMBDA_MARKERS = {
    "python_version": LAMBDA_PYTHON_VERSION,
    "python_full_version": f"{LAMBDA_PYTHON_VERSION}.0",
    "platform_machine": "aarch64",
    "platform_system": "Linux",
    "sys_platform": "linux",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "extra": "",
}


def _zipped_size(root: Path) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(root))
    return buffer.tell()


def _installed(root: Path) -> dict[str, list[str]]:
    """Each bundled distribution's name and its unconditional (for Lambda) requirements."""
    found = {}
    for dist_info in root.glob("*.dist-info"):
        metadata = HeaderParser().parsestr((dist_info / "METADATA").read_text(encoding="utf-8"))
        requires = [Requirement(r) for r in metadata.get_all("Requires-Dist") or []]
        found[canonicalize_name(str(metadata["Name"]))] = [
            canonicalize_name(r.name)
            for r in requires
            if r.marker is None or r.marker.evaluate(LAMBDA_MARKERS)
        ]
    return found


@pytest.fixture(scope="module")
def asset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("asset")
    bundle(source=REPO / "lambdas", output=output)
    return output


@pytest.mark.slow
def test_the_asset_has_the_dependencies_for_arm64_and_no_host_bytecode(asset: Path) -> None:
    assert (asset / "fido2" / "__init__.py").is_file()
    assert (asset / "aws_lambda_powertools" / "__init__.py").is_file()
    assert (asset / "aws_xray_sdk").is_dir()  # the tracer extra
    assert (asset / "tapgate_broker" / "handler.py").is_file()
    # Bytecode only from a Python of the runtime's version, and then for every module.
    tag = "cpython-" + LAMBDA_PYTHON_VERSION.replace(".", "")
    compiled = list(asset.rglob("*.pyc"))
    if runtime_python() is None:
        assert not compiled
        assert not list(asset.rglob("__pycache__"))
    else:
        assert all(f".{tag}." in p.name for p in compiled)
        assert (asset / "tapgate_broker" / "__pycache__" / f"handler.{tag}.pyc").is_file()
    assert not (asset / "bin").exists()
    native = [p.name for p in asset.rglob("*.so")]
    assert native, "cryptography should bring native code"
    assert all("x86_64" not in name for name in native)
    assert any("aarch64" in name for name in native) or any("abi3" in name for name in native)


@pytest.mark.slow
def test_the_asset_carries_the_contract_with_its_policy_json(asset: Path) -> None:
    """The broker imports tapgate_contract; the contract reads its JSON as package data."""
    code = (
        "import sys; sys.path[:0] = [sys.argv[1]]; "
        "from tapgate_contract import policies, routes; "
        "assert policies.__file__.startswith(sys.argv[1]); "
        "print(policies.gating_policy()['Statement'][0]['Sid'], len(routes.ROUTES))"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", code, str(asset)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == ["TapgateDenyWithoutWebAuthn", str(len(ROUTES))]


@pytest.mark.slow
def test_the_asset_leaves_out_what_the_lambda_runtime_provides(asset: Path) -> None:
    for module in ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil"):
        assert not (asset / module).exists(), module
    assert not (asset / "six.py").exists()
    assert not set(_installed(asset)) & RUNTIME_PROVIDED
    assert _zipped_size(asset) < MAX_ZIPPED_BYTES


@pytest.mark.slow
def test_every_bundled_requirement_is_bundled_or_provided_by_the_runtime(asset: Path) -> None:
    installed = _installed(asset)
    missing = {
        (name, requirement)
        for name, requirements in installed.items()
        for requirement in requirements
        if requirement not in installed and requirement not in RUNTIME_PROVIDED
    }
    assert not missing
    # botocore is still needed (aws-xray-sdk imports it): the runtime's copy serves it.
    assert "botocore" in installed["aws-xray-sdk"]


def _fake_distribution(root: Path, name: str, files: dict[str, str]) -> None:
    dist_info = root / f"{name.replace('-', '_')}-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    records = [*files, "../bin/tool", f"{dist_info.name}/METADATA", f"{dist_info.name}/RECORD"]
    (dist_info / "RECORD").write_text("".join(f"{r},,\n" for r in records))


def test_removal_follows_each_record_and_keeps_everything_else(tmp_path: Path) -> None:
    root = tmp_path / "asset"
    root.mkdir()
    outside = tmp_path / "bin" / "tool"  # where ../bin/tool points from the asset
    outside.parent.mkdir()
    outside.write_text("not ours")
    _fake_distribution(
        root,
        "python-dateutil",
        {"dateutil/__init__.py": "", "dateutil/tz/tz.py": "", "shared/dateutil_part.py": ""},
    )
    _fake_distribution(root, "six", {"six.py": ""})
    _fake_distribution(root, "fido2", {"fido2/__init__.py": "", "shared/fido2_part.py": ""})
    assert sorted(remove_runtime_provided(root)) == ["python-dateutil", "six"]
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*")) == [
        "fido2",
        "fido2-1.0.dist-info",
        "fido2-1.0.dist-info/METADATA",
        "fido2-1.0.dist-info/RECORD",
        "fido2/__init__.py",
        "shared",
        "shared/fido2_part.py",
    ]
    assert outside.read_text() == "not ours"


def test_the_asset_is_keyed_by_its_source_and_the_bundling_recipe(tmp_path: Path) -> None:
    """CDK reuses cdk.out/asset.<hash>: a changed recipe must change the key, or a synth would
    deploy the stale bundle (say, one that still carries botocore)."""
    source = tmp_path / "lambdas"
    shutil.copytree(REPO / "lambdas", source, ignore=shutil.ignore_patterns("__pycache__"))
    key = asset_hash(source)
    assert asset_hash(source, recipe=b"another recipe") != key
    (source / "tapgate_broker" / "__pycache__").mkdir(exist_ok=True)
    (source / "tapgate_broker" / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"x")
    assert asset_hash(source) == key  # host bytecode is not source
    (source / "requirements.txt").write_text("fido2==2.2.1\n")
    assert asset_hash(source) != key


def test_the_function_code_is_keyed_by_asset_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    def s3_key(fake_hash: str) -> str:
        monkeypatch.setattr(broker, "asset_hash", lambda _source: fake_hash)
        stack = Stack(App(context={"aws:cdk:bundling-stacks": []}), "KeyTest")
        broker.BrokerFunction(stack, "Broker")
        (function,) = Template.from_stack(stack).find_resources("AWS::Lambda::Function").values()
        key: str = function["Properties"]["Code"]["S3Key"]
        return key

    assert s3_key("1" * 64) != s3_key("2" * 64)


def test_the_runtime_python_is_the_host_only_when_the_versions_match(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host = f"{sys.version_info.major}.{sys.version_info.minor}"
    monkeypatch.setattr(bundling, "LAMBDA_PYTHON_VERSION", host)
    assert runtime_python() == sys.executable
    monkeypatch.setattr(bundling, "LAMBDA_PYTHON_VERSION", "3.1")  # no python3.1 anywhere
    assert runtime_python() is None


def test_a_python_on_path_that_does_not_run_is_not_the_runtime_python(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A pyenv shim for a version not selected exits non-zero: no bytecode then."""
    shim = tmp_path / "python3.1"
    shim.write_text("#!/bin/sh\necho 'pyenv: python3.1: command not found' >&2\nexit 127\n")
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(bundling, "LAMBDA_PYTHON_VERSION", "3.1")
    assert runtime_python() is None


def test_bytecode_is_hash_based_and_loads_without_the_sources_timestamps(tmp_path: Path) -> None:
    """CDK's zip does not keep modification times: timestamp-checked bytecode would be
    rejected in Lambda and every module compiled again from source."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("VALUE = 42\n")
    compile_bytecode(tmp_path, python=sys.executable)
    cached = importlib.util.cache_from_source(str(package / "__init__.py"))
    flags = int.from_bytes(Path(cached).read_bytes()[4:8], "little")
    assert flags == 0b01  # hash-based, unchecked (PEP 552)


def test_a_module_that_does_not_compile_fails_the_bundling(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def broken(:\n")
    with pytest.raises(BundlingError, match="could not compile"):
        compile_bytecode(tmp_path, python=sys.executable)
