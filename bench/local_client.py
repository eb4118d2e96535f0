"""A minimal SigV4 client for local mode's HTTP API, answering with a forged key.

Benchmark-only: the real CLI is `tapgate`; this keeps the measured loop to
options + verify over HTTP with nothing else in it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.support.forge import ForgedKey


class LocalClient:
    def __init__(self, state: dict[str, Any], key: ForgedKey | None = None) -> None:
        self.state = state
        self.api = state["apiUrl"].rstrip("/")
        user = state["demoUser"]
        self.credentials = Credentials(user["accessKeyId"], user["secretAccessKey"])
        self.region = state["region"]
        self.origin = state["origin"]
        self.role = state["gatedRoles"][0]["arn"]
        self.key = key or ForgedKey()

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        data = json.dumps(body if body is not None else {}).encode()
        request = AWSRequest(
            method=method,
            url=self.api + "/v1" + path,
            data=data,
            headers={"Content-Type": "application/json"},
        )
        SigV4Auth(self.credentials, "execute-api", self.region).add_auth(request)
        prepared = urllib.request.Request(  # noqa: S310  (the local API's http URL)
            request.url, data=data, headers=dict(request.headers.items()), method=method
        )
        try:
            with urllib.request.urlopen(prepared, timeout=30) as reply:  # noqa: S310
                text = reply.read()
                return reply.status, json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def register(self, step_up: ForgedKey | None) -> int:
        status, options = self.call("POST", "/registration/options", {})
        if status != 200:
            return status
        body = {
            "ceremonyId": options["ceremonyId"],
            "credential": self.key.register(options["publicKey"], self.origin),
        }
        if "stepUp" in options and step_up is not None:
            body["stepUp"] = step_up.assertion(options["stepUp"], self.origin)
        status, _ = self.call("POST", "/registration/verify", body)
        return status

    def authenticate(self) -> int:
        status, options = self.call("POST", "/authentication/options", {"roleArn": self.role})
        if status != 200:
            return status
        status, _ = self.call(
            "POST",
            "/authentication/verify",
            {
                "ceremonyId": options["ceremonyId"],
                "credential": self.key.assertion(options["publicKey"], self.origin),
                "roleArn": self.role,
            },
        )
        return status
