"""The `tapgate` wheel, installed into a fresh virtual environment, runs `tapgate local` from
a directory that is not the repository: everything local mode reads (the policy JSON, the web
page, the broker) must be in the wheel.

Speed: the wheel's own dependencies are not downloaded again. The fresh environment sees
this environment's site-packages as a fallback path (a ``.pth`` line, so none of its
``.pth`` hooks run: the editable install of the repository stays invisible), and pip
installs the wheel with ``--no-index``, so it still checks that every dependency the wheel
declares, the ``local`` extra's included, is there. tapgate's own packages come only from
the wheel (the test checks where each was imported from).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("tapgate", "tapgate_broker", "tapgate_contract")
# What setuptools needs to build the wheel (pyproject's package discovery and readme).
SOURCES = ("pyproject.toml", "README.md", "tapgate", "lambdas")


def _run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    assert result.returncode == 0, f"{command}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


def _clean_env() -> dict[str, str]:
    """No path into the repository and no AWS settings of the caller."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "PYTHON", "TAPGATE_")) and k != "VIRTUAL_ENV"
    }


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    for name in SOURCES:
        origin = REPO / name
        if origin.is_dir():
            shutil.copytree(
                origin,
                source / name,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"),
            )
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(origin, source / name)
    dist = work / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)])
    (wheel,) = dist.glob("tapgate-*.whl")

    environment = work / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(environment)])
    python = environment / "bin" / "python"
    purelib = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
    ).stdout.strip()
    (Path(purelib) / "tapgate-test-dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )
    _run(
        [str(python), "-m", "pip", "install", "--no-index", "-q", f"{wheel}[local]"],
        cwd=work,
        env=_clean_env(),
    )
    return environment


def test_the_wheel_carries_the_packages_and_the_policy_json(venv: Path) -> None:
    code = (
        "import json, importlib, importlib.resources as r; "
        f"mods = {{m: importlib.import_module(m).__file__ for m in {PACKAGES!r}}}; "
        "files = [f.name for f in (r.files('tapgate_contract') / 'policies').iterdir()]; "
        "print(json.dumps({'modules': mods, 'policies': sorted(files)}))"
    )
    answer = json.loads(
        _run([str(venv / "bin" / "python"), "-c", code], cwd=venv, env=_clean_env()).stdout
    )
    for module, path in answer["modules"].items():
        assert Path(path).is_relative_to(venv), (module, path)
    assert answer["policies"] == ["gating-policy.json", "self-service-policy.json"]


@pytest.fixture(scope="module")
def local_state(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("elsewhere")
    state_file = work / ".tapgate" / "local.json"
    process = subprocess.Popen(
        [str(venv / "bin" / "tapgate"), "local", "--port", "0", "--state-file", str(state_file)],
        cwd=work,
        env=_clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not state_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"tapgate local did not start:\n{process.communicate()[0]}")
        time.sleep(0.1)
    try:
        yield json.loads(state_file.read_text(encoding="utf-8"))
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_installed_local_mode_serves_the_config(local_state: dict[str, Any]) -> None:
    status, config = _get(local_state["apiUrl"] + "/v1/config")
    assert status == 200
    assert config["rpId"] == "localhost"
    assert [r["arn"] for r in config["roles"]] == [r["arn"] for r in local_state["gatedRoles"]]


def test_the_installed_local_mode_answers_a_signed_request(local_state: dict[str, Any]) -> None:
    url = local_state["apiUrl"] + "/v1/credentials"
    user = local_state["demoUser"]
    request = AWSRequest(method="GET", url=url)
    SigV4Auth(
        Credentials(user["accessKeyId"], user["secretAccessKey"]),
        "execute-api",
        local_state["region"],
    ).add_auth(request)
    assert _get(url, dict(request.headers.items())) == (200, {"credentials": []})
    assert _get(url)[0] == 403  # the same route unsigned
