"""`tapgate local` as a subprocess: SigV4 requests from the demo user, a real
Fido2Client over the soft key, and credentials that work against moto."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tapgate.authenticators.soft import SoftAuthenticator, soft_client
from tests.support.broker_harness import get_assertion, make_credential

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Any:
    work = tmp_path_factory.mktemp("local")
    state_file = work / "local.json"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(name, None)
    command = [sys.executable, "-m", "tapgate.cli.main", "local", "--port", "0"]
    with (work / "out").open("w") as out, (work / "err").open("w") as err:
        process = subprocess.Popen(
            [*command, "--state-file", str(state_file)], cwd=work, env=env, stdout=out, stderr=err
        )  # files, not pipes: no terminal, and nothing blocks on a full pipe
    deadline = time.monotonic() + 60
    while not state_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"tapgate local did not start:\n{(work / 'err').read_text()}")
        time.sleep(0.1)
    state = json.loads(state_file.read_text())
    yield state, work, process
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0


def signed(state: dict[str, Any], method: str, path: str, body: Any = None) -> tuple[int, Any]:
    user = state["demoUser"]
    data = json.dumps(body).encode() if body is not None else b""
    request = AWSRequest(
        method=method,
        url=state["apiUrl"] + path,
        data=data,
        headers={"Content-Type": "application/json"},
    )
    SigV4Auth(
        Credentials(user["accessKeyId"], user["secretAccessKey"]), "execute-api", state["region"]
    ).add_auth(request)
    return send(request.method, request.url, dict(request.headers.items()), data)


def send(method: str, url: str, headers: dict[str, str], data: bytes) -> tuple[int, Any]:
    http_request = urllib.request.Request(url, data=data or None, headers=headers, method=method)
    try:
        with urllib.request.urlopen(http_request, timeout=30) as response:
            text = response.read().decode()
            return response.status, json.loads(text) if text else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read().decode() or "null")


def test_state_file_matches_the_documented_shape(local):
    state, _, _ = local
    assert set(state) >= {
        "apiUrl",
        "awsEndpointUrl",
        "region",
        "rpId",
        "origin",
        "demoUser",
        "gatedRoles",
    }
    assert state["apiUrl"].startswith("http://localhost:")
    assert state["origin"] == state["apiUrl"]
    assert state["rpId"] == "localhost"


def test_unsigned_and_badly_signed_requests_are_refused(local):
    state, _, _ = local
    status, body = send("GET", state["apiUrl"] + "/v1/credentials", {}, b"")
    assert status == 403
    assert body["status"] == 403
    user = dict(state["demoUser"], secretAccessKey="wrong" * 8)
    status, _ = signed({**state, "demoUser": user}, "GET", "/v1/credentials")
    assert status == 403


def test_register_authenticate_and_use_the_role(local):
    state, work, _ = local
    key = work / "key.json"
    SoftAuthenticator.create(key)
    client = soft_client(key, state["origin"])

    status, options = signed(state, "POST", "/v1/registration/options", {"nickname": "demo"})
    assert status == 200, options
    credential = make_credential(client, options["publicKey"])
    status, registered = signed(
        state,
        "POST",
        "/v1/registration/verify",
        {"ceremonyId": options["ceremonyId"], "credential": credential},
    )
    assert status == 201, registered

    role = state["gatedRoles"][0]["arn"]
    status, options = signed(state, "POST", "/v1/authentication/options", {"roleArn": role})
    assert status == 200, options
    assertion = get_assertion(client, options["publicKey"])
    status, issued = signed(
        state,
        "POST",
        "/v1/authentication/verify",
        {"ceremonyId": options["ceremonyId"], "credential": assertion, "roleArn": role},
    )
    assert status == 200, issued
    assert issued["SourceIdentity"] == state["demoUser"]["userName"]

    sts = boto3.client(
        "sts",
        region_name=state["region"],
        endpoint_url=state["awsEndpointUrl"],
        aws_access_key_id=issued["AccessKeyId"],
        aws_secret_access_key=issued["SecretAccessKey"],
        aws_session_token=issued["SessionToken"],
    )
    arn = sts.get_caller_identity()["Arn"]
    assert f":assumed-role/{role.rsplit('/', 1)[1]}/" in arn


def test_without_a_terminal_each_request_is_a_json_line_and_no_warning(local):
    state, work, _ = local
    status, _ = send("GET", state["apiUrl"] + "/v1/config", {}, b"")
    assert status == 200
    deadline = time.monotonic() + 30
    while '"GET /v1/config HTTP/1.1\\" 200' not in (work / "out").read_text():
        assert time.monotonic() < deadline, (work / "out").read_text()
        time.sleep(0.1)
    text = (work / "out").read_text()
    logged = text[text.index("Stop with Ctrl-C.") :].splitlines()[1:]
    assert logged
    assert all(isinstance(json.loads(line), dict) for line in logged)  # one document a line
    assert "No application metrics to publish" not in (work / "err").read_text()
