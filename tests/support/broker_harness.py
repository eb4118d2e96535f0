"""Drive the real handler app with API Gateway REST proxy events against moto.

A `Harness` is one deployment: moto tables and roles, the Broker wired with
boto3 clients, and helpers that run whole ceremonies through a real
``Fido2Client`` over the project's software CTAP2 device.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from tapgate.authenticators.soft import SoftAuthenticator, soft_client
from tapgate_broker.api.routes import build_app
from tapgate_broker.settings import Settings
from tapgate_broker.wiring import build_broker

REGION = "us-east-1"
ORIGIN = "http://localhost:8080"
ACCOUNT = "123456789012"


def api_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    user_arn: str | None = None,
    caller_id: str | None = None,
    content_type: str = "application/json",
    raw_body: str | None = None,
    source_ip: str = "192.0.2.10",
    headers: dict[str, str] | None = None,
    query: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event; ``query``: each parameter's values, as sent."""
    if raw_body is None and body is not None:
        raw_body = json.dumps(body)
    headers = {"Content-Type": content_type, "User-Agent": "tapgate-tests", **(headers or {})}
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} if query else None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": None,
        "stageVariables": None,
        "body": raw_body,
        "isBase64Encoded": False,
        "requestContext": {
            "stage": "v1",
            "path": "/v1" + path,
            "httpMethod": method,
            "requestId": str(uuid.uuid4()),
            "identity": {
                "sourceIp": source_ip,
                "userAgent": "tapgate-tests",
                "userArn": user_arn,
                # the principal id: AIDA… for an IAM user, AROA…:SESSION for a role session
                "caller": caller_id,
            },
        },
    }


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def problem(self) -> dict[str, Any]:
        assert self.headers.get("Content-Type") == "application/problem+json", self.headers
        assert isinstance(self.body, dict)
        assert self.body["status"] == self.status
        return self.body


@dataclass
class Harness:
    settings: Settings
    session: boto3.session.Session
    tmp: Path
    clock: Any = None
    assume_role_calls: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.broker = build_broker(self.settings, session=self.session, clock=self.clock)
        self.app = build_app(lambda: self.broker)
        # moto ignores tags and SourceIdentity: record what the broker sends.
        sts = self.broker._issuer._client
        sts.meta.events.register(
            "provide-client-params.sts.AssumeRole",
            lambda params, **_: self.assume_role_calls.append(dict(params)),
        )
        self.dynamodb = self.session.client("dynamodb")

    # -- raw HTTP ---------------------------------------------------------------

    def call(self, method: str, path: str, **kwargs: Any) -> Reply:
        result = self.app.resolve(api_event(method, path, **kwargs), None)
        headers = dict(result.get("headers") or {})
        for key, values in (result.get("multiValueHeaders") or {}).items():
            headers[key] = values[-1]
        text = result.get("body") or ""
        # No request in any test answers 5xx, except an AWS dependency that failed (injected
        # by the test): 503 with Retry-After. A 500 is a bug wherever it shows up.
        assert result["statusCode"] < 500 or (
            result["statusCode"] == 503 and "Retry-After" in headers
        ), (method, path, result["statusCode"], text[:300])
        return Reply(result["statusCode"], headers, json.loads(text) if text else None)

    # -- people and keys -----------------------------------------------------------

    def user_arn(self, name: str) -> str:
        return f"arn:aws:iam::{ACCOUNT}:user/{name}"

    def role_session(self, role: str, session: str, *, path: str = "/") -> dict[str, str]:
        """``call`` keywords for a session of ``role`` (made in moto if missing), as API
        Gateway reports it: the session ARN and the principal id ``AROA…:SESSION``."""
        iam = self.session.client("iam")
        try:
            found = iam.get_role(RoleName=role)["Role"]
        except iam.exceptions.NoSuchEntityException:
            trust = {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}
                ],
            }
            found = iam.create_role(
                RoleName=role, Path=path, AssumeRolePolicyDocument=json.dumps(trust)
            )["Role"]
        return {
            "user_arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}",
            "caller_id": f"{found['RoleId']}:{session}",
        }

    def new_key(self, name: str = "key", *, pin: str | None = None) -> Path:
        path = self.tmp / f"{name}-{uuid.uuid4().hex[:6]}.json"
        SoftAuthenticator.create(path, pin=pin)
        return path

    def client(self, key: Path, *, pin: str | None = None, origin: str = ORIGIN) -> Any:
        return soft_client(key, origin, pin=pin)

    # -- whole ceremonies ------------------------------------------------------------

    def register(
        self,
        user: str,
        key: Path,
        *,
        step_up_key: Path | None = None,
        nickname: str | None = None,
        pin: str | None = None,
    ) -> Reply:
        options = self.call(
            "POST",
            "/registration/options",
            body={"nickname": nickname} if nickname else {},
            user_arn=self.user_arn(user),
        )
        assert options.status == 200, options.body
        body: dict[str, Any] = {
            "ceremonyId": options.body["ceremonyId"],
            "credential": make_credential(self.client(key, pin=pin), options.body["publicKey"]),
        }
        if step_up_key is not None:
            body["stepUp"] = get_assertion(self.client(step_up_key), options.body["stepUp"])
        return self.call("POST", "/registration/verify", body=body, user_arn=self.user_arn(user))

    def options(self, user: str, **body: Any) -> Reply:
        return self.call("POST", "/authentication/options", body=body, user_arn=self.user_arn(user))

    def authenticate(
        self, user: str, key: Path, role_arn: str, *, pin: str | None = None, **extra: Any
    ) -> Reply:
        options = self.options(user, roleArn=role_arn)
        assert options.status == 200, options.body
        assertion = get_assertion(self.client(key, pin=pin), options.body["publicKey"])
        return self.call(
            "POST",
            "/authentication/verify",
            body={
                "ceremonyId": options.body["ceremonyId"],
                "credential": assertion,
                "roleArn": role_arn,
                **extra,
            },
            user_arn=self.user_arn(user),
        )

    def table_items(self, table: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in self.dynamodb.get_paginator("scan").paginate(TableName=table):
            items.extend(page["Items"])
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True, default=_hex))

    def key_items(self) -> list[dict[str, Any]]:
        """The credentials table's key items, without the credential-id guards and key-set items."""
        return [
            item
            for item in self.table_items(self.settings.credentials_table)
            if not item["userName"]["S"].startswith("#")
            and not item["credentialId"]["S"].startswith("#")
        ]

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """Every table's contents (test-only scan), to prove a request changed nothing."""
        return {
            name: self.table_items(name)
            for name in (
                self.settings.credentials_table,
                self.settings.ceremonies_table,
                self.settings.audit_table,
            )
        }


def _hex(value: Any) -> str:
    return bytes(value).hex()


def make_credential(client: Any, public_key: dict[str, Any]) -> dict[str, Any]:
    from fido2.webauthn import PublicKeyCredentialCreationOptions  # noqa: PLC0415

    result = client.make_credential(PublicKeyCredentialCreationOptions.from_dict(public_key))
    return dict(result)


def get_assertion(client: Any, public_key: dict[str, Any]) -> dict[str, Any]:
    from fido2.webauthn import PublicKeyCredentialRequestOptions  # noqa: PLC0415

    selection = client.get_assertion(PublicKeyCredentialRequestOptions.from_dict(public_key))
    return dict(selection.get_response(0))
