"""End to end: local mode in-process, the soft key, `tapgate` and the real AWS CLI as subprocesses.

The AWS CLI runs `tapgate credentials` as its ``credential_process`` and calls STS
on moto; the second call must come from the cache (no new ceremony in the audit
table); an expiring or corrupted cache entry is refreshed with a new ceremony.
Bad input of each kind is one line on stderr and a non-zero exit.

Subprocesses run in a new session: no controlling terminal, so prompts go to
stderr and a PIN is read from stdin (as in CI).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from fido2.utils import websafe_decode

from tapgate.authenticators.soft import SoftAuthenticator
from tapgate.cache import CredentialCache
from tapgate.local.logs import GATEWAY_LOGGER
from tapgate.local.server import LocalHandle, start_local
from tapgate_contract import routes as v1
from tests.cli.terminal import on_a_terminal

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
TAPGATE = str(BIN / "tapgate")
AWS = str(BIN / "aws")
PIN = "4321"
OUTPUT_KEYS = {"Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}


class Local:
    def __init__(self, handle: LocalHandle, work: Path, state_file: Path) -> None:
        self.handle = handle
        self.work = work
        self.state = handle.state
        self.state_file = state_file
        self.api_url = handle.api_url
        self.role = handle.state["gatedRoles"][0]["arn"]
        self.key = work / "key.json"
        self.pin_key = work / "pin-key.json"
        self.cache_dir = work / "cache" / "tapgate"
        self.pin_registration_requests: list[str] = []

    def env(self, **extra: str) -> dict[str, str]:
        user = self.state["demoUser"]
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("AWS_", "TAPGATE_"))
        }
        env.update(
            HOME=str(self.work),
            XDG_CACHE_HOME=str(self.work / "cache"),
            AWS_ACCESS_KEY_ID=user["accessKeyId"],
            AWS_SECRET_ACCESS_KEY=user["secretAccessKey"],
            AWS_CONFIG_FILE=str(self.work / "aws-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(self.work / "aws-credentials"),
            AWS_DEFAULT_REGION=self.state["region"],
            TAPGATE_LOCAL_STATE=str(self.state_file),
        )
        env.update(extra)
        return env

    def tapgate(
        self, *args: str, stdin: str = "", env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run([TAPGATE, *args], env=env or self.env(), stdin=stdin, cwd=self.work)

    def aws(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run(
            [AWS, *args, "--endpoint-url", self.handle.aws_endpoint_url, "--output", "json"],
            env=self.env(),
            cwd=self.work,
        )

    def successful_authentications(self) -> int:
        resources = self.handle.resources
        dynamodb = boto3.client(
            "dynamodb",
            region_name=resources.region,
            endpoint_url=self.handle.aws_endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        items = dynamodb.scan(TableName=resources.audit_table)["Items"]
        return sum(
            1
            for item in items
            if item["event"]["S"] == "authenticate" and item["outcome"]["S"] == "success"
        )

    def cache_files(self) -> list[Path]:
        return sorted(self.cache_dir.glob("*.cache"))


def run(
    command: list[str], *, env: dict[str, str], stdin: str = "", cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        start_new_session=True,  # no controlling terminal
        check=False,
    )


def assert_one_line_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode != 0, done.stdout
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    error_lines = [line for line in lines if line.startswith("tapgate: ")]
    assert len(error_lines) == 1, done.stderr
    assert lines[-1] == error_lines[0], done.stderr
    assert "Traceback" not in done.stderr
    for fragment in fragments:
        assert fragment in error_lines[0], done.stderr


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    work = tmp_path_factory.mktemp("cli-e2e")
    state_file = work / "local.json"
    handle = start_local(port=0, state_file=state_file)
    try:
        env = Local(handle, work, state_file)
        SoftAuthenticator.create(env.key)
        yield env
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def registered(local: Local) -> Local:
    done = local.tapgate("register", "--authenticator", f"soft:{local.key}", "--nickname", "e2e")
    assert done.returncode == 0, done.stderr
    assert "Registered security key e2e" in done.stdout
    return local


@pytest.fixture(scope="module")
def profile(registered: Local) -> Local:
    config = registered.work / "aws-config"
    config.write_text("# kept as is\n[default]\nregion = us-east-1\n")
    done = registered.tapgate(
        "configure",
        "--profile",
        "gated",
        "--role",
        registered.role,
        "--api-url",
        registered.api_url,
        "--authenticator",
        f"soft:{registered.key}",
    )
    assert done.returncode == 0, done.stderr
    text = config.read_text()
    assert text.startswith("# kept as is\n[default]\nregion = us-east-1\n")
    assert f"credential_process = {TAPGATE} credentials" in text
    return registered


def assumed_role_arn(local: Local) -> str:
    done = local.aws("sts", "get-caller-identity", "--profile", "gated")
    assert done.returncode == 0, done.stderr
    arn: str = json.loads(done.stdout)["Arn"]
    return arn


def test_configure_in_local_mode_writes_a_profile_that_works_as_printed(
    registered: Local,
) -> None:
    """From the printed exports alone: the profile names the API, the key, local mode's
    state file and AWS endpoint, and the printed Try: command works as it is."""
    exports = {
        "TAPGATE_API_URL": registered.api_url,
        "TAPGATE_AUTHENTICATOR": f"soft:{registered.key}",
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
    }
    done = registered.tapgate(
        "configure",
        "--profile",
        "local-demo",
        "--role",
        registered.role,
        env=registered.env(**exports),
    )
    assert done.returncode == 0, done.stderr
    config = (registered.work / "aws-config").read_text()
    assert f"endpoint_url = {registered.handle.aws_endpoint_url}" in config
    assert f"region = {registered.state['region']}" in config
    [try_line] = [line for line in done.stdout.splitlines() if line.startswith("Try: ")]
    tried = subprocess.run(
        ["/bin/sh", "-c", try_line.removeprefix("Try: ")],
        env={**registered.env(), "PATH": exports["PATH"]},  # a shell without the tapgate exports
        cwd=registered.work,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
        check=False,
    )
    assert tried.returncode == 0, tried.stderr
    assert f":assumed-role/{registered.role.rsplit('/', 1)[1]}/" in json.loads(tried.stdout)["Arn"]


def test_list_shows_the_registered_key(registered: Local) -> None:
    done = registered.tapgate("list", "--json")
    assert done.returncode == 0, done.stderr
    nicknames = [c["nickname"] for c in json.loads(done.stdout)["credentials"]]
    assert "e2e" in nicknames


def test_aws_cli_gets_the_gated_role_then_serves_the_cache(profile: Local) -> None:
    for path in profile.cache_files():
        path.unlink()
    before = profile.successful_authentications()

    arn = assumed_role_arn(profile)
    role_name = profile.role.rsplit("/", 1)[1]
    assert arn.startswith(f"arn:aws:sts::{profile.handle.resources.account_id}:assumed-role/")
    assert f":assumed-role/{role_name}/" in arn
    assert profile.successful_authentications() == before + 1
    [cache_file] = profile.cache_files()
    assert cache_file.stat().st_mode & 0o777 == 0o600
    assert profile.cache_dir.stat().st_mode & 0o777 == 0o700

    assert assumed_role_arn(profile) == arn
    assert profile.successful_authentications() == before + 1  # no new ceremony


def test_parallel_runs_on_a_cold_cache_cost_one_touch(registered: Local) -> None:
    """Four tools start at once: one ceremony, one signature, the same credentials for all."""
    for path in registered.cache_files():
        path.unlink()
    listed = json.loads(registered.tapgate("list", "--json").stdout)["credentials"]
    [key_id] = [c["credentialId"] for c in listed if c["nickname"] == "e2e"]
    signatures_before = SoftAuthenticator.load(registered.key).sign_count(websafe_decode(key_id))
    before = registered.successful_authentications()
    command = [TAPGATE, "credentials", "--api-url", registered.api_url, "--role", registered.role]
    command += ["--authenticator", f"soft:{registered.key}"]
    processes = [
        subprocess.Popen(
            command,
            env=registered.env(),
            cwd=registered.work,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        for _ in range(4)
    ]
    answers = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0] * 4, answers
    assert len({json.loads(out)["AccessKeyId"] for out, _ in answers}) == 1
    assert registered.successful_authentications() == before + 1
    signatures = SoftAuthenticator.load(registered.key).sign_count(websafe_decode(key_id))
    assert signatures == signatures_before + 1


def test_expiring_cache_entry_is_refreshed(profile: Local) -> None:
    assumed_role_arn(profile)  # make sure an entry exists
    [cache_file] = profile.cache_files()
    key = cache_file.name.removesuffix(".cache")
    store = CredentialCache(profile.cache_dir, clock=time.time)
    stale = store.get(key)
    assert stale is not None
    soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 600))
    assert store.put(key, {**stale, "Expiration": soon})
    before = profile.successful_authentications()

    assumed_role_arn(profile)

    assert profile.successful_authentications() == before + 1
    fresh = store.get(key)
    assert fresh is not None
    assert fresh["Expiration"] != soon


def test_corrupted_cache_file_is_replaced(profile: Local) -> None:
    assumed_role_arn(profile)
    [cache_file] = profile.cache_files()
    cache_file.write_bytes(b"tapgate-cache 1 9999999999 0000\n{not json")
    before = profile.successful_authentications()

    assumed_role_arn(profile)

    assert profile.successful_authentications() == before + 1
    key = cache_file.name.removesuffix(".cache")
    assert CredentialCache(profile.cache_dir, clock=time.time).get(key) is not None


def test_credentials_stdout_is_only_the_json_document(registered: Local) -> None:
    done = registered.tapgate(
        "credentials",
        "--api-url",
        registered.api_url,
        "--authenticator",
        f"soft:{registered.key}",
        "--role",
        registered.role,
        "--no-cache",
    )
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout)) == OUTPUT_KEYS
    assert done.stdout.count("\n") == 1
    assert json.loads(done.stdout)["Expiration"].endswith("Z")
    assert "Touch your security key." in done.stderr  # no terminal: prompts on stderr


@pytest.mark.parametrize("suffix", ["/v1", "/v1/"])
def test_api_url_given_with_the_stage_works(registered: Local, suffix: str) -> None:
    done = registered.tapgate(
        "credentials",
        "--api-url",
        registered.api_url + suffix,
        "--authenticator",
        f"soft:{registered.key}",
        "--role",
        registered.role,
        "--no-cache",
    )  # the soft key is allowed: still recognised as local mode's API
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout)) == OUTPUT_KEYS


def test_list_with_the_stage_in_the_url(registered: Local) -> None:
    done = registered.tapgate("list", "--api-url", registered.api_url + "/v1/", "--json")
    assert done.returncode == 0, done.stderr
    assert "e2e" in [c["nickname"] for c in json.loads(done.stdout)["credentials"]]


# -- a second key with a PIN: step-up registration, right and wrong PIN ------------------


class RequestLines(logging.Handler):
    """The local gateway's per-request lines (method and path) while it is attached."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture(scope="module")
def pin_key(registered: Local) -> Local:
    SoftAuthenticator.create(registered.pin_key, pin=PIN)
    gateway = logging.getLogger(GATEWAY_LOGGER)
    seen, level = RequestLines(), gateway.level
    gateway.addHandler(seen)
    gateway.setLevel(logging.INFO)
    try:
        done = registered.tapgate(
            "register",
            "--authenticator",
            f"soft:{registered.pin_key}",
            "--existing-authenticator",
            f"soft:{registered.key}",
            "--nickname",
            "with-pin",
            stdin=PIN + "\n",
        )
    finally:
        gateway.removeHandler(seen)
        gateway.setLevel(level)
    assert done.returncode == 0, done.stderr
    registered.pin_registration_requests = seen.lines
    return registered


def test_a_further_key_is_registered_on_the_step_up_routes(pin_key: Local) -> None:
    # The first-key routes admit only MFA sessions in AWS (the API's resource policy).
    paths = [
        f"POST {route.url_path} "
        for route in (v1.REGISTRATION_STEP_UP_OPTIONS, v1.REGISTRATION_STEP_UP_VERIFY)
    ]
    lines = " | ".join(pin_key.pin_registration_requests)
    for path in paths:
        assert path in lines
    first_key = f"POST {v1.REGISTRATION_OPTIONS.url_path} "
    assert first_key not in lines


def credentials_with(
    local: Local, key: Path, *, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return local.tapgate(
        "credentials",
        "--api-url",
        local.api_url,
        "--authenticator",
        f"soft:{key}",
        "--role",
        local.role,
        "--no-cache",
        stdin=stdin,
    )


def test_right_pin_gives_credentials(pin_key: Local) -> None:
    done = credentials_with(pin_key, pin_key.pin_key, stdin=PIN + "\n")
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout)) == OUTPUT_KEYS


def test_wrong_pin_is_one_line(pin_key: Local) -> None:
    done = credentials_with(pin_key, pin_key.pin_key, stdin="0000\n")
    assert_one_line_error(done, "wrong PIN")


def test_prompts_go_to_the_terminal_and_stdout_is_only_the_json(pin_key: Local) -> None:
    args = ["credentials", "--api-url", pin_key.api_url, "--role", pin_key.role, "--no-cache"]
    done, terminal = on_a_terminal(
        [TAPGATE, *args, "--authenticator", f"soft:{pin_key.pin_key}"],
        env=pin_key.env(),
        cwd=pin_key.work,
        answer=PIN,
        when="PIN",
    )
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout)) == OUTPUT_KEYS
    assert done.stdout.count("\n") == 1
    assert done.stderr == ""  # the AWS CLI would hide it anyway: nothing is said there
    assert "PIN for your security key:" in terminal
    assert "Touch your security key." in terminal
    assert PIN not in terminal  # typed without echo


def test_aws_cli_asks_for_the_pin_on_the_terminal(pin_key: Local, profile: Local) -> None:
    """The whole flow as a person sees it: the AWS CLI runs tapgate, which asks for the PIN
    on the terminal although the AWS CLI captures its stdout and stderr."""
    done = pin_key.tapgate(
        "configure",
        "--profile",
        "gated-pin",
        "--role",
        pin_key.role,
        "--api-url",
        pin_key.api_url,
        "--authenticator",
        f"soft:{pin_key.pin_key}",
    )
    assert done.returncode == 0, done.stderr
    for path in pin_key.cache_files():
        path.unlink()
    before = pin_key.successful_authentications()
    aws = [AWS, "sts", "get-caller-identity", "--profile", "gated-pin"]
    aws += ["--endpoint-url", pin_key.handle.aws_endpoint_url, "--output", "json"]
    done, terminal = on_a_terminal(aws, env=pin_key.env(), cwd=pin_key.work, answer=PIN, when="PIN")
    assert done.returncode == 0, done.stderr
    assert f":assumed-role/{pin_key.role.rsplit('/', 1)[1]}/" in json.loads(done.stdout)["Arn"]
    assert "PIN for your security key:" in terminal
    assert pin_key.successful_authentications() == before + 1


# -- bad input -------------------------------------------------------------------------


def test_no_key_present_is_one_line(registered: Local) -> None:
    done = credentials_with(registered, registered.work / "missing-key.json")
    assert_one_line_error(done, "missing-key.json")


def test_unregistered_key_is_one_line(registered: Local) -> None:
    stranger = registered.work / "stranger.json"
    if not stranger.exists():
        SoftAuthenticator.create(stranger)
    done = credentials_with(registered, stranger)
    assert_one_line_error(done, "not registered")


def test_unknown_role_is_one_line(registered: Local) -> None:
    unknown = registered.role.rsplit("/", 1)[0] + "/not-gated"
    done = registered.tapgate(
        "credentials",
        "--api-url",
        registered.api_url,
        "--authenticator",
        f"soft:{registered.key}",
        "--role",
        unknown,
    )
    assert_one_line_error(done, "403")


def test_api_unreachable_is_one_line(registered: Local, unused_port: int) -> None:
    done = registered.tapgate(
        "credentials",
        "--api-url",
        f"http://127.0.0.1:{unused_port}",
        "--api-region",
        "us-east-1",
        "--authenticator",
        f"soft:{registered.key}",
        "--role",
        registered.role,
        env=registered.env(TAPGATE_ALLOW_SOFT_KEY="1"),
    )
    assert_one_line_error(done, "cannot reach the tapgate API")


@pytest.fixture
def error_api() -> Iterator[dict[str, Any]]:
    """An API that answers every request with a configurable error document."""
    answer: dict[str, Any] = {"status": 503, "type": "application/problem+json", "body": b""}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            self.send_response(answer["status"])
            self.send_header("Content-Type", answer["type"])
            self.send_header("Content-Length", str(len(answer["body"])))
            self.end_headers()
            self.wfile.write(answer["body"])

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    answer["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield answer
    finally:
        server.shutdown()
        server.server_close()


def test_api_problem_document_is_one_line(registered: Local, error_api: dict[str, Any]) -> None:
    error_api["body"] = json.dumps(
        {
            "type": "https://tapgate.dev/problems/dependency",
            "title": "Service unavailable",
            "status": 503,
            "detail": "A dependency failed;\nretry later.",
        }
    ).encode()
    done = registered.tapgate(
        "credentials",
        "--api-url",
        error_api["url"],
        "--api-region",
        "us-east-1",
        "--authenticator",
        f"soft:{registered.key}",
        "--role",
        registered.role,
        env=registered.env(TAPGATE_ALLOW_SOFT_KEY="1"),
    )
    assert_one_line_error(done, "503 Service unavailable", "retry later")


def test_api_non_json_error_is_one_line(registered: Local, error_api: dict[str, Any]) -> None:
    error_api.update(status=502, type="text/html", body=b"<html>Bad Gateway\n</html>")
    done = registered.tapgate(
        "credentials",
        "--api-url",
        error_api["url"],
        "--api-region",
        "us-east-1",
        "--authenticator",
        f"soft:{registered.key}",
        "--role",
        registered.role,
        env=registered.env(TAPGATE_ALLOW_SOFT_KEY="1"),
    )
    assert_one_line_error(done, "502")


def test_soft_key_outside_local_mode_is_refused(
    registered: Local, error_api: dict[str, Any]
) -> None:
    done = registered.tapgate(
        "credentials",
        "--api-url",
        error_api["url"],
        "--api-region",
        "us-east-1",
        "--authenticator",
        f"soft:{registered.key}",
        "--role",
        registered.role,
    )
    assert_one_line_error(done, "local mode")


# -- revoke: needs a fresh assertion ----------------------------------------------------------


def test_revoke_removes_the_pin_key(pin_key: Local) -> None:
    listed = json.loads(pin_key.tapgate("list", "--json").stdout)["credentials"]
    [target] = [c["credentialId"] for c in listed if c["nickname"] == "with-pin"]
    done = pin_key.tapgate("revoke", target, "--authenticator", f"soft:{pin_key.key}")
    assert done.returncode == 0, done.stderr
    remaining = json.loads(pin_key.tapgate("list", "--json").stdout)["credentials"]
    assert target not in [c["credentialId"] for c in remaining]


# -- console: a federation endpoint stand-in that checks the session really works --------


@pytest.fixture
def federation(registered: Local) -> Iterator[dict[str, Any]]:
    seen: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            params = parse_qs(urlsplit(self.path).query)
            session = json.loads(params["Session"][0])
            sts = boto3.client(
                "sts",
                region_name=registered.state["region"],
                endpoint_url=registered.handle.aws_endpoint_url,
                aws_access_key_id=session["sessionId"],
                aws_secret_access_key=session["sessionKey"],
                aws_session_token=session["sessionToken"],
            )
            seen["arn"] = sts.get_caller_identity()["Arn"]
            seen["action"] = params["Action"][0]
            body = b'{"SigninToken": "token-from-federation"}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    seen["endpoint"] = f"http://127.0.0.1:{server.server_address[1]}/federation"
    try:
        yield seen
    finally:
        server.shutdown()
        server.server_close()


def console(local: Local, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`tapgate console` for the gated role with the registered soft key."""
    key = f"soft:{local.key}"
    return local.tapgate(
        "console",
        "--api-url",
        local.api_url,
        "--authenticator",
        key,
        "--role",
        local.role,
        *args,
        env=env,
    )


def test_console_url_in_local_mode(registered: Local, federation: dict[str, Any]) -> None:
    done = console(
        registered,
        "--stdout",
        "--region",
        "eu-west-1",
        "--destination",
        "/s3/home",
        env=registered.env(TAPGATE_FEDERATION_URL=federation["endpoint"]),
    )
    assert done.returncode == 0, done.stderr
    assert federation["action"] == "getSigninToken"
    assert f":assumed-role/{registered.role.rsplit('/', 1)[1]}/" in federation["arn"]
    url = done.stdout.strip()
    assert url.startswith(federation["endpoint"] + "?")
    params = {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}
    assert params == {
        "Action": "login",
        "Issuer": registered.api_url,
        "Destination": "https://eu-west-1.console.aws.amazon.com/s3/home?region=eu-west-1",
        "SigninToken": "token-from-federation",
    }


@pytest.fixture
def recording_proxy() -> Iterator[list[str]]:
    """An HTTP(S) proxy that records every request it is asked to forward, and forwards none."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def handle_one_request(self) -> None:
            self.raw_requestline = self.rfile.readline(65537)
            if self.raw_requestline:
                seen.append(self.raw_requestline.decode(errors="replace").strip())
                self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            self.close_connection = True

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    seen.append(f"http://127.0.0.1:{server.server_address[1]}")  # the proxy's own address
    try:
        yield seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("found_by", ["state file", "API URL"])
def test_console_in_local_mode_uses_its_stand_in_and_nothing_else(
    registered: Local, recording_proxy: list[str], found_by: str
) -> None:
    proxy = recording_proxy.pop()
    env = registered.env(
        HTTPS_PROXY=proxy, HTTP_PROXY=proxy, ALL_PROXY=proxy, NO_PROXY="localhost,127.0.0.1"
    )
    if found_by == "API URL":  # no state file names it: an API on this machine is local
        env.update(TAPGATE_LOCAL_STATE=str(registered.work / "elsewhere.json"))
        env.update(TAPGATE_ALLOW_SOFT_KEY="1")
    done = console(registered, "--stdout", env=env)
    assert done.returncode == 0, done.stderr
    assert recording_proxy == []  # not one request left this machine
    link = done.stdout.strip()
    assert link.startswith(registered.api_url + "/federation?Action=login&")
    with urllib.request.urlopen(link, timeout=30) as page:  # the stand-in's console
        assert f"assumed-role/{registered.role.rsplit('/', 1)[1]}/" in page.read().decode()


def test_console_opens_the_browser_unless_stdout(
    registered: Local, federation: dict[str, Any]
) -> None:
    opened = registered.work / "opened-url.txt"
    browser = registered.work / "record-browser"
    browser.write_text(f'#!/bin/sh\nprintf "%s" "$1" > "{opened}"\n')
    browser.chmod(0o755)
    done = console(
        registered,
        env=registered.env(TAPGATE_FEDERATION_URL=federation["endpoint"], BROWSER=str(browser)),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # the URL went to the browser, not to the screen
    params = parse_qs(urlsplit(opened.read_text()).query)
    assert params["Action"] == ["login"]
    assert params["SigninToken"] == ["token-from-federation"]


# --- admin commands (the demo user is local mode's admin) -------------------------------------


def _register_forged_user(local: Local, name: str) -> str:
    """A moto IAM user with a forged key registered over signed HTTP; the key's id."""
    from botocore.auth import SigV4Auth  # noqa: PLC0415
    from botocore.awsrequest import AWSRequest  # noqa: PLC0415
    from botocore.credentials import Credentials  # noqa: PLC0415
    from fido2.utils import websafe_encode  # noqa: PLC0415

    from tests.support.forge import ForgedKey  # noqa: PLC0415

    iam = boto3.client(
        "iam",
        region_name=local.state["region"],
        endpoint_url=local.handle.aws_endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    iam.create_user(UserName=name)
    access = iam.create_access_key(UserName=name)["AccessKey"]
    signer = SigV4Auth(
        Credentials(access["AccessKeyId"], access["SecretAccessKey"]),
        "execute-api",
        local.state["region"],
    )

    def call(path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = AWSRequest(
            method="POST",
            url=local.api_url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        signer.add_auth(request)
        sent = urllib.request.Request(
            request.url, data=request.body, headers=dict(request.headers.items()), method="POST"
        )
        with urllib.request.urlopen(sent, timeout=30) as answer:
            return dict(json.loads(answer.read()))

    key = ForgedKey()
    options = call("/v1/registration/options", {})
    call(
        "/v1/registration/verify",
        {
            "ceremonyId": options["ceremonyId"],
            "credential": key.register(options["publicKey"], local.state["origin"]),
        },
    )
    return websafe_encode(key.credential_id)


def test_an_admin_lists_reports_and_revokes_another_users_keys(registered: Local) -> None:
    key_id = _register_forged_user(registered, "leaver")
    listed = registered.tapgate("admin", "keys", "--user", "leaver")
    assert listed.returncode == 0, listed.stderr
    assert key_id in listed.stdout
    report = registered.tapgate("admin", "report", "--format", "csv", "--unused-days", "30")
    assert report.returncode == 0, report.stderr
    rows = report.stdout.splitlines()
    assert rows[0] == "userName,credentialId,nickname,aaguid,createdAt,lastUsedAt,unused"
    assert any(row.startswith(f"leaver,{key_id},") for row in rows[1:])
    refused = registered.tapgate(
        "admin",
        "revoke",
        "--user",
        "leaver",
        "--all",
        "--reason",
        "  ",
        "--authenticator",
        f"soft:{registered.key}",
    )
    assert_one_line_error(refused, "--reason must be 1 to 256 characters")
    done = registered.tapgate(
        "admin",
        "revoke",
        "--user",
        "leaver",
        "--all",
        "--reason",
        "left the company",
        "--authenticator",
        f"soft:{registered.key}",
    )
    assert done.returncode == 0, done.stderr
    assert f"Revoked 1 security key(s) of leaver: {key_id}" in done.stdout
    again = registered.tapgate("admin", "keys", "--user", "leaver")
    assert "leaver has no registered security key." in again.stdout


def test_revoke_takes_a_credential_id_that_starts_with_a_dash(registered: Local) -> None:
    """argparse alone would call -4ybj... an unknown option; the id reaches the command."""
    done = registered.tapgate("revoke", "-4ybjXYZ_abc", "--authenticator", f"soft:{registered.key}")
    assert_one_line_error(done, "no key with id -4ybjXYZ_abc is registered for you")


def test_local_mode_signs_in_to_a_gated_role_of_a_second_account(registered: Local) -> None:
    from tapgate.local.bootstrap import MEMBER_ACCOUNT_ID, MEMBER_ROLE_NAME  # noqa: PLC0415

    member_role = f"arn:aws:iam::{MEMBER_ACCOUNT_ID}:role/{MEMBER_ROLE_NAME}"
    assert member_role in [r["arn"] for r in registered.state["gatedRoles"]]
    done = registered.tapgate(
        "credentials",
        "--role",
        member_role,
        "--no-cache",
        "--authenticator",
        f"soft:{registered.key}",
    )
    assert done.returncode == 0, done.stderr
    issued = json.loads(done.stdout)
    identity = boto3.client(
        "sts",
        region_name=registered.state["region"],
        endpoint_url=registered.handle.aws_endpoint_url,
        aws_access_key_id=issued["AccessKeyId"],
        aws_secret_access_key=issued["SecretAccessKey"],
        aws_session_token=issued["SessionToken"],
    ).get_caller_identity()
    assert identity["Account"] == MEMBER_ACCOUNT_ID
    assert f":assumed-role/{MEMBER_ROLE_NAME}/" in identity["Arn"]


def test_the_report_reads_the_gated_roles_trust_with_the_admins_identity(
    registered: Local,
) -> None:
    from tapgate.local.bootstrap import MEMBER_ACCOUNT_ID  # noqa: PLC0415

    done = registered.tapgate("admin", "report", "--trust", "--format", "json")
    assert done.returncode == 0, done.stderr
    trust = json.loads(done.stdout)["trust"]
    # the demo role names the demo user, who has a key: nobody is missing one
    assert trust["allowedWithoutKey"] == []
    # the member account's role is not readable with the tapgate account's identity
    assert [r["roleArn"].split(":")[4] for r in trust["unreadableRoles"]] == [MEMBER_ACCOUNT_ID]
    csv_too = registered.tapgate("admin", "report", "--trust", "--format", "csv")
    assert_one_line_error(csv_too, "--trust")
