"""schemathesis against `tapgate local`, from the document it serves at
``GET /v1/openapi.json``: property-based requests (valid and invalid) to every operation;
every answer must have a documented status, content type and schema, no input may get a
5xx, and invalid input must be refused with a 4xx.

The SigV4 routes are signed as the CLI signs (botocore's SigV4Auth, service execute-api,
the demo user's keys); the enrollment routes carry a real enrollment token, so requests get
past the token to the body and the ceremony. Bounded: a few examples per operation and
generation mode, no deadline.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
import schemathesis
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tapgate.authenticators.soft import SoftAuthenticator, soft_client
from tapgate.local.server import LocalHandle, start_local
from tapgate_contract import routes as v1
from tapgate_contract.openapi import OPERATIONS, openapi_path
from tapgate_contract.schemas import GATEWAY_MODELS
from tests.browser.local_api import create_enrollment
from tests.support.broker_harness import get_assertion, make_credential

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 15
# Every request passes the per-IP bucket of the open ceremony routes: the run is about the
# answers behind it (429 stays documented, and test_throttling drains the bucket).
OPEN_ROUTE_LIMITS = (1000.0, 100_000)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHandle]:
    """Local mode in this process (stop() puts the environment it set back)."""
    state_file: Path = tmp_path_factory.mktemp("openapi") / "local.json"
    handle = start_local(
        host="localhost", port=0, state_file=state_file, open_route_limits=OPEN_ROUTE_LIMITS
    )
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def api_schema(local: LocalHandle) -> Any:
    return schemathesis.openapi.from_url(local.api_url + v1.OPENAPI_DOCUMENT.url_path)


@pytest.fixture(scope="module")
def enrollment_token(local: LocalHandle) -> str:
    return str(create_enrollment(local.state, "schemathesis")["token"])


class SignedAs(requests.auth.AuthBase):
    """Puts real credentials where schemathesis put its placeholder ``Authorization`` for
    the operation's security scheme: a SigV4 signature (botocore's SigV4Auth, service
    execute-api, as the tapgate CLI signs) or the enrollment token. A request without one
    (a negative case, or schemathesis probing whether auth is enforced) goes unsigned."""

    def __init__(self, state: dict[str, Any], *, bearer: str | None = None) -> None:
        user = state["demoUser"]
        self.credentials = Credentials(user["accessKeyId"], user["secretAccessKey"])
        self.region = state["region"]
        self.bearer = bearer

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if "Authorization" not in request.headers:
            return request
        if self.bearer is not None:
            request.headers["Authorization"] = f"Bearer {self.bearer}"
            return request
        body = request.body or b""
        data = body.encode() if isinstance(body, str) else body
        headers = {k: v for k, v in request.headers.items() if k.lower() == "content-type"}
        signed = AWSRequest(method=request.method, url=request.url, data=data, headers=headers)
        SigV4Auth(self.credentials, "execute-api", self.region).add_auth(signed)
        for name in ("Authorization", "X-Amz-Date"):
            request.headers[name] = signed.headers[name]
        return request


# What is checked of every answer. Not positive_data_acceptance: a schema-valid body may
# still be refused with a documented 400 for what JSON Schema cannot say (a WebAuthn
# response's CBOR and signatures, a nickname's invisible characters).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]


def _negatable(route: v1.Route) -> bool:
    """Whether a request can break the document: a body or credentials to leave out (a path
    parameter can only be a string, and every credentialId route takes a body)."""
    op = OPERATIONS[route]
    return route.auth is v1.Auth.SIGV4 or op.bearer or op.request is not None


CASES = [
    pytest.param(route, mode, id=f"{OPERATIONS[route].operation_id}-{mode.value}")
    for route in v1.ROUTES
    for mode in schemathesis.GenerationMode
    if mode is schemathesis.GenerationMode.POSITIVE or _negatable(route)
]


# Not schemathesis.pytest's parametrize: its lazy schema reads pytest's private Function._nodeid,
# which pytest 9 removed. One test per operation and generation mode, from the route table.
@pytest.mark.parametrize(("route", "mode"), CASES)
def test_every_answer_is_documented_and_no_input_gets_a_5xx(
    route: v1.Route,
    mode: schemathesis.GenerationMode,
    api_schema: Any,
    local: LocalHandle,
    enrollment_token: str,
) -> None:
    operation = api_schema[openapi_path(route)][route.method]
    auth = SignedAs(local.state, bearer=enrollment_token if OPERATIONS[route].bearer else None)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def exchange(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=local.api_url, auth=auth, checks=CHECKS)

    exchange()


def test_the_credentials_put_in_get_past_the_gateway_and_the_token_check(
    local: LocalHandle, enrollment_token: str
) -> None:
    """The run above is only worth something if its signed and Bearer requests reach the
    broker: with the placeholder schemathesis sends, they do; without one, they are refused."""
    placeholder = {"Authorization": "placeholder"}
    signer = SignedAs(local.state)
    url = local.api_url + v1.CREDENTIALS.url_path
    assert requests.get(url, headers=placeholder, auth=signer, timeout=30).status_code == 200
    assert requests.get(url, auth=signer, timeout=30).status_code == 403
    bearer = SignedAs(local.state, bearer=enrollment_token)
    url = local.api_url + v1.ENROLLMENT_OPTIONS.url_path
    answer = requests.post(url, json={}, headers=placeholder, auth=bearer, timeout=30)
    assert answer.status_code == 200, answer.text
    assert requests.post(url, json={}, auth=bearer, timeout=30).status_code == 401


def test_the_run_covers_every_operation_of_the_served_document(local: LocalHandle) -> None:
    served = requests.get(local.api_url + v1.OPENAPI_DOCUMENT.url_path, timeout=30)
    assert served.status_code == 200
    operations = {
        operation["operationId"]
        for item in json.loads(served.text)["paths"].values()
        for operation in item.values()
    }
    assert operations == {op.operation_id for op in OPERATIONS.values()}


class Documented:
    """The served document as a checker of one exchange (what schemathesis cannot reach: the
    answers of ceremonies that succeed, and the bodies real clients send)."""

    def __init__(self, api_url: str, *, signer: SignedAs | None = None) -> None:
        self.api_url = api_url
        self.signer = signer
        self.document = requests.get(api_url + v1.OPENAPI_DOCUMENT.url_path, timeout=30).json()

    def schema(self, name: str) -> dict[str, Any]:
        return {"$ref": f"#/components/schemas/{name}", "components": self.document["components"]}

    def call(
        self,
        route: v1.Route,
        body: dict[str, Any],
        *,
        bearer: str | None = None,
        path: str | None = None,
    ) -> dict[str, Any]:
        """Send ``body`` (checked against the route's request schema) to the route (at
        ``path``, its parameters filled in), signed when the route is SigV4; check the
        answer's status, media type and schema against the route's operation, return its
        JSON."""
        operation = self.document["paths"][openapi_path(route)][route.method.lower()]
        if "requestBody" in operation:
            request = operation["requestBody"]["content"]["application/json"]["schema"]
            jsonschema.validate(body, {**request, "components": self.document["components"]})
        else:
            assert body == {}, route  # a route that reads no body is sent none
        if route.body_model is not None:  # and API Gateway's model lets it through
            jsonschema.validate(body, GATEWAY_MODELS[route.body_model])
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        auth = None
        if route.auth is v1.Auth.SIGV4:
            assert self.signer is not None, route
            auth, headers = self.signer, {"Authorization": "placeholder"}
        answer = requests.request(
            route.method,
            self.api_url + (path or route.url_path),
            json=body if "requestBody" in operation else None,
            headers=headers,
            auth=auth,
            timeout=30,
        )
        documented = operation["responses"].get(str(answer.status_code))
        assert documented is not None, (route, answer.status_code, answer.text[:300])
        assert 200 <= answer.status_code < 300, (route, answer.status_code, answer.text[:300])
        media = answer.headers["Content-Type"].split(";")[0]
        (schema,) = (c["schema"] for m, c in documented["content"].items() if m == media)
        value: dict[str, Any] = answer.json()
        jsonschema.validate(value, {**schema, "components": self.document["components"]})
        return value


def test_a_whole_enrollment_and_passkey_sign_in_is_the_documents(
    local: LocalHandle, tmp_path: Path
) -> None:
    """Every body of a real enrollment, passkey sign-in and browser sign-in for the CLI (a
    soft key with a PIN, as the page's browser and the CLI would send them) and every
    answer, successes included, match the document."""
    documented = Documented(local.api_url)
    enrollment = create_enrollment(local.state, "openapi-flow")
    jsonschema.validate(enrollment, documented.schema("Enrollment"))
    SoftAuthenticator.create(tmp_path / "key.json", pin="4321")
    client = soft_client(tmp_path / "key.json", local.state["origin"], pin="4321")
    token = enrollment["token"]

    options = documented.call(v1.ENROLLMENT_OPTIONS, {"nickname": "flow"}, bearer=token)
    credential = make_credential(client, options["publicKey"])
    answer = {"ceremonyId": options["ceremonyId"], "credential": credential}
    stored = documented.call(v1.ENROLLMENT_VERIFY, answer, bearer=token)
    assert stored["credential"]["nickname"] == "flow"

    role = local.state["gatedRoles"][0]["arn"]
    options = documented.call(v1.PASSKEY_OPTIONS, {"roleArn": role})
    assertion = get_assertion(client, options["publicKey"])
    answer = {"ceremonyId": options["ceremonyId"], "credential": assertion, "roleArn": role}
    issued = documented.call(v1.PASSKEY_VERIFY, {**answer, "console": True})
    assert issued["SourceIdentity"] == "openapi-flow" and issued["consoleUrl"]

    # The CLI's browser sign-in: the page trades an assertion for a code, the CLI the code
    # and its PKCE verifier for the role's credentials.
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    options = documented.call(v1.PASSKEY_OPTIONS, {"roleArn": role})
    assertion = get_assertion(client, options["publicKey"])
    code = documented.call(
        v1.PASSKEY_CODE,
        {
            "ceremonyId": options["ceremonyId"],
            "credential": assertion,
            "roleArn": role,
            "codeChallenge": challenge.rstrip(b"=").decode(),
            "codeChallengeMethod": "S256",
            "redirectPort": 8123,
        },
    )
    exchange = {"code": code["code"], "codeVerifier": verifier, "redirectPort": 8123}
    issued = documented.call(v1.PASSKEY_TOKEN, exchange)
    assert issued["SourceIdentity"] == "openapi-flow" and issued["RoleArn"] == role

    options = documented.call(v1.PASSKEY_OPTIONS, {"purpose": "manage"})
    assertion = get_assertion(client, options["publicKey"])
    answer = {"ceremonyId": options["ceremonyId"], "credential": assertion}
    listed = documented.call(v1.PASSKEY_CREDENTIALS_LIST, answer)
    assert [c["credentialId"] for c in listed["credentials"]] == [
        stored["credential"]["credentialId"]
    ]


def _enroll(documented: Documented, state: dict[str, Any], user: str, key: Path) -> Any:
    """A soft key (PIN 4321) enrolled for ``user``; its client and stored summary."""
    token = create_enrollment(state, user)["token"]
    SoftAuthenticator.create(key, pin="4321")
    client = soft_client(key, state["origin"], pin="4321")
    options = documented.call(v1.ENROLLMENT_OPTIONS, {}, bearer=token)
    answer = {
        "ceremonyId": options["ceremonyId"],
        "credential": make_credential(client, options["publicKey"]),
    }
    stored = documented.call(v1.ENROLLMENT_VERIFY, answer, bearer=token)
    return client, stored["credential"]


def test_an_admins_revocation_is_the_documents(local: LocalHandle, tmp_path: Path) -> None:
    """The admin's own assertion (POST /v1/admin/options) and a revocation of another
    user's key, signed as the local admin (the demo user): bodies and answers match the
    document, successes included."""
    documented = Documented(local.api_url, signer=SignedAs(local.state))
    admin = local.state["demoUser"]["userName"]
    admin_client, _ = _enroll(documented, local.state, admin, tmp_path / "admin.json")
    _, revoked_key = _enroll(documented, local.state, "openapi-revoked", tmp_path / "user.json")

    users = "/v1/admin/users/openapi-revoked/credentials"
    listed = documented.call(v1.ADMIN_USER_CREDENTIALS, {}, path=users)
    assert [c["credentialId"] for c in listed["credentials"]] == [revoked_key["credentialId"]]
    options = documented.call(v1.ADMIN_OPTIONS, {})
    answer = {
        "ceremonyId": options["ceremonyId"],
        "credential": get_assertion(admin_client, options["publicKey"]),
        "reason": "left the team",
    }
    path = f"{users}/{revoked_key['credentialId']}"
    revoked = documented.call(v1.ADMIN_USER_CREDENTIAL_REVOKE, answer, path=path)
    assert revoked == {"userName": "openapi-revoked", "revoked": [revoked_key["credentialId"]]}
