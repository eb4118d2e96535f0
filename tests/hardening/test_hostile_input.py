"""Hostile input, table-driven: every route, one malformed thing per case.

Each request starts from a correct one (an open ceremony with a valid answer
prepared in ``world``) and breaks exactly one thing; test_hostile_controls.py
shows the unbroken requests succeed. It must get a 4xx
problem+json whose ``status`` matches, with nothing internal in it, and every
table must be byte-for-byte what it was before.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fido2.utils import websafe_decode, websafe_encode

from tests.hardening.conftest import GATED_ROLE, World, snapshot
from tests.support.broker_harness import ORIGIN, api_event
from tests.support.forge import ForgedKey, hostile_keys

MiB = 1024 * 1024
OTHER_ROLE = "arn:aws:iam::123456789012:role/not-gated"


@dataclass
class Request:
    method: str
    path: str
    body: Any = None
    raw: str | None = None
    content_type: str | None = "application/json"
    signed: bool = True
    base64_body: bool = False
    extra_headers: dict[str, str] | None = None
    user_arn: str | None = None


def send(world: World, request: Request) -> dict[str, Any]:
    event = api_event(
        request.method,
        request.path,
        body=request.body,
        raw_body=request.raw,
        user_arn=(request.user_arn or world.user_arn) if request.signed else None,
    )
    headers = dict(event["headers"])
    if request.content_type is None:
        headers.pop("Content-Type")
    else:
        headers["Content-Type"] = request.content_type
    headers.update(request.extra_headers or {})
    event["headers"] = headers
    event["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
    event["isBase64Encoded"] = request.base64_body
    result: dict[str, Any] = world.harness.app.resolve(event, None)
    return result


# -- request builders: a correct request with one thing changed -------------------------


def put(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``document`` with the dotted ``path`` set (or removed for DELETE)."""
    changed = copy.deepcopy(document)
    *parents, leaf = path.split(".")
    node = changed
    for name in parents:
        node = node[name]
    if value is DELETE:
        del node[leaf]
    else:
        node[leaf] = value
    return changed


DELETE = object()


def reg_verify(w: World, path: str = "", value: Any = None) -> Request:
    body = {
        "ceremonyId": w.registration_ceremony,
        "credential": w.registration,
        "stepUp": w.step_up,
    }
    return Request("POST", "/registration/verify", put(body, path, value) if path else body)


def auth_verify(w: World, path: str = "", value: Any = None) -> Request:
    body = {"ceremonyId": w.auth_ceremony, "credential": w.assertion, "roleArn": GATED_ROLE}
    return Request("POST", "/authentication/verify", put(body, path, value) if path else body)


def revoke(w: World, path: str = "", value: Any = None, *, cred: str | None = None) -> Request:
    body = {"ceremonyId": w.manage_ceremony, "credential": w.manage_assertion}
    target = w.credential_id if cred is None else cred
    return Request("DELETE", f"/credentials/{target}", put(body, path, value) if path else body)


def enroll_verify(w: World, path: str = "", value: Any = None) -> Request:
    body = {"ceremonyId": w.enrollment_ceremony, "credential": w.enrollment_registration}
    return Request(
        "POST",
        "/enrollment/verify",
        put(body, path, value) if path else body,
        signed=False,
        extra_headers={"Authorization": f"Bearer {w.enrollment_token}"},
    )


def enroll_options(w: World, body: Any = None, *, authorization: str | None = None) -> Request:
    return Request(
        "POST",
        "/enrollment/options",
        body if body is not None else {},
        signed=False,
        extra_headers={"Authorization": authorization or f"Bearer {w.enrollment_token}"},
    )


def passkey_verify(w: World, path: str = "", value: Any = None) -> Request:
    body = {
        "ceremonyId": w.passkey_ceremony,
        "credential": w.passkey_assertion,
        "roleArn": GATED_ROLE,
        "console": False,
    }
    return Request(
        "POST", "/passkey/verify", put(body, path, value) if path else body, signed=False
    )


def passkey_list(w: World, path: str = "", value: Any = None) -> Request:
    body = {"ceremonyId": w.passkey_manage_ceremony, "credential": w.passkey_manage_assertion}
    return Request(
        "POST", "/passkey/credentials/list", put(body, path, value) if path else body, signed=False
    )


def passkey_delete(
    w: World, path: str = "", value: Any = None, *, cred: str | None = None
) -> Request:
    body = {"ceremonyId": w.passkey_manage_ceremony, "credential": w.passkey_manage_assertion}
    target = w.credential_id if cred is None else cred
    return Request(
        "DELETE",
        f"/passkey/credentials/{target}",
        put(body, path, value) if path else body,
        signed=False,
    )


def one_char_off(token: str) -> str:
    """The token with its last character changed (to a different one, always)."""
    return token[:-1] + ("B" if token.endswith("A") else "A")


def b64(raw: bytes) -> str:
    return websafe_encode(raw)


def auth_data_of(w: World) -> bytes:
    return websafe_decode(w.assertion["response"]["authenticatorData"])


def cbor_nested_arrays(depth: int) -> bytes:
    return b"\x81" * depth + b"\x00"


def attestation_with(auth_data: bytes) -> str:
    # {"fmt": "none", "attStmt": {}, "authData": <bytes>} in canonical CBOR, by hand.
    head = b"\xa3" + b"\x63fmt" + b"\x64none" + b"\x67attStmt" + b"\xa0" + b"\x68authData"
    if len(auth_data) < 256:
        return b64(head + b"\x58" + bytes([len(auth_data)]) + auth_data)
    return b64(head + b"\x59" + len(auth_data).to_bytes(2, "big") + auth_data)


def registration_auth_data(w: World) -> bytes:
    from fido2.webauthn import AttestationObject  # noqa: PLC0415

    raw = websafe_decode(w.registration["response"]["attestationObject"])
    return bytes(AttestationObject(raw).auth_data)


def reg_with(w: World, key: ForgedKey) -> Request:
    """The world's second-key registration, answered by ``key`` instead of the good one."""
    return reg_verify(w, "credential", key.register(w.registration_options, ORIGIN))


def enroll_with(w: World, key: ForgedKey) -> Request:
    return enroll_verify(w, "credential", key.register(w.enrollment_options, ORIGIN))


def raw_id_of(request: Request, raw: bytes) -> Request:
    """``request`` with the credential's id and rawId both set to ``raw``."""
    encoded = b64(raw)
    request.body = put(put(request.body, "credential.rawId", encoded), "credential.id", encoded)
    return request


Case = tuple[str, Callable[[World], Request], int]

# A registration with a key tapgate does not accept: 400, before any AWS call (finding 3).
KEY_CASES: list[Case] = [
    *(
        (f"regver-key-{name}", lambda w, key=key: reg_with(w, key()), 400)
        for name, key in hostile_keys().items()
    ),
    ("enrollver-key-es256k", lambda w: enroll_with(w, hostile_keys()["es256k"]()), 400),
    ("enrollver-key-off-curve", lambda w: enroll_with(w, hostile_keys()["off-curve"]()), 400),
]
# Credential ids that do not fit DynamoDB's key limit, or are empty (finding 5).
ID_CASES: list[Case] = [
    ("regver-credential-id-empty", lambda w: reg_with(w, ForgedKey(credential_id=b"")), 400),
    ("regver-credential-id-769", lambda w: reg_with(w, ForgedKey(credential_id=b"i" * 769)), 400),
    (
        "regver-raw-id-differs",
        lambda w: reg_with(w, ForgedKey(credential_id=b"i" * 32, raw_id=b"j" * 32)),
        400,
    ),
    (
        "enrollver-credential-id-769",
        lambda w: enroll_with(w, ForgedKey(credential_id=b"i" * 769)),
        400,
    ),
    ("authver-raw-id-empty", lambda w: raw_id_of(auth_verify(w), b""), 400),
    ("authver-raw-id-769", lambda w: raw_id_of(auth_verify(w), b"r" * 769), 400),
    ("regver-step-up-raw-id-empty", lambda w: raw_id_of_step_up(reg_verify(w), b""), 400),
    ("passkeyver-raw-id-empty", lambda w: raw_id_of(passkey_verify(w), b""), 400),
    ("passkeyver-raw-id-769", lambda w: raw_id_of(passkey_verify(w), b"r" * 769), 400),
    ("passkeylist-raw-id-empty", lambda w: raw_id_of(passkey_list(w), b""), 400),
    ("passkeydel-raw-id-empty", lambda w: raw_id_of(passkey_delete(w), b""), 400),
    ("revoke-raw-id-empty", lambda w: raw_id_of(revoke(w), b""), 400),
    ("revoke-path-id-769", lambda w: revoke(w, cred=b64(b"c" * 769)), 400),
    ("passkeydel-path-id-769", lambda w: passkey_delete(w, cred=b64(b"c" * 769)), 400),
]


def raw_id_of_step_up(request: Request, raw: bytes) -> Request:
    encoded = b64(raw)
    request.body = put(put(request.body, "stepUp.rawId", encoded), "stepUp.id", encoded)
    return request


CASES: list[Case] = [
    # POST /registration/options ------------------------------------------------------
    (
        "regopt-text-plain",
        lambda w: Request(
            "POST", "/registration/options", {"nickname": "a"}, content_type="text/plain"
        ),
        415,
    ),
    (
        "regopt-no-content-type",
        lambda w: Request("POST", "/registration/options", {"a": 1}, content_type=None),
        415,
    ),
    ("regopt-array-body", lambda w: Request("POST", "/registration/options", ["nickname"]), 400),
    ("regopt-json-null", lambda w: Request("POST", "/registration/options", raw="null"), 400),
    (
        "regopt-nickname-int",
        lambda w: Request("POST", "/registration/options", {"nickname": 7}),
        400,
    ),
    (
        "regopt-nickname-10k",
        lambda w: Request("POST", "/registration/options", {"nickname": "k" * 10_000}),
        400,
    ),
    (
        "regopt-nickname-rtl-override",
        lambda w: Request("POST", "/registration/options", {"nickname": "key\u202egnp.exe"}),
        400,
    ),
    (
        "regopt-nickname-nul",
        lambda w: Request("POST", "/registration/options", {"nickname": "yubi\u0000key"}),
        400,
    ),
    (
        "regopt-nickname-zero-width",
        lambda w: Request("POST", "/registration/options", {"nickname": "yubi\u200dkey"}),
        400,
    ),
    (
        "regopt-nickname-lone-surrogate",
        lambda w: Request("POST", "/registration/options", raw='{"nickname": "a\\ud800b"}'),
        400,
    ),
    (
        "regopt-duplicate-keys",
        lambda w: Request(
            "POST", "/registration/options", raw='{"nickname": "a", "nickname": "b"}'
        ),
        400,
    ),
    (
        "regopt-nan",
        lambda w: Request("POST", "/registration/options", raw='{"nickname": NaN}'),
        400,
    ),
    (
        "regopt-1mib-body",
        lambda w: Request("POST", "/registration/options", {"nickname": "x" * MiB}),
        413,
    ),
    (
        "regopt-deep-nesting",
        lambda w: Request("POST", "/registration/options", raw='{"a":' * 5000 + "1" + "}" * 5000),
        400,
    ),
    (
        "regopt-bom",
        lambda w: Request("POST", "/registration/options", raw='\ufeff{"nickname": "a"}'),
        400,
    ),
    (
        "regopt-invalid-utf8",
        lambda w: Request(
            "POST",
            "/registration/options",
            raw=base64.b64encode(b'{"nickname": "\xff\xfe"}').decode(),
            base64_body=True,
        ),
        400,
    ),
    (
        "regopt-utf16",
        lambda w: Request(
            "POST",
            "/registration/options",
            raw=base64.b64encode('{"nickname": "a"}'.encode("utf-16")).decode(),
            content_type="application/json; charset=utf-16",
            base64_body=True,
        ),
        400,
    ),
    ("regopt-unsigned", lambda w: Request("POST", "/registration/options", {}, signed=False), 403),
    (
        "regopt-root-principal",
        lambda w: Request(
            "POST", "/registration/options", {}, user_arn="arn:aws:iam::123456789012:root"
        ),
        403,
    ),
    (
        "regopt-arn-with-newline",
        lambda w: Request(
            "POST",
            "/registration/options",
            {},
            user_arn="arn:aws:iam::123456789012:user/alice\nadmin",
        ),
        403,
    ),
    # POST /registration/verify -----------------------------------------------------
    ("regver-no-ceremony", lambda w: reg_verify(w, "ceremonyId", DELETE), 400),
    (
        "regver-ceremony-traversal",
        lambda w: reg_verify(w, "ceremonyId", "../../../../etc/passwd"),
        400,
    ),
    ("regver-ceremony-int", lambda w: reg_verify(w, "ceremonyId", 12345678901234567890), 400),
    (
        "regver-ceremony-crlf",
        lambda w: reg_verify(w, "ceremonyId", w.registration_ceremony + "\r\nX-Injected: 1"),
        400,
    ),
    ("regver-credential-string", lambda w: reg_verify(w, "credential", "public-key"), 400),
    (
        "regver-client-data-truncated",
        lambda w: reg_verify(
            w,
            "credential.response.clientDataJSON",
            w.registration["response"]["clientDataJSON"][:-7],
        ),
        400,
    ),
    (
        "regver-client-data-not-json",
        lambda w: reg_verify(w, "credential.response.clientDataJSON", b64(b"<xml/>")),
        400,
    ),
    (
        "regver-client-data-deep",
        lambda w: reg_verify(
            w, "credential.response.clientDataJSON", b64(b"[" * 20_000 + b"]" * 20_000)
        ),
        400,
    ),
    (
        "regver-attestation-garbage-40k",
        lambda w: reg_verify(w, "credential.response.attestationObject", "A" * 40_000),
        400,
    ),
    (
        "regver-attestation-cbor-bomb",
        lambda w: reg_verify(
            w, "credential.response.attestationObject", b64(cbor_nested_arrays(30_000))
        ),
        400,
    ),
    (
        "regver-attestation-huge-length",
        lambda w: reg_verify(
            w,
            "credential.response.attestationObject",
            b64(b"\xa1\x68authData\x5b" + (2**63).to_bytes(8, "big") + b"\x00" * 8),
        ),
        400,
    ),
    (
        "regver-attestation-huge-int",
        lambda w: reg_verify(
            w,
            "credential.response.attestationObject",
            b64(b"\xa3\x63fmt\x1b\xff\xff\xff\xff\xff\xff\xff\xff\x67attStmt\xa0\x68authData\x40"),
        ),
        400,
    ),
    (
        "regver-authdata-no-credential",
        lambda w: reg_verify(
            w,
            "credential.response.attestationObject",
            attestation_with(registration_auth_data(w)[:37]),
        ),
        400,
    ),
    (
        "regver-authdata-cut-in-key",
        lambda w: reg_verify(
            w,
            "credential.response.attestationObject",
            attestation_with(registration_auth_data(w)[:90]),
        ),
        400,
    ),
    ("regver-type-password", lambda w: reg_verify(w, "credential.type", "password"), 400),
    (
        "regver-transports-object",
        lambda w: reg_verify(w, "credential.response.transports", {"usb": True}),
        400,
    ),
    ("regver-step-up-list", lambda w: reg_verify(w, "stepUp", [w.step_up]), 400),
    (
        "regver-step-up-bad-authdata",
        lambda w: reg_verify(w, "stepUp.response.authenticatorData", b64(b"\x00" * 10)),
        400,
    ),
    ("regver-nickname-bidi", lambda w: put_nickname(reg_verify(w), "\u2066admin\u2069"), 400),
    # POST /authentication/options ---------------------------------------------------
    (
        "authopt-role-not-arn",
        lambda w: Request("POST", "/authentication/options", {"roleArn": "admin"}),
        400,
    ),
    (
        "authopt-role-10k",
        lambda w: Request(
            "POST",
            "/authentication/options",
            {"roleArn": "arn:aws:iam::123456789012:role/" + "r" * 10_000},
        ),
        400,
    ),
    (
        "authopt-role-list",
        lambda w: Request("POST", "/authentication/options", {"roleArn": [GATED_ROLE]}),
        400,
    ),
    (
        "authopt-role-not-gated",
        lambda w: Request("POST", "/authentication/options", {"roleArn": OTHER_ROLE}),
        403,
    ),
    (
        "authopt-purpose-unknown",
        lambda w: Request("POST", "/authentication/options", {"purpose": "admin"}),
        400,
    ),
    (
        "authopt-purpose-int",
        lambda w: Request("POST", "/authentication/options", {"purpose": 1}),
        400,
    ),
    (
        # not read as absent: the OpenAPI document's purpose is one of two words or null
        "authopt-purpose-empty",
        lambda w: Request("POST", "/authentication/options", {"purpose": ""}),
        400,
    ),
    (
        "authopt-unsigned-manage",
        lambda w: Request("POST", "/authentication/options", {"purpose": "manage"}, signed=False),
        403,
    ),
    # POST /authentication/verify -----------------------------------------------------
    ("authver-no-role", lambda w: auth_verify(w, "roleArn", DELETE), 400),
    (
        "authver-role-crlf",
        lambda w: auth_verify(w, "roleArn", GATED_ROLE + "\r\nSet-Cookie: a=b"),
        400,
    ),
    ("authver-duration-huge", lambda w: auth_verify(w, "durationSeconds", 10**30), 400),
    (
        "authver-duration-4301-digits",
        lambda w: Request(
            "POST",
            "/authentication/verify",
            raw=json.dumps(auth_verify(w).body)[:-1] + ', "durationSeconds": ' + "9" * 4301 + "}",
        ),
        400,
    ),
    ("authver-duration-float", lambda w: auth_verify(w, "durationSeconds", 1800.5), 400),
    ("authver-duration-bool", lambda w: auth_verify(w, "durationSeconds", True), 400),
    ("authver-duration-string", lambda w: auth_verify(w, "durationSeconds", "1800"), 400),
    ("authver-duration-negative", lambda w: auth_verify(w, "durationSeconds", -1), 400),
    ("authver-credential-null", lambda w: auth_verify(w, "credential", None), 400),
    (
        "authver-authdata-short",
        lambda w: auth_verify(
            w, "credential.response.authenticatorData", b64(auth_data_of(w)[:36])
        ),
        400,
    ),
    (
        "authver-authdata-ed-without-ext",
        lambda w: auth_verify(
            w,
            "credential.response.authenticatorData",
            b64(auth_data_of(w)[:32] + bytes([auth_data_of(w)[32] | 0x80]) + auth_data_of(w)[33:]),
        ),
        400,
    ),
    (
        "authver-client-data-challenge-int",
        lambda w: auth_verify(
            w,
            "credential.response.clientDataJSON",
            b64(json.dumps({"type": "webauthn.get", "challenge": 5, "origin": "x"}).encode()),
        ),
        400,
    ),
    (
        "authver-client-data-array",
        lambda w: auth_verify(w, "credential.response.clientDataJSON", b64(b"[1, 2, 3]")),
        400,
    ),
    ("authver-raw-id-1e12", lambda w: auth_verify(w, "credential.rawId", 10**12), 400),
    (
        "authver-challenge-1e9",
        lambda w: auth_verify(
            w,
            "credential.response.clientDataJSON",
            b64(json.dumps({"type": "webauthn.get", "challenge": 10**9, "origin": "x"}).encode()),
        ),
        400,
    ),
    ("regver-signature-number", lambda w: reg_verify(w, "stepUp.response.signature", 10**8), 400),
    (
        "regopt-base64-invalid",
        lambda w: Request("POST", "/registration/options", raw="not base64!", base64_body=True),
        400,
    ),
    ("authver-raw-id-int", lambda w: auth_verify(w, "credential.rawId", 42), 400),
    ("authver-response-missing", lambda w: auth_verify(w, "credential.response", DELETE), 400),
    ("authver-ceremony-62-bytes-of-dots", lambda w: auth_verify(w, "ceremonyId", "." * 62), 400),
    (
        "authver-unsigned",
        lambda w: Request("POST", "/authentication/verify", auth_verify(w).body, signed=False),
        403,
    ),
    # DELETE /credentials/{credentialId} --------------------------------------------
    ("revoke-id-traversal", lambda w: revoke(w, cred="..%2F..%2Fadmin"), 400),
    ("revoke-id-padding", lambda w: revoke(w, cred=w.credential_id + "=="), 400),
    ("revoke-id-5000", lambda w: revoke(w, cred="A" * 5000), 400),
    ("revoke-no-body", lambda w: Request("DELETE", f"/credentials/{w.credential_id}", None), 400),
    ("revoke-credential-list", lambda w: revoke(w, "credential", [w.manage_assertion]), 400),
    (
        "revoke-unsigned",
        lambda w: Request(
            "DELETE", f"/credentials/{w.credential_id}", revoke(w).body, signed=False
        ),
        403,
    ),
    # GET routes ------------------------------------------------------------------------
    ("credentials-unsigned", lambda w: Request("GET", "/credentials", signed=False), 403),
    ("roles-unsigned", lambda w: Request("GET", "/roles", signed=False), 403),
    (
        "credentials-federated-bad-arn",
        lambda w: Request(
            "GET", "/credentials", user_arn="arn:aws:sts::123456789012:federated-user/" + "x" * 200
        ),
        403,
    ),
    ("unknown-route-traversal", lambda w: Request("GET", "/../../credentials"), 404),
    # POST /enrollments ------------------------------------------------------------------
    ("enrollments-unsigned", lambda w: Request("POST", "/enrollments", {}, signed=False), 403),
    (
        "enrollments-user-traversal",
        lambda w: Request("POST", "/enrollments", {"userName": "../../bob"}),
        400,
    ),
    (
        "enrollments-user-homoglyph",
        lambda w: Request("POST", "/enrollments", {"userName": "\u0430lice"}),
        400,
    ),
    (
        "enrollments-user-list",
        lambda w: Request("POST", "/enrollments", {"userName": ["bob"]}),
        400,
    ),
    (
        "enrollments-for-someone-else",
        lambda w: Request("POST", "/enrollments", {"userName": "bob"}),
        403,
    ),
    # POST /enrollment/options and /enrollment/verify ---------------------------------------
    (
        "enrollopt-basic-auth",
        lambda w: enroll_options(w, authorization="Basic Ym9iOnB3"),
        401,
    ),
    (
        "enrollopt-token-with-crlf",
        lambda w: enroll_options(w, authorization=f"Bearer {w.enrollment_token}\r\nX-A: b"),
        401,
    ),
    (
        "enrollopt-token-one-char-off",
        lambda w: enroll_options(w, authorization=f"Bearer {one_char_off(w.enrollment_token)}"),
        401,
    ),
    (
        "enrollopt-nickname-bidi",
        lambda w: enroll_options(w, {"nickname": "\u2067evil\u2069"}),
        400,
    ),
    (
        "enrollopt-sigv4-not-a-token",
        lambda w: enroll_options(w, authorization="AWS4-HMAC-SHA256 Credential=AKIA/x"),
        401,
    ),
    ("enrollver-credential-string", lambda w: enroll_verify(w, "credential", "x"), 400),
    ("enrollver-ceremony-missing", lambda w: enroll_verify(w, "ceremonyId", DELETE), 400),
    (
        "enrollver-attestation-truncated",
        lambda w: enroll_verify(
            w,
            "credential.response.attestationObject",
            w.enrollment_registration["response"]["attestationObject"][:40],
        ),
        400,
    ),
    (
        "enrollver-unknown-ceremony",
        lambda w: enroll_verify(w, "ceremonyId", "A" * 32),
        404,
    ),
    (
        "enrollver-without-token",
        lambda w: Request("POST", "/enrollment/verify", enroll_verify(w).body, signed=False),
        401,
    ),
    # POST /passkey/* and DELETE /passkey/credentials/{credentialId} ---------------------------
    (
        "passkeyopt-purpose-unknown",
        lambda w: Request("POST", "/passkey/options", {"purpose": "admin"}, signed=False),
        400,
    ),
    (
        "passkeyopt-purpose-empty",
        lambda w: Request("POST", "/passkey/options", {"purpose": ""}, signed=False),
        400,
    ),
    (
        "passkeyopt-role-not-gated",
        lambda w: Request("POST", "/passkey/options", {"roleArn": OTHER_ROLE}, signed=False),
        403,
    ),
    ("passkeyver-console-string", lambda w: passkey_verify(w, "console", "true"), 400),
    ("passkeyver-duration-float", lambda w: passkey_verify(w, "durationSeconds", 900.5), 400),
    ("passkeyver-role-missing", lambda w: passkey_verify(w, "roleArn", DELETE), 400),
    (
        "passkeyver-user-handle-int",
        lambda w: passkey_verify(w, "credential.response.userHandle", 7),
        400,
    ),
    ("passkeylist-credential-null", lambda w: passkey_list(w, "credential", None), 400),
    ("passkeylist-ceremony-int", lambda w: passkey_list(w, "ceremonyId", 12345678901234567), 400),
    ("passkeydel-id-traversal", lambda w: passkey_delete(w, cred="..%2F..%2Fbob"), 400),
    ("passkeydel-id-5000", lambda w: passkey_delete(w, cred="A" * 5000), 400),
    # the page's static files ---------------------------------------------------------
    (
        "static-traversal",
        lambda w: Request("GET", "/static/..%2F..%2Fhandler.py", signed=False),
        404,
    ),
    ("static-html", lambda w: Request("GET", "/static/index.html", signed=False), 404),
    *KEY_CASES,
    *ID_CASES,
]


def put_nickname(request: Request, nickname: str) -> Request:
    request.body = {**request.body, "nickname": nickname}
    return request


INTERNAL_MARKERS = (
    "Traceback",
    "tapgate-credentials",
    "tapgate-ceremonies",
    "tapgate-audit",
    "botocore",
    "dynamodb",
    'File "',
    "Exception",
)


def test_the_table_has_at_least_forty_distinct_cases() -> None:
    names = [name for name, _, _ in CASES]
    assert len(names) == len(set(names))
    assert len(names) >= 40


@pytest.mark.parametrize(("name", "build", "status"), CASES, ids=[c[0] for c in CASES])
def test_hostile_request_gets_a_clean_4xx_and_changes_nothing(
    shared_world: World, name: str, build: Callable[[World], Request], status: int
) -> None:
    world = shared_world
    request = build(world)
    before = snapshot(world.harness)
    result = send(world, request)
    text = result.get("body") or ""
    assert result["statusCode"] == status, text
    headers = {**(result.get("headers") or {})}
    for key, values in (result.get("multiValueHeaders") or {}).items():
        headers[key] = values[-1]
    assert headers["Content-Type"] == "application/problem+json"
    problem = json.loads(text)
    assert problem["status"] == status
    assert set(problem) == {"type", "title", "status", "detail"}
    for marker in INTERNAL_MARKERS:
        assert marker.lower() not in text.lower(), marker
    assert "\r" not in json.dumps(headers) and "\n" not in json.dumps(headers)
    assert snapshot(world.harness) == before
