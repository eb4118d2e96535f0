"""`tapgate local --config FILE`: try a real configuration before deploying it.

FILE is JSON with cdk.json's context keys. Local mode uses the ones that apply on one
machine: ``gatedRoles`` (each role is created as the stack creates it, trust policy
included; its permissions are the demo's, as moto has no account's policies), and the FIDO
metadata: ``metadataBlob`` is here a *file path* of an MDS3 blob and ``metadataRoot`` a
*PEM file path* of its trust root (default: the FIDO Alliance's root). The keys that only
mean something in AWS are accepted and ignored (``IGNORED``); any other key is an error.
Paths are relative to FILE's directory. Stdlib only, besides the contract.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tapgate_contract.limits import (
    AAGUID_PATTERN,
    MAX_ROLE_AAGUIDS,
    MAX_SESSION_SECONDS,
    MIN_SESSION_SECONDS,
)
from tapgate_contract.tags import ANY_ASSURANCE, ROLE_ASSURANCE

MAX_CONFIG_BYTES = 256 * 1024
# cdk.json keys that have no meaning on one machine: accepted so a real cdk.json context
# can be passed as it is.
IGNORED = frozenset(
    {
        "rpId",
        "rpName",
        "allowedOrigins",
        "externalRoles",
        "throttling",
        "admins",
        "identityRoles",
        "maxKeysPerUser",
        "kmsKey",
        "snapStart",
        "customDomain",
        "reservedConcurrency",
        "alarms",
        "organizationId",
        "memberAccount",
    }
)
ROLE_KEYS = frozenset(
    {
        "name",
        "allowedSourceIdentities",
        "managedPolicyArns",
        "maxSessionSeconds",
        "userVerification",
        "requireSignCounter",
        "assurance",
        "aaguids",
    }
)
_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
_SOURCE_IDENTITY = re.compile(r"[\w+=,.@*?-]{1,64}", re.ASCII)
_AAGUID = re.compile(AAGUID_PATTERN, re.ASCII)
_USER_VERIFICATION = ("required", "preferred", "discouraged")


class LocalConfigError(ValueError):
    """The file is not a usable configuration; the message names the file and the key."""


@dataclass(frozen=True)
class LocalRoleSpec:
    name: str
    allowed_source_identities: tuple[str, ...]
    max_session_seconds: int = MAX_SESSION_SECONDS
    user_verification: str = "preferred"
    require_sign_counter: bool = False
    assurance: str = ANY_ASSURANCE
    aaguids: tuple[str, ...] = ()


@dataclass(frozen=True)
class LocalConfig:
    gated_roles: tuple[LocalRoleSpec, ...] = ()
    metadata_blob: Path | None = None
    metadata_root: Path | None = None


def load_config(path: Path) -> LocalConfig:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise LocalConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_CONFIG_BYTES:
        raise LocalConfigError(f"{path} is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise LocalConfigError(f"{path} is not JSON: {exc}") from exc
    if isinstance(document, dict) and isinstance(document.get("context"), dict):
        document = document["context"]  # a whole cdk.json
    return parse_config(document, base=path.parent, name=str(path))


def parse_config(document: Any, *, base: Path, name: str = "the configuration") -> LocalConfig:
    def fail(key: str, reason: str) -> LocalConfigError:
        return LocalConfigError(f"{name}: '{key}' {reason}")

    if not isinstance(document, dict):
        raise LocalConfigError(f"{name} must be a JSON object with cdk.json's context keys")
    unknown = sorted(set(document) - IGNORED - {"gatedRoles", "metadataBlob", "metadataRoot"})
    if unknown:
        raise LocalConfigError(f"{name}: unknown keys {unknown}")
    roles_raw = document.get("gatedRoles", [])
    if not isinstance(roles_raw, list):
        raise fail("gatedRoles", "must be a list of role objects")
    roles = tuple(_role(f"gatedRoles[{i}]", r, fail) for i, r in enumerate(roles_raw))
    names = [r.name for r in roles]
    if len(set(names)) != len(names):
        raise fail("gatedRoles", "role names must be unique")
    return LocalConfig(
        gated_roles=roles,
        metadata_blob=_file(document.get("metadataBlob"), "metadataBlob", base, fail),
        metadata_root=_file(document.get("metadataRoot"), "metadataRoot", base, fail),
    )


def _role(key: str, raw: Any, fail: Any) -> LocalRoleSpec:
    if not isinstance(raw, dict):
        raise fail(key, "must be an object {name, allowedSourceIdentities, ...}")
    unknown = sorted(set(raw) - ROLE_KEYS)
    if unknown:
        raise fail(key, f"has unknown keys {unknown}")
    name = raw.get("name")
    if not isinstance(name, str) or not _ROLE_NAME.fullmatch(name):
        raise fail(f"{key}.name", f"must be an IAM role name; got {name!r}")
    identities = raw.get("allowedSourceIdentities")
    if (
        not isinstance(identities, list)
        or not identities
        or not all(isinstance(i, str) and _SOURCE_IDENTITY.fullmatch(i) for i in identities)
        or "*" in identities
    ):
        raise fail(f"{key}.allowedSourceIdentities", "must list user names or patterns (not '*')")
    seconds = raw.get("maxSessionSeconds", MAX_SESSION_SECONDS)
    if not isinstance(seconds, int) or not MIN_SESSION_SECONDS <= seconds <= MAX_SESSION_SECONDS:
        raise fail(
            f"{key}.maxSessionSeconds", f"must be {MIN_SESSION_SECONDS}..{MAX_SESSION_SECONDS}"
        )
    verification = raw.get("userVerification", "preferred")
    if verification not in _USER_VERIFICATION:
        raise fail(f"{key}.userVerification", f"must be one of {list(_USER_VERIFICATION)}")
    counter = raw.get("requireSignCounter", False)
    if not isinstance(counter, bool):
        raise fail(f"{key}.requireSignCounter", "must be true or false")
    assurance = raw.get("assurance", ANY_ASSURANCE)
    if assurance not in ROLE_ASSURANCE:
        raise fail(f"{key}.assurance", f"must be one of {list(ROLE_ASSURANCE)}; got {assurance!r}")
    aaguids = raw.get("aaguids", [])
    if (
        not isinstance(aaguids, list)
        or len(aaguids) > MAX_ROLE_AAGUIDS
        or not all(isinstance(a, str) and _AAGUID.fullmatch(a) for a in aaguids)
    ):
        raise fail(
            f"{key}.aaguids", f"must list at most {MAX_ROLE_AAGUIDS} AAGUIDs (8-4-4-4-12 hex)"
        )
    return LocalRoleSpec(
        name=name,
        allowed_source_identities=tuple(identities),
        max_session_seconds=seconds,
        user_verification=verification,
        require_sign_counter=counter,
        assurance=assurance,
        aaguids=tuple(a.lower() for a in aaguids),
    )


def _file(value: Any, key: str, base: Path, fail: Any) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise fail(key, "must be a file path (in local mode)")
    path = (base / value).resolve()
    if not path.is_file():
        raise fail(key, f"names no file: {path}")
    return path
