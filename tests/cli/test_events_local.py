"""`tapgate events` against local mode: two users' scripted ceremonies, read back exactly,
filtered and formatted; a non-admin asking for someone else's is refused; local mode's log
puts the EventBridge events on moto's bus (issue 14's "done when", over HTTP, in one test)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tapgate.local.server import LocalHandle, start_local
from tapgate_contract import signals
from tests.support.forge import ForgedKey

TAPGATE = str(Path(sys.executable).parent / "tapgate")


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHandle]:
    state_file = tmp_path_factory.mktemp("events-local") / "local.json"
    handle = start_local(port=0, state_file=state_file)
    try:
        yield handle
    finally:
        handle.stop()


class Person:
    """A signed HTTP client of the local API with its own access key."""

    def __init__(self, handle: LocalHandle, access_key: str, secret: str) -> None:
        self.handle = handle
        self.credentials = Credentials(access_key, secret)

    def call(self, method: str, path: str, body: Any) -> dict[str, Any]:
        import urllib.request  # noqa: PLC0415

        data = json.dumps(body).encode()
        request = AWSRequest(
            method=method,
            url=self.handle.api_url + path,
            data=data,
            headers={"Content-Type": "application/json"},
        )
        SigV4Auth(self.credentials, "execute-api", self.handle.state["region"]).add_auth(request)
        sent = urllib.request.Request(
            request.url, data=data, headers=dict(request.headers.items()), method=method
        )
        try:
            with urllib.request.urlopen(sent, timeout=30) as response:
                return {"status": response.status, **json.loads(response.read() or b"{}")}
        except urllib.error.HTTPError as error:
            return {"status": error.code}

    def register(self, key: ForgedKey) -> None:
        options = self.call("POST", "/v1/registration/options", {})
        answer = key.register(options["publicKey"], self.handle.state["origin"])
        verify = {"ceremonyId": options["ceremonyId"], "credential": answer}
        assert self.call("POST", "/v1/registration/verify", verify)["status"] == 201

    def sign_in(self, key: ForgedKey, **assertion: Any) -> int:
        role = self.handle.state["gatedRoles"][0]["arn"]
        options = self.call("POST", "/v1/authentication/options", {"roleArn": role})
        answer = key.assertion(options["publicKey"], self.handle.state["origin"], **assertion)
        body = {"ceremonyId": options["ceremonyId"], "credential": answer, "roleArn": role}
        return int(self.call("POST", "/v1/authentication/verify", body)["status"])


def cli(handle: LocalHandle, person: Person, work: Path, *argv: str) -> tuple[int, str, str]:
    """`tapgate events ...` as its own process (the broker runs in this one, with its own
    environment), signed with ``person``'s access key, finding local mode by its state file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TAPGATE_"))}
    env.update(
        HOME=str(work),
        AWS_ACCESS_KEY_ID=person.credentials.access_key,
        AWS_SECRET_ACCESS_KEY=person.credentials.secret_key,
        AWS_CONFIG_FILE=str(work / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(work / "none"),
        TAPGATE_LOCAL_STATE=str(handle.state_file),
    )
    done = subprocess.run(
        [TAPGATE, "events", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=work,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def test_tapgate_events_shows_exactly_the_ceremonies(local: LocalHandle, tmp_path: Path) -> None:
    handle = local
    demo = handle.state["demoUser"]  # an admin in local mode
    admin = Person(handle, demo["accessKeyId"], demo["secretAccessKey"])
    moto = boto3.session.Session(
        region_name=handle.state["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    iam = moto.client("iam", endpoint_url=handle.aws_endpoint_url)
    sqs = moto.client("sqs", endpoint_url=handle.aws_endpoint_url)
    events = moto.client("events", endpoint_url=handle.aws_endpoint_url)
    queue = sqs.create_queue(QueueName="siem")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    events.put_rule(Name="siem", EventPattern=json.dumps({"source": [signals.EVENT_SOURCE]}))
    events.put_targets(
        Rule="siem", Targets=[{"Id": "q", "Arn": queue_arn["Attributes"]["QueueArn"]}]
    )
    iam.create_user(UserName="bob")
    access = iam.create_access_key(UserName="bob")["AccessKey"]
    bob = Person(handle, access["AccessKeyId"], access["SecretAccessKey"])

    since = datetime.now(tz=UTC).isoformat()
    admin_key, bob_key = ForgedKey(), ForgedKey()
    admin.register(admin_key)
    bob.register(bob_key)
    assert admin.sign_in(admin_key) == 200
    assert bob.sign_in(bob_key) == 200
    clone = ForgedKey(
        credential_id=bob_key.credential_id,
        private_key=bob_key.private_key,
        user_handle=bob_key.user_handle,
    )
    assert bob.sign_in(clone, counter=1) == 401  # bob's key repeats its counter: a clone
    until = datetime.now(tz=UTC).isoformat()  # the queries below are events too
    window = ("--since", since, "--until", until)

    code, out, err = cli(handle, admin, tmp_path, *window, "--format", "json")
    assert code == 0, err
    seen = [(e["user"], e["kind"], e["outcome"]) for e in json.loads(out)["events"]]
    assert seen == [
        ("bob", "authenticate", "refused"),
        ("bob", "authenticate", "ok"),
        (demo["userName"], "authenticate", "ok"),
        ("bob", "register", "ok"),
        (demo["userName"], "register", "ok"),
    ]

    code, out, err = cli(
        handle, admin, tmp_path, *window, "--user", "bob", "--outcome", "refused",
        "--format", "csv",
    )  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["user"], r["reason"]) for r in rows] == [("bob", "counter-regression")]

    code, out, err = cli(handle, admin, tmp_path, *window, "--kind", "register")
    lines = out.strip().splitlines()
    assert lines[0].split()[:4] == ["TIME", "USER", "KIND", "OUTCOME"]
    assert sorted(line.split()[1] for line in lines[1:]) == sorted(["bob", demo["userName"]])

    # Bob reads his own; asking for the admin's is 403 (one line, non-zero exit).
    code, out, err = cli(handle, bob, tmp_path, *window, "--format", "json")
    assert {e["user"] for e in json.loads(out)["events"]} == {"bob"}
    code, out, err = cli(handle, bob, tmp_path, "--user", demo["userName"])
    assert code != 0 and out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith("tapgate: ") and "403" in line

    # Local mode put the events on moto's EventBridge (and logged a line for each).
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    heard = sorted((m["detail-type"], m["detail"]["user"]) for m in map(_body, messages))
    assert heard == sorted(
        [
            ("Credential Registered", demo["userName"]),
            ("Credential Registered", "bob"),
            ("Ceremony Refused", "bob"),
            ("Counter Regression", "bob"),
        ]
    )


def _body(message: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(message["Body"]))
