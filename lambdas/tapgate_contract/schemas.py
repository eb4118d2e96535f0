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

from tapgate_contract import audit_events
from tapgate_contract.identity import USER_NAME_PATTERN
from tapgate_contract.limits import (
    ADMIN_REASON_MAX_LENGTH,
    CEREMONY_ID_PATTERN,
    CODE_CHALLENGE_METHOD,
    CODE_CHALLENGE_PATTERN,
    CODE_PATTERN,
    CODE_VERIFIER_PATTERN,
    LOOPBACK_PORT_MAX,
    LOOPBACK_PORT_MIN,
    MAX_CREDENTIAL_ID_BYTES,
    MAX_SESSION_SECONDS,
    MIN_SESSION_SECONDS,
    NICKNAME_FIELD_MAX_LENGTH,
    PURPOSES,
    REPORT_UNUSED_DAYS_DEFAULT,
    REPORT_UNUSED_DAYS_MAX,
    ROLE_ARN_FIELD_PATTERN,
)
from tapgate_contract.routes import CEREMONY_ANSWER
from tapgate_contract.tags import ASSURANCE_LEVELS, ROLE_ASSURANCE

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

# What a role requires of the key that signs in to it (GET /v1/roles, GET /v1/config).
_ROLE_REQUIREMENT: dict[str, Schema] = {
    "assurance": {
        "enum": list(ROLE_ASSURANCE),
        "description": "The least assurance level a key needs (a weaker key gets 403 "
        "authenticator-not-allowed).",
    },
    "aaguids": {
        "type": "array",
        "items": _STRING,
        "description": "The authenticator models (AAGUIDs) allowed; empty: any.",
    },
}
USER_NAME_SCHEMA: Schema = {
    "type": "string",
    # ASCII: JSON Schema's (ECMA-262) \w is ASCII, as the broker's re.ASCII is
    "pattern": f"^{USER_NAME_PATTERN}$",
}
_USER_KEYS: Schema = _object(
    ("userName", "credentials"),
    userName=_STRING,
    credentials={"type": "array", "items": ref("CredentialSummary")},
)
_REPORT_KEY: Schema = _object(
    ("userName", "credentialId", "nickname", "aaguid", "createdAt", "lastUsedAt"),
    userName=_STRING,
    credentialId=_STRING,
    nickname=_STRING,
    aaguid=_STRING,
    createdAt=_STRING,
    lastUsedAt=_optional(_STRING),
)
# An IAM role ARN as the events route's ``role`` filter takes it (core.principals.ROLE_ARN:
# any path, any name without whitespace; ASCII whitespace, as that re.ASCII pattern means).
_NO_SPACE = r"[^ \t\n\r\f\v]"
_ROLE_FILTER = rf"^arn:aws[a-z-]*:iam::[0-9]{{12}}:role/(?:{_NO_SPACE}+/)?[^/ \t\n\r\f\v]+$"
_PORT: Schema = {
    "type": "integer",
    "minimum": LOOPBACK_PORT_MIN,
    "maximum": LOOPBACK_PORT_MAX,
    "description": "The CLI's loopback listener's port.",
}
_UTC_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?Z$"

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
            "createdAt",
            "lastUsedAt",
            "signCount",
            "transports",
            "backupEligible",
            "assurance",
            "assuranceReason",
            "authenticator",
            "aaguid",
        ),
        credentialId={"type": "string", "pattern": CREDENTIAL_ID_PATTERN},
        nickname=_STRING,
        createdAt=_STRING,
        lastUsedAt=_optional(_STRING),
        signCount={"type": "integer", "minimum": 0},
        transports={"type": "array", "items": _STRING},
        backupEligible={"type": "boolean"},
        assurance={"enum": list(ASSURANCE_LEVELS), "description": "The key's level."},
        assuranceReason={"type": "string", "description": "Why the level is what it is."},
        authenticator={
            **_optional(_STRING),
            "description": "The model's name in the FIDO metadata; null unless attested.",
        },
        aaguid={
            **_optional(_STRING),
            "description": "The model's AAGUID; null unless its attestation verified (what "
            "a client merely claims is not shown).",
        },
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
                **USER_NAME_SCHEMA,
                "description": "Whose link: an admin may name anyone, others only themself "
                "(an STS SourceIdentity; not starting with aws:).",
            }
        )
    ),
    "AdminOptionsRequest": {
        "type": "object",
        "description": "Nothing is read from it: the options are for the admin's own keys.",
    },
    "Revocation": _object(
        ("ceremonyId", "credential", "reason"),
        ceremonyId=ref("CeremonyId"),
        credential={
            **ref("AuthenticationResponse"),
            "description": "From one of the admin's own keys, answering POST /v1/admin/options.",
        },
        reason={
            "type": "string",
            "minLength": 1,
            "maxLength": ADMIN_REASON_MAX_LENGTH,
            "description": "Why, for the audit trail: stored trimmed and NFC-normalized, no "
            "control or invisible characters.",
        },
    ),
    "CodeRequest": {
        "description": "A passkey assertion for the CLI's browser sign-in, and the PKCE "
        "challenge and loopback port the code is bound to (RFC 8252, RFC 7636).",
        **_object(
            (
                "ceremonyId",
                "credential",
                "roleArn",
                "codeChallenge",
                "codeChallengeMethod",
                "redirectPort",
            ),
            ceremonyId=ref("CeremonyId"),
            credential=ref("AuthenticationResponse"),
            roleArn=_ROLE_ARN,
            codeChallenge={"type": "string", "pattern": CODE_CHALLENGE_PATTERN},
            codeChallengeMethod={"const": CODE_CHALLENGE_METHOD},
            redirectPort=_PORT,
        ),
    },
    "CodeExchange": _object(
        ("code", "codeVerifier", "redirectPort"),
        code={"type": "string", "pattern": CODE_PATTERN},
        codeVerifier={"type": "string", "pattern": CODE_VERIFIER_PATTERN},
        redirectPort=_PORT,
        durationSeconds=_optional(
            {"type": "integer", "minimum": MIN_SESSION_SECONDS, "maximum": MAX_SESSION_SECONDS}
        ),
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
    "PasskeyCredentialList": _USER_KEYS,
    "UserCredentialList": _USER_KEYS,
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
                ("arn", "maxSessionSeconds", "userVerification", "assurance", "aaguids"),
                arn=_STRING,
                maxSessionSeconds={"type": "integer"},
                userVerification={"enum": ["required", "preferred", "discouraged"]},
                **_ROLE_REQUIREMENT,
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
        roles={
            "type": "array",
            "items": _object(
                ("arn", "name", "assurance", "aaguids"),
                arn=_STRING,
                name=_STRING,
                **_ROLE_REQUIREMENT,
            ),
        },
    ),
    "Revoked": _object(
        ("userName", "revoked"),
        userName=_STRING,
        revoked={
            "type": "array",
            "items": {"type": "string", "pattern": CREDENTIAL_ID_PATTERN},
            "description": "The credential ids revoked.",
        },
    ),
    "Report": {
        "description": "The key inventory (no key material, no user handles); aaguid is "
        "what the key's registration named.",
        **_object(
            ("generatedAt", "unusedDays", "users", "unusedKeys", "keysByAaguid", "keys"),
            generatedAt=_STRING,
            unusedDays={"type": "integer", "minimum": 1, "maximum": REPORT_UNUSED_DAYS_MAX},
            users={
                "type": "array",
                "items": _object(
                    ("userName", "keyCount"), userName=_STRING, keyCount={"type": "integer"}
                ),
            },
            unusedKeys={"type": "array", "items": _REPORT_KEY},
            keysByAaguid={
                "type": "array",
                "items": _object(
                    ("aaguid", "keyCount"), aaguid=_STRING, keyCount={"type": "integer"}
                ),
            },
            keys={"type": "array", "items": _REPORT_KEY},
        ),
    },
    "Events": _object(
        ("events",),
        events={
            "type": "array",
            "items": _object(
                audit_events.FIELDS,
                **{
                    **dict.fromkeys(audit_events.FIELDS, _STRING),
                    "outcome": {"enum": list(audit_events.OUTCOMES)},
                    "sessionSeconds": _optional({"type": "integer"}),
                    "details": {"type": "object", "additionalProperties": _STRING},
                },
            ),
        },
        next={
            "type": "string",
            "description": "The page token of the next page (send it as next); absent on "
            "the last page.",
        },
    ),
    "SignInCode": _object(
        ("code", "redirectUri", "expiresIn"),
        code={
            "type": "string",
            "pattern": CODE_PATTERN,
            "description": "Single use, for the CLI only: keep it out of logs.",
        },
        redirectUri={"type": "string", "format": "uri"},
        expiresIn={"type": "integer", "minimum": 0},
    ),
    "OpenApiDocument": _object(("openapi", "info", "paths"), openapi=_STRING),
}

# Query parameters, by route: each a JSON Schema of the string the route takes (a number is
# sent as its digits). The events route's are audit_events.QUERY_PARAMETERS.
_STRING_PARAMETER = audit_events.MAX_PARAMETER_LENGTH
EVENT_QUERY: dict[str, Schema] = {
    "user": {
        **USER_NAME_SCHEMA,
        "description": "Whose events (an admin: anyone; another caller: only themself, "
        "which is also the default).",
    },
    "role": {
        "type": "string",
        "maxLength": _STRING_PARAMETER,
        "pattern": _ROLE_FILTER,
        "description": "Only events of this role (an IAM role ARN).",
    },
    "since": {
        "type": "string",
        "pattern": _UTC_TIME,
        "description": "ISO 8601 UTC, like 2026-01-31T08:00:00Z; default: a day before until.",
    },
    "until": {
        "type": "string",
        "pattern": _UTC_TIME,
        "description": "ISO 8601 UTC; default: now.",
    },
    "kind": {
        "type": "string",
        "pattern": audit_events.KIND_PATTERN,
        "description": f"Only events of this kind (e.g. {', '.join(audit_events.KINDS)}).",
    },
    "outcome": {"enum": list(audit_events.OUTCOMES), "description": "Only these outcomes."},
    "limit": {
        "type": "integer",
        "minimum": 1,
        "maximum": audit_events.MAX_PAGE_SIZE,
        "description": f"Events per page; default {audit_events.DEFAULT_PAGE_SIZE}.",
    },
    "next": {
        "type": "string",
        "maxLength": _STRING_PARAMETER,
        "description": "The page token a previous page answered; the other parameters, if "
        "given, must be that query's.",
    },
}
REPORT_QUERY: dict[str, Schema] = {
    "unusedDays": {
        "type": "integer",
        "minimum": 1,
        "maximum": REPORT_UNUSED_DAYS_MAX,
        "description": "A key unused this many days is listed as unused (default "
        f"{REPORT_UNUSED_DAYS_DEFAULT}).",
    },
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
