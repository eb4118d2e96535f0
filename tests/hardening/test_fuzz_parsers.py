"""Property-based fuzzing of every parser the API exposes.

Four targets, one per parser family the API exposes: request bodies (the body
parser alone, and whole requests through the resolver), WebAuthn JSON
(registration and assertion), clientDataJSON, and authenticator data (an
assertion's authData and the attestation object's CBOR). Each verify-path example answers a fresh
ceremony with a correct response from a forged key and then breaks it, so the
fuzzed bytes reach fido2 and the broker's own checks, not just the JSON gate.

The property: a 2xx, or a 4xx problem document. Never a 500, never any other
exception. The default suite runs each target at a normal size; the
``slow`` variant runs at least 10,000 examples per target.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import pytest
from fido2 import cbor
from fido2.utils import websafe_decode, websafe_encode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tapgate_broker.api import requests
from tapgate_broker.core import webauthn
from tapgate_broker.core.errors import TapgateError
from tapgate_broker.core.models import Ceremony
from tests.support.broker_harness import api_event
from tests.support.fakes import MemoryDeployment
from tests.support.forge import ForgedKey

DEFAULT_EXAMPLES = 300
LONG_EXAMPLES = 10_000
CLIENT_ERRORS = {400, 401, 403, 404, 409, 413, 415}

# -- strategies -----------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=16,
)
cbor_values = st.recursive(
    st.booleans()
    | st.integers(min_value=-(2**64) + 1, max_value=2**64 - 1)
    | st.binary(max_size=80)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=10) | st.integers(-30, 30), inner, max_size=4)
    ),
    max_leaves=16,
)
b64_blobs = st.binary(max_size=300).map(websafe_encode)
replacements = json_values | b64_blobs | st.text(alphabet="ABCabc-_=+/!", max_size=60)


@dataclass(frozen=True)
class ByteEdit:
    """Truncate, overwrite, append: applied to real bytes so most of them still parse."""

    cut: int | None
    overwrite: tuple[tuple[int, int], ...]
    append: bytes

    def apply(self, data: bytes) -> bytes:
        out = bytearray(data[: self.cut] if self.cut is not None else data)
        for index, value in self.overwrite:
            if out:
                out[index % len(out)] = value
        return bytes(out) + self.append


byte_edits = st.builds(
    ByteEdit,
    cut=st.none() | st.integers(0, 200),
    overwrite=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=4).map(tuple),
    append=st.binary(max_size=40),
)


# -- one in-memory deployment for the whole module -------------------------------------


class Target:
    """A deployment where ``alice`` owns a forged key; ``bob`` has none."""

    def __init__(self) -> None:
        self.deployment = MemoryDeployment()
        self.key = ForgedKey()
        options = self.options("POST", "/registration/options", "alice", {})
        reply = self.verify(
            "/registration/verify",
            "alice",
            {
                "ceremonyId": options["ceremonyId"],
                "credential": self.key.register(options["publicKey"], self.deployment.origin),
            },
        )
        assert reply["statusCode"] == 201, reply
        self.sign_in_template = self.template(
            "/authentication/options", "alice", {"roleArn": self.deployment.role_arn}
        )
        self.registration_template = self.template("/registration/options", "bob", {})

    def call(self, method: str, path: str, user: str | None, **kwargs: Any) -> dict[str, Any]:
        arn = f"arn:aws:iam::123456789012:user/{user}" if user else None
        result: dict[str, Any] = self.deployment.app.resolve(
            api_event(method, path, user_arn=arn, **kwargs), None
        )
        return result

    def options(self, method: str, path: str, user: str, body: dict[str, Any]) -> dict[str, Any]:
        reply = self.call(method, path, user, body=body)
        assert reply["statusCode"] == 200, reply
        answer: dict[str, Any] = json.loads(reply["body"])
        return answer

    def verify(self, path: str, user: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.call("POST", path, user, raw_body=json.dumps(body))

    def sign_in(self, mutate: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        ceremony_id, public_key = self.fresh(self.sign_in_template)
        assertion = self.key.assertion(public_key, self.deployment.origin)
        mutate(assertion)
        return self.verify(
            "/authentication/verify",
            "alice",
            {
                "ceremonyId": ceremony_id,
                "credential": assertion,
                "roleArn": self.deployment.role_arn,
            },
        )

    def register_bob(self, mutate: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        credentials = self.deployment.credentials
        for key in [k for k in credentials.items if k[0] == "bob"]:
            del credentials.items[key]  # keep bob key-less: no step-up needed
        ceremony_id, public_key = self.fresh(self.registration_template)
        credential = ForgedKey().register(public_key, self.deployment.origin)
        mutate(credential)
        return self.verify(
            "/registration/verify",
            "bob",
            {"ceremonyId": ceremony_id, "credential": credential},
        )

    def template(
        self, path: str, user: str, body: dict[str, Any]
    ) -> tuple[Ceremony, dict[str, Any]]:
        """One real options call; examples reuse its ceremony with a new id and challenge.

        (An options call costs as much as a verify; this halves the fuzzing time.)
        """
        options = self.options("POST", path, user, body)
        return self.deployment.ceremonies.items[options["ceremonyId"]], options["publicKey"]

    def fresh(self, template: tuple[Ceremony, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
        ceremony, public_key = template
        challenge = websafe_encode(os.urandom(32))
        ceremony_id = secrets.token_urlsafe(24)
        self.deployment.ceremonies.put(
            dataclasses.replace(
                ceremony, ceremony_id=ceremony_id, state={**ceremony.state, "challenge": challenge}
            )
        )
        return ceremony_id, {**public_key, "challenge": challenge}


@pytest.fixture(scope="module")
def target() -> Target:
    return Target()


def assert_clean(reply: dict[str, Any]) -> None:
    status = reply["statusCode"]
    assert status < 300 or status in CLIENT_ERRORS, reply
    if status >= 400:
        problem = json.loads(reply["body"])
        assert problem["status"] == status
        assert set(problem) == {"type", "title", "status", "detail"}


def set_path(document: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = document
    for name in parents:
        node = node[name]
    node[leaf] = value


# -- the properties, one per target ------------------------------------------------------

ASSERTION_PATHS = [
    "id",
    "rawId",
    "type",
    "response",
    "response.clientDataJSON",
    "response.authenticatorData",
    "response.signature",
    "response.userHandle",
    "clientExtensionResults",
    "authenticatorAttachment",
]
REGISTRATION_PATHS = [
    "id",
    "rawId",
    "type",
    "response",
    "response.clientDataJSON",
    "response.attestationObject",
    "response.transports",
    "clientExtensionResults",
]


def request_body(target: Target, case: tuple[bytes | str, str | None]) -> None:
    body, content_type = case
    try:
        value = requests.parse_json_body(body, content_type=content_type)
    except TapgateError as exc:
        assert 400 <= exc.status < 500
    else:
        assert isinstance(value, dict)


request_bodies = st.tuples(
    st.binary(max_size=200)
    | st.text(max_size=200)
    | json_values.map(json.dumps)
    | st.integers(1, 400).map(lambda n: "[" * n + "]" * n),
    st.none()
    | st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain"]),
)


def routes(target: Target, case: tuple[str, str, Any, str | None, bool, str | None]) -> None:
    method, path, body, raw, signed, authorization = case
    user = "alice" if signed else None
    headers = {"Authorization": authorization} if authorization is not None else None
    assert_clean(target.call(method, path, user, body=body, raw_body=raw, headers=headers))


route_requests = st.tuples(
    st.sampled_from(["POST", "GET", "DELETE", "PUT"]),
    st.sampled_from(
        [
            "/registration/options",
            "/registration/verify",
            "/authentication/options",
            "/authentication/verify",
            "/credentials",
            "/roles",
            "/config",
            "/enrollments",
            "/enrollment/options",
            "/enrollment/verify",
            "/passkey/options",
            "/passkey/verify",
            "/passkey/credentials/list",
            "/",
            "/enroll",
        ]
    )
    | st.text(alphabet="abcAB-_.%/=", min_size=1, max_size=60).map(lambda s: "/credentials/" + s)
    | st.text(alphabet="abcAB-_.%/=", min_size=1, max_size=60).map(
        lambda s: "/passkey/credentials/" + s
    )
    | st.text(alphabet="abc-_.%/=", min_size=1, max_size=60).map(lambda s: "/static/" + s),
    st.dictionaries(
        st.sampled_from(
            [
                "ceremonyId",
                "credential",
                "roleArn",
                "nickname",
                "purpose",
                "durationSeconds",
                "stepUp",
                "userName",
                "console",
            ]
        ),
        json_values,
        max_size=5,
    ),
    st.none() | st.text(max_size=80),
    st.booleans(),
    st.none()
    | st.text(max_size=80)
    | st.text(alphabet="abcXYZ019-_", min_size=40, max_size=46).map(lambda t: "Bearer " + t),
)


def assertion_json(target: Target, edit: tuple[str, Any]) -> None:
    path, value = edit
    assert_clean(target.sign_in(lambda a: set_path(a, path, value)))


def registration_json(target: Target, edit: tuple[str, Any]) -> None:
    path, value = edit
    assert_clean(target.register_bob(lambda c: set_path(c, path, value)))


client_data_documents = st.fixed_dictionaries(
    {},
    optional={
        "type": st.just("webauthn.get") | json_values,
        "challenge": st.just("<real>") | json_values,
        "origin": st.just("http://localhost:8080") | json_values,
        "crossOrigin": json_values,
        "topOrigin": json_values,
    },
)


def client_data(target: Target, case: tuple[dict[str, Any] | None, bytes]) -> None:
    document, junk = case

    def mutate(assertion: dict[str, Any]) -> None:
        real = json.loads(websafe_decode(assertion["response"]["clientDataJSON"]))
        if document is None:
            raw = junk
        else:
            doc = {k: (real["challenge"] if v == "<real>" else v) for k, v in document.items()}
            raw = json.dumps(doc).encode()
        assertion["response"]["clientDataJSON"] = websafe_encode(raw)

    assert_clean(target.sign_in(mutate))


def authenticator_data(target: Target, edit: ByteEdit) -> None:
    def mutate(assertion: dict[str, Any]) -> None:
        data = websafe_decode(assertion["response"]["authenticatorData"])
        assertion["response"]["authenticatorData"] = websafe_encode(edit.apply(data))

    assert_clean(target.sign_in(mutate))


def attestation_object(target: Target, case: tuple[ByteEdit, bytes, bool]) -> None:
    edit, replacement, replace_whole = case

    def mutate(credential: dict[str, Any]) -> None:
        raw = websafe_decode(credential["response"]["attestationObject"])
        if replace_whole:
            new = replacement
        else:
            decoded = cast(dict[str, Any], cbor.decode(raw))
            decoded["authData"] = edit.apply(decoded["authData"])
            new = cbor.encode(decoded)
        credential["response"]["attestationObject"] = websafe_encode(new)

    assert_clean(target.register_bob(mutate))


def parse_only(target: Target, case: tuple[str, Any]) -> None:
    """The parsers alone, on arbitrary objects: BadRequestError or a parsed response."""
    kind, value = case
    parse = webauthn.parse_assertion if kind == "assertion" else webauthn.parse_registration
    try:
        parse(value)
    except TapgateError as exc:
        assert exc.status == 400


CHECKS: dict[str, Callable[[Target, Any], None]] = {
    "request-body": request_body,
    "routes": routes,
    "parse-only": parse_only,
    "assertion-json": assertion_json,
    "registration-json": registration_json,
    "client-data": client_data,
    "authenticator-data": authenticator_data,
    "attestation-object": attestation_object,
}


def tagged(check: str, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple[str, Any]]:
    return strategy.map(lambda value: (check, value))


# The four parser families the API exposes; each target mixes the ways to reach it.
TARGETS: dict[str, st.SearchStrategy[tuple[str, Any]]] = {
    "request-bodies": st.one_of(
        tagged("request-body", request_bodies), tagged("routes", route_requests)
    ),
    "webauthn-json": st.one_of(
        tagged(
            "parse-only", st.tuples(st.sampled_from(["assertion", "registration"]), json_values)
        ),
        tagged("assertion-json", st.tuples(st.sampled_from(ASSERTION_PATHS), replacements)),
        tagged("registration-json", st.tuples(st.sampled_from(REGISTRATION_PATHS), replacements)),
    ),
    "client-data": tagged(
        "client-data", st.tuples(st.none() | client_data_documents, st.binary(max_size=120))
    ),
    "authenticator-data": st.one_of(
        tagged("authenticator-data", byte_edits),
        tagged(
            "attestation-object",
            st.tuples(
                byte_edits, cbor_values.map(cbor.encode) | st.binary(max_size=200), st.booleans()
            ),
        ),
    ),
}


def run(target: Target, name: str, examples: int) -> int:
    strategy = TARGETS[name]
    calls = 0

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(strategy)
    def property_holds(case: tuple[str, Any]) -> None:
        nonlocal calls
        calls += 1
        check, value = case
        CHECKS[check](target, value)

    property_holds()
    return calls


@pytest.mark.parametrize("name", TARGETS)
def test_fuzz(target: Target, name: str) -> None:
    assert run(target, name, DEFAULT_EXAMPLES) >= DEFAULT_EXAMPLES


@pytest.mark.slow
@pytest.mark.parametrize("name", TARGETS)
def test_fuzz_long(target: Target, name: str) -> None:
    assert run(target, name, LONG_EXAMPLES) >= LONG_EXAMPLES
