"""Runtime configuration of the broker, read from environment variables.

The variable names below are the contract between the CDK stack (which sets
them) and the handler (which reads them); tests/infrastructure checks that
both sides agree. Keep this module free of boto3 and fido2 imports.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

from tapgate_broker.core.identity import DEFAULT_IDENTITY_ROLES, IDENTITY_ROLE_ENTRY
from tapgate_broker.core.key_sets import DEFAULT_MAX_KEYS_PER_USER, MAX_KEYS_PER_USER_LIMIT
from tapgate_broker.core.models import RoleConfig, UserVerification

ENV_CREDENTIALS_TABLE = "TAPGATE_CREDENTIALS_TABLE"
ENV_CEREMONIES_TABLE = "TAPGATE_CEREMONIES_TABLE"
ENV_AUDIT_TABLE = "TAPGATE_AUDIT_TABLE"
ENV_RP_ID = "TAPGATE_RP_ID"
ENV_RP_NAME = "TAPGATE_RP_NAME"
ENV_ORIGINS = "TAPGATE_ORIGINS"  # JSON list of allowed origins
# JSON list of {"arn", "name", "maxSessionSeconds", "userVerification", "requireSignCounter"}
ENV_ROLES = "TAPGATE_ROLES"
ENV_CEREMONY_TTL_SECONDS = "TAPGATE_CEREMONY_TTL_SECONDS"
ENV_AUDIT_RETENTION_DAYS = "TAPGATE_AUDIT_RETENTION_DAYS"
ENV_ADMINS = "TAPGATE_ADMINS"  # JSON list of admin user names (enrollment tokens)
ENV_ALLOW_LOCALHOST_HTTP = "TAPGATE_ALLOW_LOCALHOST_HTTP"  # "true" only in local mode
ENV_ENROLLMENT_TTL_SECONDS = "TAPGATE_ENROLLMENT_TTL_SECONDS"  # enrollment token lifetime
ENV_FEDERATION_URL = "TAPGATE_FEDERATION_URL"  # local mode only: the federation stand-in
# JSON list of roles whose sessions are base identities: role ARNs or ARN patterns (* ?)
ENV_IDENTITY_ROLES = "TAPGATE_IDENTITY_ROLES"
ENV_MAX_KEYS_PER_USER = "TAPGATE_MAX_KEYS_PER_USER"  # key cap per user (default 20, 1..100)

ALL_ENV_VARS = (
    ENV_CREDENTIALS_TABLE,
    ENV_CEREMONIES_TABLE,
    ENV_AUDIT_TABLE,
    ENV_RP_ID,
    ENV_RP_NAME,
    ENV_ORIGINS,
    ENV_ROLES,
    ENV_CEREMONY_TTL_SECONDS,
    ENV_AUDIT_RETENTION_DAYS,
    ENV_ADMINS,
    ENV_ALLOW_LOCALHOST_HTTP,
    ENV_ENROLLMENT_TTL_SECONDS,
    ENV_FEDERATION_URL,
    ENV_IDENTITY_ROLES,
    ENV_MAX_KEYS_PER_USER,
)
REQUIRED_ENV_VARS = (
    ENV_CREDENTIALS_TABLE,
    ENV_CEREMONIES_TABLE,
    ENV_AUDIT_TABLE,
    ENV_RP_ID,
    ENV_ORIGINS,
    ENV_ROLES,
)


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
    ceremony_ttl_seconds: int = 300
    audit_retention_days: int = 400
    admins: tuple[str, ...] = ()
    allow_localhost_http: bool = False
    enrollment_ttl_seconds: int = 900
    federation_url: str | None = None
    identity_roles: tuple[str, ...] = DEFAULT_IDENTITY_ROLES
    max_keys_per_user: int = DEFAULT_MAX_KEYS_PER_USER

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        missing = [name for name in REQUIRED_ENV_VARS if not env.get(name)]
        if missing:
            raise SettingsError(f"missing environment variables: {', '.join(missing)}")
        try:
            origins = tuple(str(o) for o in json.loads(env[ENV_ORIGINS]))
            roles = tuple(_role_from_json(r) for r in json.loads(env[ENV_ROLES]))
            admins = tuple(str(a) for a in json.loads(env.get(ENV_ADMINS) or "[]"))
            ttl = int(env.get(ENV_CEREMONY_TTL_SECONDS) or 300)
            retention = int(env.get(ENV_AUDIT_RETENTION_DAYS) or 400)
            enrollment_ttl = int(env.get(ENV_ENROLLMENT_TTL_SECONDS) or 900)
            max_keys = int(env.get(ENV_MAX_KEYS_PER_USER) or DEFAULT_MAX_KEYS_PER_USER)
            raw_identity_roles = env.get(ENV_IDENTITY_ROLES)
            identity_roles = (
                tuple(str(r) for r in json.loads(raw_identity_roles))
                if raw_identity_roles
                else DEFAULT_IDENTITY_ROLES
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise SettingsError(f"invalid broker configuration: {exc}") from exc
        if not origins:
            raise SettingsError(f"{ENV_ORIGINS} lists no origin")
        for entry in identity_roles:
            if not IDENTITY_ROLE_ENTRY.fullmatch(entry):
                raise SettingsError(
                    f"{ENV_IDENTITY_ROLES}: {entry!r} is not a role ARN (or ARN pattern) with "
                    "its path; a role name alone can be matched by a role anyone made"
                )
        if not 1 <= max_keys <= MAX_KEYS_PER_USER_LIMIT:
            raise SettingsError(f"{ENV_MAX_KEYS_PER_USER} must be 1..{MAX_KEYS_PER_USER_LIMIT}")
        return cls(
            credentials_table=env[ENV_CREDENTIALS_TABLE],
            ceremonies_table=env[ENV_CEREMONIES_TABLE],
            audit_table=env[ENV_AUDIT_TABLE],
            rp_id=env[ENV_RP_ID],
            rp_name=env.get(ENV_RP_NAME) or "tapgate",
            origins=origins,
            roles=roles,
            ceremony_ttl_seconds=ttl,
            audit_retention_days=retention,
            admins=admins,
            allow_localhost_http=(env.get(ENV_ALLOW_LOCALHOST_HTTP) or "").lower() == "true",
            enrollment_ttl_seconds=enrollment_ttl,
            federation_url=env.get(ENV_FEDERATION_URL) or None,
            identity_roles=identity_roles,
            max_keys_per_user=max_keys,
        )


def _role_from_json(raw: object) -> RoleConfig:
    if not isinstance(raw, dict):
        raise TypeError("each role must be an object")
    seconds = int(raw.get("maxSessionSeconds", 3600))
    if not 900 <= seconds <= 3600:
        raise ValueError(f"role {raw.get('arn')}: maxSessionSeconds must be 900..3600")
    require_counter = raw.get("requireSignCounter", False)
    if not isinstance(require_counter, bool):
        raise TypeError(f"role {raw.get('arn')}: requireSignCounter must be true or false")
    return RoleConfig(
        arn=str(raw["arn"]),
        name=str(raw.get("name") or str(raw["arn"]).rsplit("/", 1)[-1]),
        max_session_seconds=seconds,
        user_verification=UserVerification(raw.get("userVerification", "preferred")),
        require_sign_counter=require_counter,
    )
