"""The README's next steps after a restart of `tapgate local` (what `make demo` runs).

Start, follow the printed steps (exports, register the demo key, the printed AWS CLI
profile), stop, start again: the printed steps are the same (ports, demo user keys), the
profile still works — from the cache, whose role session moto knows again, and with a
new touch of the same registered key. `--reset` starts over.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
TAPGATE = str(BIN / "tapgate")
AWS = str(BIN / "aws")
PROFILE = "tapgate-demo-admin"
LAST_LINE = "Stop with Ctrl-C."


class Running:
    """`tapgate local` in a subprocess, its output in files (a pipe left unread could fill)."""

    def __init__(self, work: Path, *args: str, name: str) -> None:
        self.state_file = work / ".tapgate" / "local.json"
        self.out = work / f"{name}.out"
        self.err = work / f"{name}.err"
        with self.out.open("w") as out, self.err.open("w") as err:
            self.process = subprocess.Popen(
                [TAPGATE, "local", "--state-file", str(self.state_file), *args],
                cwd=work,
                env=clean_env(work),
                stdout=out,
                stderr=err,
            )
        deadline = time.monotonic() + 90
        while LAST_LINE not in self.out.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                pytest.fail(f"tapgate local did not start: {self.err.read_text()}")
            time.sleep(0.1)
        text = self.out.read_text()
        self.steps = text[: text.index(LAST_LINE) + len(LAST_LINE)]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=30) == 0, self.err.read_text()

    def exports(self) -> dict[str, str]:
        found = dict(re.findall(r"^  export (\w+)=(\S+)$", self.steps, flags=re.MULTILINE))
        found["PATH"] = found["PATH"].replace("$PATH", os.environ.get("PATH", ""))
        return found

    def profile(self) -> str:
        block = re.search(r"^  \[profile .*?^  endpoint_url = \S+$", self.steps, re.M | re.S)
        assert block is not None, self.steps
        return "\n".join(line[2:] for line in block.group(0).splitlines()) + "\n"

    def register_command(self) -> list[str]:
        [line] = [line for line in self.steps.splitlines() if "tapgate register" in line]
        return shlex.split(line)

    def successful_authentications(self) -> int:
        state = json.loads(self.state_file.read_text())
        dynamodb = boto3.client(
            "dynamodb",
            region_name=state["region"],
            endpoint_url=state["awsEndpointUrl"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        items = dynamodb.scan(TableName="tapgate-audit")["Items"]
        return sum(
            1
            for item in items
            if item["event"]["S"] == "authenticate" and item["outcome"]["S"] == "success"
        )


def clean_env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TAPGATE_"))}
    return {
        **env,
        "HOME": str(work),
        "XDG_CACHE_HOME": str(work / "cache"),
        "AWS_CONFIG_FILE": str(work / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(work / "aws-credentials"),
    }


def as_the_demo_user(work: Path, running: Running, *command: str) -> Any:
    return subprocess.run(
        list(command),
        cwd=work,
        env={**clean_env(work), **running.exports()},
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,  # no terminal: prompts go to stderr
        check=False,
    )


def caller_arn(work: Path, running: Running) -> str:
    done = as_the_demo_user(work, running, AWS, "sts", "get-caller-identity", "--profile", PROFILE)
    assert done.returncode == 0, done.stderr
    arn: str = json.loads(done.stdout)["Arn"]
    return arn


def test_the_printed_steps_work_again_after_a_restart(tmp_path: Path) -> None:
    first = Running(tmp_path, "--port", "0", name="first")
    try:
        (tmp_path / "aws-config").write_text(first.profile())
        registered = as_the_demo_user(tmp_path, first, *first.register_command())
        assert registered.returncode == 0, registered.stderr
        arn = caller_arn(tmp_path, first)
        assert f":assumed-role/{PROFILE}/" in arn

        again = subprocess.run(
            [TAPGATE, "local", "--state-file", str(first.state_file)],
            env=clean_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )  # the same world twice at once
        assert again.returncode == 1
        assert "already running" in again.stderr and str(first.process.pid) in again.stderr
    finally:
        first.stop()
    data_file = first.state_file.with_name("local.data.json")
    assert stat.S_IMODE(data_file.stat().st_mode) == 0o600
    assert not first.state_file.exists()  # not running: no state file

    second = Running(tmp_path, name="second")  # no --port: the last run's
    try:
        assert second.steps == first.steps  # ports, demo user keys, key file, profile
        before = second.successful_authentications()
        assert caller_arn(tmp_path, second) == arn  # the cached session: moto knows it again
        assert second.successful_authentications() == before
        # A new touch of the same registered key; the exports name the key, no flag needed.
        role = re.findall(r"--role (\S+)", second.steps)[0]
        fresh = as_the_demo_user(
            tmp_path, second, TAPGATE, "credentials", "--role", role, "--no-cache"
        )
        assert fresh.returncode == 0, fresh.stderr
        assert second.successful_authentications() == before + 1
    finally:
        second.stop()

    fresh = Running(tmp_path, "--reset", name="fresh")
    try:
        assert fresh.exports()["AWS_ACCESS_KEY_ID"] != first.exports()["AWS_ACCESS_KEY_ID"]
        listed = as_the_demo_user(tmp_path, fresh, TAPGATE, "list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout) == {"credentials": []}
    finally:
        fresh.stop()
