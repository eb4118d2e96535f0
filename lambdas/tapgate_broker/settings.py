"""Runtime configuration of the broker, read from environment variables.

The variable names are the contract's (``tapgate_contract.environment``): the CDK stack and
local mode set them, this module reads them; the defaults are the contract's limits. Keep
this module free of boto3 and fido2 imports.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from tapgate_broker.core.identity import DEFAULT_IDENTITY_ROLES, IDENTITY_ROLE_ENTRY
from tapgate_broker.core.key_sets import DEFAULT_MAX_KEYS_PER_USER, MAX_KEYS_PER_USER_LIMIT
from tapgate_broker.core.models import RoleConfig, UserVerification
from tapgate_contract import environment as env_names
from tapgate_contract import limits
from tapgate_contract.tags import ANY_ASSURANCE, ROLE_ASSURANCE

AAGUID = re.compile(limits.AAGUID_PATTERN, re.ASCII)


class SettingsError(Exception):
    """The environment does not describe a usable broker (a deployment bug)."""


@dataclass(frozen=True)
class Settings:
    credentials_table: str
    ceremonies_table: str
    audit_table: str
    rp_id: str
    rp_name: str
    origins: tuple[str, ...]
    roles: tuple[RoleConfig, ...]
    ceremony_ttl_seconds: int = limits.CEREMONY_TTL_SECONDS
    audit_retention_days: int = limits.AUDIT_RETENTION_DAYS
    admins: tuple[str, ...] = ()
    enrollment_ttl_seconds: int = limits.ENROLLMENT_TTL_SECONDS
    federation_url: str | None = None
    identity_roles: tuple[str, ...] = DEFAULT_IDENTITY_ROLES
    max_keys_per_user: int = DEFAULT_MAX_KEYS_PER_USER
    metadata_bucket: str | None = None  # the verified MDS3 blob's bucket (stack)
    metadata_key: str = env_names.METADATA_OBJECT_KEY
    metadata_root_pem: str | None = None  # None: the FIDO Alliance's root
    metadata_file: str | None = None  # local mode: the blob as a file

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        missing = [name for name in env_names.REQUIRED if not env.get(name)]
        if missing:
            raise SettingsError(f"missing environment variables: {', '.join(missing)}")
        try:
            origins = tuple(str(o) for o in json.loads(env[env_names.ORIGINS]))
            roles = tuple(_role_from_json(r) for r in json.loads(env[env_names.ROLES]))
            admins = tuple(str(a) for a in json.loads(env.get(env_names.ADMINS) or "[]"))
            ttl = _int(env, env_names.CEREMONY_TTL_SECONDS, limits.CEREMONY_TTL_SECONDS)
            retention = _int(env, env_names.AUDIT_RETENTION_DAYS, limits.AUDIT_RETENTION_DAYS)
            enrollment_ttl = _int(
                env, env_names.ENROLLMENT_TTL_SECONDS, limits.ENROLLMENT_TTL_SECONDS
            )
            max_keys = _int(env, env_names.MAX_KEYS_PER_USER, DEFAULT_MAX_KEYS_PER_USER)
            raw_identity_roles = env.get(env_names.IDENTITY_ROLES)
            identity_roles = (
                tuple(str(r) for r in json.loads(raw_identity_roles))
                if raw_identity_roles
                else DEFAULT_IDENTITY_ROLES
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise SettingsError(f"invalid broker configuration: {exc}") from exc
        if not origins:
            raise SettingsError(f"{env_names.ORIGINS} lists no origin")
        for entry in identity_roles:
            if not IDENTITY_ROLE_ENTRY.fullmatch(entry):
                raise SettingsError(
                    f"{env_names.IDENTITY_ROLES}: {entry!r} is not a role ARN (or ARN pattern) "
                    "with its path; a role name alone can be matched by a role anyone made"
                )
        if not 1 <= max_keys <= MAX_KEYS_PER_USER_LIMIT:
            raise SettingsError(
                f"{env_names.MAX_KEYS_PER_USER} must be 1..{MAX_KEYS_PER_USER_LIMIT}"
            )
        return cls(
            credentials_table=env[env_names.CREDENTIALS_TABLE],
            ceremonies_table=env[env_names.CEREMONIES_TABLE],
            audit_table=env[env_names.AUDIT_TABLE],
            rp_id=env[env_names.RP_ID],
            rp_name=env.get(env_names.RP_NAME) or "tapgate",
            origins=origins,
            roles=roles,
            ceremony_ttl_seconds=ttl,
            audit_retention_days=retention,
            admins=admins,
            enrollment_ttl_seconds=enrollment_ttl,
            federation_url=env.get(env_names.FEDERATION_URL) or None,
            identity_roles=identity_roles,
            max_keys_per_user=max_keys,
            metadata_bucket=env.get(env_names.METADATA_BUCKET) or None,
            metadata_key=env.get(env_names.METADATA_KEY) or env_names.METADATA_OBJECT_KEY,
            metadata_root_pem=env.get(env_names.METADATA_ROOT) or None,
            metadata_file=env.get(env_names.METADATA_FILE) or None,
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    return int(env.get(name) or default)


def _role_from_json(raw: object) -> RoleConfig:
    if not isinstance(raw, dict):
        raise TypeError("each role must be an object")
    seconds = int(raw.get("maxSessionSeconds", limits.MAX_SESSION_SECONDS))
    if not limits.MIN_SESSION_SECONDS <= seconds <= limits.MAX_SESSION_SECONDS:
        raise ValueError(
            f"role {raw.get('arn')}: maxSessionSeconds must be "
            f"{limits.MIN_SESSION_SECONDS}..{limits.MAX_SESSION_SECONDS}"
        )
    require_counter = raw.get("requireSignCounter", False)
    if not isinstance(require_counter, bool):
        raise TypeError(f"role {raw.get('arn')}: requireSignCounter must be true or false")
    assurance = raw.get("assurance", ANY_ASSURANCE)
    if assurance not in ROLE_ASSURANCE:
        raise ValueError(f"role {raw.get('arn')}: assurance must be one of {ROLE_ASSURANCE}")
    aaguids = raw.get("aaguids", [])
    if not isinstance(aaguids, list) or not all(
        isinstance(a, str) and AAGUID.fullmatch(a) for a in aaguids
    ):
        raise ValueError(f"role {raw.get('arn')}: aaguids must be a list of AAGUIDs")
    return RoleConfig(
        arn=str(raw["arn"]),
        name=str(raw.get("name") or str(raw["arn"]).rsplit("/", 1)[-1]),
        max_session_seconds=seconds,
        user_verification=UserVerification(raw.get("userVerification", "preferred")),
        require_sign_counter=require_counter,
        assurance=assurance,
        aaguids=tuple(a.lower() for a in aaguids),
    )
