"""HTTP API v1's bodies as JSON Schema (2020-12, the dialect of OpenAPI 3.1).

What each route takes and answers, written once: the OpenAPI document (``openapi``) puts
them under ``components/schemas``. They describe what the broker accepts, no more and no
less: a field the broker takes as absent when it is ``null`` says ``null`` is allowed, a
limit the broker enforces is the schema's limit, and unknown fields are ignored (so no
schema closes its properties). WebAuthn objects are the W3C Level 3 JSON forms
(``PublicKeyCredential.toJSON()``; binary as base64url without padding), which the broker
verifies itself; the schema names only their outline.
"""

from __future__ import annotations

from typing import Any

from tapgate_contract.identity import USER_NAME_PATTERN
from tapgate_contract.limits import (
    CEREMONY_ID_PATTERN,
    MAX_CREDENTIAL_ID_BYTES,
    MAX_SESSION_SECONDS,
    MIN_SESSION_SECONDS,
    NICKNAME_FIELD_MAX_LENGTH,
    PURPOSES,
    ROLE_ARN_FIELD_PATTERN,
)
from tapgate_contract.routes import CEREMONY_ANSWER

Schema = dict[str, Any]

# A credential id in a path: base64url (4 characters per 3 bytes) of 1 to 768 bytes.
_CREDENTIAL_ID_CHARACTERS = -(-MAX_CREDENTIAL_ID_BYTES * 4 // 3)
CREDENTIAL_ID_PATTERN = f"^[A-Za-z0-9_-]{{2,{_CREDENTIAL_ID_CHARACTERS}}}$"


def ref(name: str) -> Schema:
    """A reference to one of ``SCHEMAS``."""
    return {"$ref": f"#/components/schemas/{name}"}


def _object(required: tuple[str, ...] = (), **properties: Schema) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def _optional(schema: Schema) -> Schema:
    """A field the broker reads as absent when it is ``null``."""
    return {"anyOf": [schema, {"type": "null"}]}


_STRING: Schema = {"type": "string"}
_BASE64URL: Schema = {"type": "string", "pattern": "^[A-Za-z0-9_-]*$", "description": "base64url"}


def _credential(description: str, binary: tuple[str, ...], **more: Schema) -> Schema:
    """A PublicKeyCredential's JSON form: its binary members base64url without padding."""
    return {
        "description": description,
        **_object(
            ("id", "rawId", "type", "response"),
            id=_BASE64URL,
            rawId=_BASE64URL,
            type={"const": "public-key"},
            response=_object(binary, **dict.fromkeys(binary, _BASE64URL), **more),
            authenticatorAttachment=_optional(_STRING),
            clientExtensionResults={"type": "object"},
        ),
    }


_ROLE_ARN: Schema = {"type": "string", "pattern": ROLE_ARN_FIELD_PATTERN}
_NICKNAME: Schema = _optional(
    {
        "type": "string",
        "maxLength": NICKNAME_FIELD_MAX_LENGTH,
        "description": "A name for the key; stored trimmed and NFC-normalized, at most 64 "
        "characters, no control or invisible characters.",
    }
)

SCHEMAS: dict[str, Schema] = {
    "Problem": {
        "description": "An RFC 9457 problem document. Nothing internal (a trace, a table "
        "name) is ever in one; 401s say the same whatever failed.",
        **_object(
            ("type", "title"),
            type={"type": "string", "format": "uri"},
            title=_STRING,
            status={"type": "integer", "minimum": 400, "maximum": 599},
            detail=_STRING,
        ),
    },
    "CeremonyId": {
        "type": "string",
        "pattern": CEREMONY_ID_PATTERN,
        "description": "The ceremonyId an options call answered; single use.",
    },
    "RegistrationResponse": _credential(
        "RegistrationResponseJSON: what navigator.credentials.create() answers, .toJSON().",
        ("clientDataJSON", "attestationObject"),
        transports={"type": "array", "items": _STRING},
    ),
    "AuthenticationResponse": _credential(
        "AuthenticationResponseJSON: what navigator.credentials.get() answers, .toJSON().",
        ("clientDataJSON", "authenticatorData", "signature"),
        userHandle=_optional(_BASE64URL),
    ),
    "CreationOptions": {
        "description": "PublicKeyCredentialCreationOptionsJSON for navigator.credentials."
        "create() (or python-fido2's Fido2Client.make_credential).",
        **_object(
            ("rp", "user", "challenge", "pubKeyCredParams"),
            rp={"type": "object"},
            user={"type": "object"},
            challenge=_STRING,
            pubKeyCredParams={"type": "array", "items": {"type": "object"}},
        ),
    },
    "RequestOptions": {
        "description": "PublicKeyCredentialRequestOptionsJSON for navigator.credentials.get().",
        **_object(("challenge",), challenge=_STRING, rpId=_STRING),
    },
    "CredentialSummary": _object(
        (
            "credentialId",
            "nickname",
            "aaguid",
            "createdAt",
            "lastUsedAt",
            "signCount",
            "transports",
            "backupEligible",
        ),
        credentialId={"type": "string", "pattern": CREDENTIAL_ID_PATTERN},
        nickname=_STRING,
        aaguid=_STRING,
        createdAt=_STRING,
        lastUsedAt=_optional(_STRING),
        signCount={"type": "integer", "minimum": 0},
        transports={"type": "array", "items": _STRING},
        backupEligible={"type": "boolean"},
    ),
    "IssuedCredentials": {
        "description": "AWS CLI credential_process JSON, plus the role and SourceIdentity.",
        **_object(
            (
                "Version",
                "AccessKeyId",
                "SecretAccessKey",
                "SessionToken",
                "Expiration",
                "RoleArn",
                "SourceIdentity",
            ),
            Version={"const": 1},
            AccessKeyId=_STRING,
            SecretAccessKey=_STRING,
            SessionToken=_STRING,
            Expiration={"type": "string", "format": "date-time"},
            RoleArn=_STRING,
            SourceIdentity=_STRING,
        ),
    },
    # --- request bodies ---
    "NicknameRequest": _object(nickname=_NICKNAME),
    "RegistrationAnswer": _object(
        ("ceremonyId", "credential"),
        ceremonyId=ref("CeremonyId"),
        credential=ref("RegistrationResponse"),
        nickname=_NICKNAME,
        stepUp={
            **_optional(ref("AuthenticationResponse")),
            "description": "From one of the caller's keys, answering the options' stepUp.",
        },
    ),
    "EnrollmentAnswer": _object(
        ("ceremonyId", "credential"),
        ceremonyId=ref("CeremonyId"),
        credential=ref("RegistrationResponse"),
        nickname=_NICKNAME,
    ),
    "AuthenticationRequest": _object(
        roleArn=_optional(_ROLE_ARN),
        purpose=_optional({"enum": list(PURPOSES)}),
    ),
    "SignInAnswer": _object(
        ("ceremonyId", "credential", "roleArn"),
        ceremonyId=ref("CeremonyId"),
        credential=ref("AuthenticationResponse"),
        roleArn=_ROLE_ARN,
        durationSeconds=_optional(
            {"type": "integer", "minimum": MIN_SESSION_SECONDS, "maximum": MAX_SESSION_SECONDS}
        ),
    ),
    "PasskeySignInAnswer": {
        "allOf": [
            ref("SignInAnswer"),
            _object(console={"type": "boolean", "description": "Also answer a consoleUrl."}),
        ]
    },
    # The body of the ceremony-answer routes that take nothing more (the others' bodies
    # require these two fields too); API Gateway checks GATEWAY_MODELS' outline of it.
    CEREMONY_ANSWER: _object(
        ("ceremonyId", "credential"),
        ceremonyId=ref("CeremonyId"),
        credential=ref("AuthenticationResponse"),
    ),
    "EnrollmentRequest": _object(
        userName=_optional(
            {
                "type": "string",
                # ASCII: JSON Schema's (ECMA-262) \w is ASCII, as the broker's re.ASCII is
                "pattern": f"^{USER_NAME_PATTERN}$",
                "description": "Whose link: an admin may name anyone, others only themself "
                "(an STS SourceIdentity; not starting with aws:).",
            }
        )
    ),
    # --- answers ---
    "RegistrationOptions": _object(
        ("ceremonyId", "publicKey"),
        ceremonyId=ref("CeremonyId"),
        publicKey=ref("CreationOptions"),
        stepUp={
            **ref("RequestOptions"),
            "description": "When the caller has a key: the step-up the verify must answer.",
        },
    ),
    "EnrollmentOptions": _object(
        ("ceremonyId", "publicKey", "userName"),
        ceremonyId=ref("CeremonyId"),
        publicKey=ref("CreationOptions"),
        userName=_STRING,
    ),
    "AuthenticationOptions": _object(
        ("ceremonyId", "publicKey"),
        ceremonyId=ref("CeremonyId"),
        publicKey=ref("RequestOptions"),
    ),
    "RegisteredKey": _object(("credential",), credential=ref("CredentialSummary")),
    "CredentialList": _object(
        ("credentials",), credentials={"type": "array", "items": ref("CredentialSummary")}
    ),
    "PasskeyCredentialList": _object(
        ("userName", "credentials"),
        userName=_STRING,
        credentials={"type": "array", "items": ref("CredentialSummary")},
    ),
    "PasskeySignIn": {
        "allOf": [
            ref("IssuedCredentials"),
            _object(consoleUrl={"type": "string", "format": "uri"}),
        ]
    },
    "Roles": _object(
        ("roles",),
        roles={
            "type": "array",
            "items": _object(
                ("arn", "maxSessionSeconds", "userVerification"),
                arn=_STRING,
                maxSessionSeconds={"type": "integer"},
                userVerification={"enum": ["required", "preferred", "discouraged"]},
            ),
        },
    ),
    "Enrollment": _object(
        ("token", "url", "expiresAt", "userName"),
        token={"type": "string", "description": "A one-time secret: keep it out of logs."},
        url={"type": "string", "format": "uri"},
        expiresAt={"type": "string", "format": "date-time"},
        userName=_STRING,
    ),
    "Config": _object(
        ("rpId", "roles"),
        rpId=_STRING,
        roles={"type": "array", "items": _object(("arn", "name"), arn=_STRING, name=_STRING)},
    ),
    "OpenApiDocument": _object(("openapi", "info", "paths"), openapi=_STRING),
}

# What API Gateway validates before the Lambda on the routes with a ``body_model`` (JSON
# Schema draft 4, no references; the stack turns it into its model): an outline that every
# body the document describes for those routes satisfies, so the gateway never refuses a
# documented body, and the broker checks the rest.
GATEWAY_MODELS: dict[str, Schema] = {
    CEREMONY_ANSWER: _object(
        ("ceremonyId", "credential"),
        ceremonyId={"type": "string", "pattern": CEREMONY_ID_PATTERN},
        credential={"type": "object"},
    ),
}
