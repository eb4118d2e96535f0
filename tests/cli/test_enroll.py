"""`tapgate enroll` against local mode: the link it prints works, refusals are one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tapgate.local.server import LocalHandle, start_local

pytestmark = pytest.mark.slow

TAPGATE = str(Path(sys.executable).parent / "tapgate")


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalHandle, Path]]:
    work = tmp_path_factory.mktemp("enroll")
    handle = start_local(port=0, state_file=work / "local.json")
    try:
        yield handle, work
    finally:
        handle.stop()


def tapgate(
    local: tuple[LocalHandle, Path], *args: str, keys: tuple[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    handle, work = local
    user = handle.state["demoUser"]
    key_id, secret = keys or (user["accessKeyId"], user["secretAccessKey"])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TAPGATE_"))}
    env.update(
        HOME=str(work),
        AWS_ACCESS_KEY_ID=key_id,
        AWS_SECRET_ACCESS_KEY=secret,
        AWS_CONFIG_FILE=str(work / "aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(work / "aws-credentials"),
        TAPGATE_LOCAL_STATE=str(work / "local.json"),
    )
    return subprocess.run(
        [TAPGATE, "enroll", "--api-url", handle.api_url, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=work,
        start_new_session=True,
        check=False,
    )


def enrollment_options(api_url: str, token: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        api_url + "/v1/enrollment/options",
        data=b"{}",
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_an_admin_gets_a_link_that_starts_an_enrollment(local):
    done = tapgate(local, "--user", "bob")
    assert done.returncode == 0, done.stderr
    url, message = done.stdout.strip().splitlines()
    handle = local[0]
    assert url.startswith(f"{handle.api_url}/v1/enroll#token=")
    assert "bob" in message
    status, options = enrollment_options(handle.api_url, url.split("#token=", 1)[1])
    assert status == 200, options
    assert options["userName"] == "bob"


def test_json_output_carries_the_token(local):
    done = tapgate(local, "--user", "carol", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["userName"] == "carol"
    assert answer["url"].endswith("#token=" + answer["token"])


def test_a_non_admin_asking_for_someone_else_gets_one_line(local):
    handle = local[0]
    iam = boto3.client(
        "iam",
        region_name=handle.state["region"],
        endpoint_url=handle.aws_endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    iam.create_user(UserName="mallory")
    key = iam.create_access_key(UserName="mallory")["AccessKey"]
    done = tapgate(local, "--user", "bob", keys=(key["AccessKeyId"], key["SecretAccessKey"]))
    assert done.returncode != 0
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("tapgate: ")
    assert "admin" in lines[0]


def test_a_user_iam_does_not_know_gets_a_warning(local):
    done = tapgate(local, "--user", "tapgate-dmeo")  # a typo
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{local[0].api_url}/v1/enroll#token=")
    assert done.stderr.strip().splitlines() == [
        "tapgate: warning: there is no IAM user tapgate-dmeo in this account; unless "
        "tapgate-dmeo signs in through IAM Identity Center, check the spelling and let this "
        "link expire"
    ]


def test_an_iam_user_gets_no_warning(local):
    done = tapgate(local, "--user", local[0].state["demoUser"]["userName"])
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
