"""Deployment configuration from CDK context (cdk.json or ``-c key=value``), validated at synth.

Every error names the context key and says why, so a wrong ``cdk.json`` fails fast with a
message an operator can act on. Nothing here makes AWS calls.

It is longer than ~400 lines on purpose: it has one job (CDK context in, one validated
``TapgateConfig`` out) and reads top to bottom as the records, then ``config_from_context``,
then one small validator per context key sharing a few helpers (``_decoded``,
``_string_list``, ``_no_unknown_keys``) and one error style. Split by key, the validators
would need those helpers from a third module and none of the parts would stand alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509

from tapgate_contract.identity import (
    DEFAULT_IDENTITY_ROLES,
    IDENTITY_CENTER_ROLES,
    IDENTITY_ROLE_ENTRY_PATTERN,
    USER_NAME_PATTERN,
)
from tapgate_contract.limits import (
    AAGUID_PATTERN,
    DEFAULT_MAX_KEYS_PER_USER,
    MAX_KEYS_PER_USER_LIMIT,
    MAX_ROLE_AAGUIDS,
    MAX_SESSION_SECONDS,
    MIN_SESSION_SECONDS,
)
from tapgate_contract.tags import ANY_ASSURANCE, ROLE_ASSURANCE

USER_VERIFICATION_VALUES = ("required", "preferred", "discouraged")
_AAGUID = re.compile(AAGUID_PATTERN, re.ASCII)

_HOSTNAME = re.compile(
    r"(?=.{1,253}\Z)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*", re.ASCII
)
_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
# STS SourceIdentity: 2-64 of [\w+=,.@-]; patterns add the StringLike wildcards * and ?.
# Patterns are used with fullmatch (a $ anchor would accept a trailing newline).
_SOURCE_IDENTITY_PATTERN = re.compile(r"[\w+=,.@*?-]{1,64}", re.ASCII)
# A tapgate user name (tapgate_contract.identity): an STS SourceIdentity.
_USER_NAME = re.compile(USER_NAME_PATTERN, re.ASCII)
# Roles whose sessions count as base identities: IAM Identity Center's by default
# (tapgate_contract.identity).
_IDENTITY_ROLE_ENTRY = re.compile(IDENTITY_ROLE_ENTRY_PATTERN, re.ASCII)
_ROLE_NAME_PATTERN = re.compile(r"[\w+=,.@*?-]{1,64}", re.ASCII)
# An admin role: its sessions (any session name) are admins. Paths are allowed; no wildcards.
_ADMIN_ROLE_ARN = re.compile(
    r"arn:aws[-a-z]*:iam::\d{12}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}", re.ASCII
)
_POLICY_ARN = re.compile(r"arn:aws[\w-]*:iam::(aws|\d{12}):policy/[\w+=,.@/-]{1,512}", re.ASCII)
_AWS_MANAGED_POLICY_ARN = re.compile(r"arn:aws[\w-]*:iam::aws:policy/[\w+=,.@/-]{1,512}", re.ASCII)
_POLICY_NAME = re.compile(r"(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,128}", re.ASCII)  # path/name, no ARN
_ROLE_ARN = re.compile(r"arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}", re.ASCII)
_CERTIFICATE_ARN = re.compile(r"arn:aws[\w-]*:acm:[a-z0-9-]+:\d{12}:certificate/[\w-]+", re.ASCII)
# A KMS key by its key ARN (log groups refuse aliases), multi-Region keys included.
_KMS_KEY_ARN = re.compile(
    r"arn:aws[\w-]*:kms:[a-z0-9-]+:\d{12}:key/"
    r"(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})",
    re.ASCII,
)
_SNS_TOPIC_ARN = re.compile(r"arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}", re.ASCII)
_ORGANIZATION_ID = re.compile(r"o-[a-z0-9]{10,32}", re.ASCII)
_ACCOUNT_ID = re.compile(r"\d{12}", re.ASCII)
# ``kmsKey: "create"``: the stack creates (and retains) a customer-managed key.
CREATE_KMS_KEY = "create"


class ConfigError(ValueError):
    """A context value is missing or invalid. The message names the key and the reason."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"cdk.json context '{key}': {reason}")
        self.key = key
        self.reason = reason


@dataclass(frozen=True)
class GatedRoleConfig:
    """A role the stack creates and gates (context ``gatedRoles[i]``)."""

    name: str
    allowed_source_identities: tuple[str, ...]
    managed_policy_arns: tuple[str, ...] = ()
    max_session_seconds: int = MAX_SESSION_SECONDS
    user_verification: str = "preferred"
    require_sign_counter: bool = False  # refuse keys without a signature counter
    assurance: str = ANY_ASSURANCE  # the weakest key level it takes (docs/deploy.md)
    aaguids: tuple[str, ...] = ()  # when set: only attested keys of these models


@dataclass(frozen=True)
class ExternalRoleConfig:
    """A gated role defined elsewhere (a retrofitted role, a GatedRole in another app)."""

    arn: str
    name: str
    max_session_seconds: int = MAX_SESSION_SECONDS
    user_verification: str = "preferred"
    require_sign_counter: bool = False
    # The broker's requirement; the role's own trust policy should say the same
    # (`tapgate audit` checks it).
    assurance: str = ANY_ASSURANCE
    aaguids: tuple[str, ...] = ()


@dataclass(frozen=True)
class CustomDomainConfig:
    domain_name: str
    certificate_arn: str


# AWS WAF's bounds for a rate-based rule's limit (requests per evaluation window).
WAF_MIN_LIMIT = 10
WAF_MAX_LIMIT = 2_000_000_000


@dataclass(frozen=True)
class ThrottlingConfig:
    """API Gateway throttling (all callers together) and WAF per-IP limits (context
    ``throttling``).

    The public POST/DELETE routes (passkey, enrollment token) get a stricter method-level
    rate and a per-IP rule of their own; every request also counts against a looser per-IP
    rule.
    """

    rate_limit: float = 10.0
    burst_limit: int = 20
    public_rate_limit: float = 5.0
    public_burst_limit: int = 10
    public_per_ip_per_5_minutes: int = 100
    all_per_ip_per_5_minutes: int = 2000


DEFAULT_METADATA_BLOB_URL = "https://mds3.fidoalliance.org/"
# The PEM travels in the refresh function's environment (4 KB for all its variables).
MAX_METADATA_ROOT_CHARS = 3000


@dataclass(frozen=True)
class MetadataConfig:
    """FIDO metadata (MDS3) kept fresh in the stack (context ``metadataBlob``/``metadataRoot``).

    ``root_pem`` None: the FIDO Alliance's root, shipped with the Lambda code.
    """

    blob_url: str = DEFAULT_METADATA_BLOB_URL
    root_pem: str | None = None


@dataclass(frozen=True)
class AlarmsConfig:
    """Where alarms notify and when the spike alarms fire (context ``alarms``)."""

    topic_arn: str | None = None
    refused_ceremonies_per_5_minutes: int = 20
    throttled_requests_per_5_minutes: int = 50


ALARMS_KEYS = ("topicArn", "refusedCeremoniesPer5Minutes", "throttledRequestsPer5Minutes")


@dataclass(frozen=True)
class MemberRoleConfig:
    """A gated role the member-account stack creates in every account it is deployed to
    (context ``memberAccount.roles[i]``). Customer-managed policies are named, not given by
    ARN: an ARN names one account, and the stack's template is the same in all of them."""

    name: str
    allowed_source_identities: tuple[str, ...]
    managed_policy_arns: tuple[str, ...] = ()  # AWS managed policies only
    managed_policy_names: tuple[str, ...] = ()  # customer-managed, in each member account
    max_session_seconds: int = MAX_SESSION_SECONDS
    user_verification: str = "preferred"
    assurance: str = ANY_ASSURANCE  # the weakest key level it takes
    aaguids: tuple[str, ...] = ()


@dataclass(frozen=True)
class MemberAccountConfig:
    """The member-account stack's gated roles, and the accounts it is deployed to (context
    ``memberAccount``). The tapgate stack's broker offers each role of each listed account."""

    roles: tuple[MemberRoleConfig, ...]
    accounts: tuple[str, ...] = ()

    def offered_roles(self) -> tuple[tuple[str, MemberRoleConfig, str], ...]:
        """(account, role, display name) for each role in each account."""
        return tuple(
            (account, role, f"{role.name} ({account})")
            for account in self.accounts
            for role in self.roles
        )


@dataclass(frozen=True)
class TapgateConfig:
    rp_id: str
    allowed_origins: tuple[str, ...]
    gated_roles: tuple[GatedRoleConfig, ...] = ()
    external_roles: tuple[ExternalRoleConfig, ...] = ()
    custom_domain: CustomDomainConfig | None = None
    throttling: ThrottlingConfig = ThrottlingConfig()
    admins: tuple[str, ...] = ()
    rp_name: str = "tapgate"
    identity_roles: tuple[str, ...] = DEFAULT_IDENTITY_ROLES
    # None: no metadata refresh is deployed (nothing would use it; see _metadata).
    metadata: MetadataConfig | None = None
    # CREATE_KMS_KEY, a key ARN, or None (the services' AWS owned keys).
    kms_key: str | None = None
    reserved_concurrency: int | None = None
    alarms: AlarmsConfig = AlarmsConfig()
    organization_id: str | None = None
    member_account: MemberAccountConfig | None = None  # None: no member-account stack
    # Lambda SnapStart for the broker (docs/deploy.md: what it costs).
    snap_start: bool = False
    max_keys_per_user: int = DEFAULT_MAX_KEYS_PER_USER


def config_from_context(get: Callable[[str], Any]) -> TapgateConfig:
    """Read and validate every key. ``get`` is ``node.try_get_context`` (or a dict's ``get``).

    Values passed on the command line (``-c gatedRoles='[...]'``) arrive as strings; JSON
    strings are decoded for the structured keys.
    """
    rp_id = _rp_id(get("rpId"))
    custom_domain = _custom_domain(get("customDomain"), rp_id=rp_id)
    default_origin = f"https://{custom_domain.domain_name if custom_domain else rp_id}"
    origins = _origins(get("allowedOrigins"), rp_id=rp_id, default=default_origin)
    gated = _gated_roles(get("gatedRoles"))
    external = _external_roles(get("externalRoles"))
    member_account = _member_account(get("memberAccount"))
    names = [r.name for r in gated] + [r.name for r in external]
    if member_account is not None:
        names += [name for _, _, name in member_account.offered_roles()]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError("gatedRoles", f"role names must be unique; repeated: {duplicates}")
    rp_name = get("rpName")
    if rp_name is not None and (not isinstance(rp_name, str) or not 1 <= len(rp_name) <= 64):
        raise ConfigError("rpName", "must be a string of 1-64 characters")
    return TapgateConfig(
        rp_id=rp_id,
        allowed_origins=origins,
        gated_roles=gated,
        external_roles=external,
        custom_domain=custom_domain,
        throttling=_throttling(get("throttling")),
        admins=_admins(get("admins")),
        rp_name=rp_name or "tapgate",
        identity_roles=_identity_roles(get("identityRoles")),
        metadata=_metadata(
            get("metadataBlob"),
            get("metadataRoot"),
            needed=any(
                r.assurance == "certified" or r.aaguids
                for r in (
                    *gated,
                    *external,
                    *(member_account.roles if member_account is not None else ()),
                )
            ),
        ),
        kms_key=_kms_key(get("kmsKey")),
        reserved_concurrency=_reserved_concurrency(get("reservedConcurrency")),
        alarms=_alarms(get("alarms")),
        organization_id=_organization_id(get("organizationId")),
        member_account=member_account,
        snap_start=_flag("snapStart", get("snapStart")),
        max_keys_per_user=_max_keys_per_user(get("maxKeysPerUser")),
    )


def config_from_mapping(context: Mapping[str, Any]) -> TapgateConfig:
    return config_from_context(context.get)


def _decoded(key: str, value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError as exc:
            raise ConfigError(key, f"is not valid JSON ({exc})") from exc
    return value


def _flag(key: str, value: Any) -> bool:
    """A boolean switch; ``-c key=true`` arrives as a string."""
    if value is None:
        return False
    if value in ("true", "false"):
        return value == "true"
    if not isinstance(value, bool):
        raise ConfigError(key, f"must be true or false; got {value!r}")
    return value


def _rp_id(value: Any) -> str:
    if value is None or value == "":
        raise ConfigError(
            "rpId",
            "is required: the WebAuthn relying-party ID (a domain you control, e.g. "
            "'mfa.example.org'); keys are bound to it for life",
        )
    if not isinstance(value, str) or not _HOSTNAME.fullmatch(value):
        raise ConfigError(
            "rpId", f"must be a lower-case domain name without scheme, port or path; got {value!r}"
        )
    if value.endswith(".amazonaws.com") or value.endswith(".amazonaws.com.cn"):
        raise ConfigError(
            "rpId",
            "must be a domain you control, not a generated AWS hostname: keys registered "
            "against it would be lost with the API",
        )
    return value


# Names reserved for examples and tests (RFC 2606, RFC 6761): never a deployment's own domain.
_EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org", "example", "test", "invalid")


def placeholder_rp_id_warning(rp_id: str) -> str | None:
    """A warning when ``rpId`` is a name reserved for examples, like cdk.json's placeholder:
    every key registered is bound to the RP ID for life, so it must be changed first."""
    if not any(rp_id == name or rp_id.endswith("." + name) for name in _EXAMPLE_DOMAINS):
        return None
    return (
        f"rpId {rp_id!r} is a placeholder (a name reserved for examples). Every security key "
        "registered is bound to the rpId for life: set rpId (and allowedOrigins) in cdk.json "
        "to a domain you control before anyone registers a key."
    )


def _within_rp_id(host: str, rp_id: str) -> bool:
    return host == rp_id or host.endswith("." + rp_id)


def _custom_domain(value: Any, *, rp_id: str) -> CustomDomainConfig | None:
    value = _decoded("customDomain", value)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConfigError("customDomain", "must be an object {domainName, certificateArn}")
    domain = value.get("domainName")
    cert = value.get("certificateArn")
    if not isinstance(domain, str) or not _HOSTNAME.fullmatch(domain):
        raise ConfigError("customDomain.domainName", f"must be a domain name; got {domain!r}")
    if not _within_rp_id(domain, rp_id):
        raise ConfigError(
            "customDomain.domainName",
            f"{domain!r} must be the rpId {rp_id!r} or a subdomain of it, or browsers "
            "refuse WebAuthn on the page it serves",
        )
    if not isinstance(cert, str) or not _CERTIFICATE_ARN.fullmatch(cert):
        raise ConfigError(
            "customDomain.certificateArn",
            f"must be an ACM certificate ARN in the stack's region; got {cert!r}",
        )
    return CustomDomainConfig(domain_name=domain, certificate_arn=cert)


def _origins(value: Any, *, rp_id: str, default: str) -> tuple[str, ...]:
    value = _decoded("allowedOrigins", value)
    if value is None:
        return (default,)
    if not isinstance(value, list) or not value:
        raise ConfigError("allowedOrigins", "must be a non-empty list of https origins")
    origins: list[str] = []
    for origin in value:
        if not isinstance(origin, str):
            raise ConfigError("allowedOrigins", f"each origin must be a string; got {origin!r}")
        parts = urlsplit(origin)
        if parts.scheme != "https" or not parts.hostname or parts.path or parts.query:
            raise ConfigError(
                "allowedOrigins",
                f"{origin!r} is not an https origin like 'https://mfa.example.org'",
            )
        if not _within_rp_id(parts.hostname, rp_id):
            raise ConfigError(
                "allowedOrigins",
                f"{origin!r} is outside the rpId {rp_id!r}; WebAuthn only accepts the rpId "
                "and its subdomains",
            )
        origins.append(origin)
    return tuple(origins)


def _session_seconds(key: str, value: Any) -> int:
    if value is None:
        return MAX_SESSION_SECONDS
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(key, f"must be an integer; got {value!r}")
    if not MIN_SESSION_SECONDS <= value <= MAX_SESSION_SECONDS:
        raise ConfigError(
            key,
            f"must be {MIN_SESSION_SECONDS}..{MAX_SESSION_SECONDS} (the broker chains roles, "
            f"and STS caps chained sessions at one hour); got {value}",
        )
    return value


def _user_verification(key: str, value: Any) -> str:
    if value is None:
        return "preferred"
    if value not in USER_VERIFICATION_VALUES:
        raise ConfigError(key, f"must be one of {list(USER_VERIFICATION_VALUES)}; got {value!r}")
    return str(value)


def _string_list(key: str, value: Any, pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ConfigError(key, f"must be a list of {what}")
    for item in value:
        if not isinstance(item, str) or not pattern.fullmatch(item):
            raise ConfigError(key, f"{item!r} is not {what}")
    return tuple(value)


def _gated_roles(value: Any) -> tuple[GatedRoleConfig, ...]:
    value = _decoded("gatedRoles", value)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError("gatedRoles", "must be a list of role objects")
    roles = []
    for i, raw in enumerate(value):
        key = f"gatedRoles[{i}]"
        spec = _role_spec(
            key,
            raw,
            extra_keys={"managedPolicyArns", "requireSignCounter", "assurance", "aaguids"},
        )
        policies = _string_list(
            f"{key}.managedPolicyArns",
            raw.get("managedPolicyArns", []),
            _POLICY_ARN,
            "a managed policy ARN",
        )
        roles.append(
            GatedRoleConfig(
                managed_policy_arns=policies,
                require_sign_counter=_flag(
                    f"{key}.requireSignCounter", raw.get("requireSignCounter")
                ),
                **_requirement(key, raw),
                **spec,
            )
        )
    return tuple(roles)


def _role_spec(key: str, raw: Any, *, extra_keys: set[str]) -> dict[str, Any]:
    """What every gated role declares: name, who may obtain it, session length, UV."""
    if not isinstance(raw, dict):
        raise ConfigError(key, "must be an object {name, allowedSourceIdentities, ...}")
    _no_unknown_keys(
        key,
        raw,
        {"name", "allowedSourceIdentities", "maxSessionSeconds", "userVerification", *extra_keys},
    )
    name = raw.get("name")
    if not isinstance(name, str) or not _ROLE_NAME.fullmatch(name):
        raise ConfigError(f"{key}.name", f"must be an IAM role name; got {name!r}")
    identities = _string_list(
        f"{key}.allowedSourceIdentities",
        raw.get("allowedSourceIdentities"),
        _SOURCE_IDENTITY_PATTERN,
        "a SourceIdentity value or pattern (letters, digits, +=,.@-_ and the wildcards * ?)",
    )
    if not identities:
        raise ConfigError(
            f"{key}.allowedSourceIdentities",
            "must list at least one user name or pattern; an empty list would let nobody in",
        )
    if "*" in identities:
        raise ConfigError(
            f"{key}.allowedSourceIdentities",
            "'*' would let every user with a key assume the role; list names or prefixes",
        )
    return {
        "name": name,
        "allowed_source_identities": identities,
        "max_session_seconds": _session_seconds(
            f"{key}.maxSessionSeconds", raw.get("maxSessionSeconds")
        ),
        "user_verification": _user_verification(
            f"{key}.userVerification", raw.get("userVerification")
        ),
    }


def _external_roles(value: Any) -> tuple[ExternalRoleConfig, ...]:
    value = _decoded("externalRoles", value)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError("externalRoles", "must be a list of {arn, name?, ...} objects")
    roles = []
    for i, raw in enumerate(value):
        key = f"externalRoles[{i}]"
        if not isinstance(raw, dict):
            raise ConfigError(key, "must be an object {arn, name?, maxSessionSeconds?, ...}")
        _no_unknown_keys(
            key,
            raw,
            {
                "arn",
                "name",
                "maxSessionSeconds",
                "userVerification",
                "requireSignCounter",
                "assurance",
                "aaguids",
            },
        )
        arn = raw.get("arn")
        if not isinstance(arn, str) or not _ROLE_ARN.fullmatch(arn):
            raise ConfigError(f"{key}.arn", f"must be an IAM role ARN; got {arn!r}")
        name = raw.get("name", arn.rsplit("/", 1)[-1])
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{key}.name", "must be a non-empty string")
        roles.append(
            ExternalRoleConfig(
                arn=arn,
                name=name,
                max_session_seconds=_session_seconds(
                    f"{key}.maxSessionSeconds", raw.get("maxSessionSeconds")
                ),
                user_verification=_user_verification(
                    f"{key}.userVerification", raw.get("userVerification")
                ),
                require_sign_counter=_flag(
                    f"{key}.requireSignCounter", raw.get("requireSignCounter")
                ),
                **_requirement(key, raw),
            )
        )
    return tuple(roles)


def _requirement(key: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """A role's key requirement: ``assurance`` (default any) and ``aaguids`` (models)."""
    assurance = raw.get("assurance", ANY_ASSURANCE)
    if assurance not in ROLE_ASSURANCE:
        raise ConfigError(
            f"{key}.assurance", f"must be one of {list(ROLE_ASSURANCE)}; got {assurance!r}"
        )
    aaguids = _string_list(
        f"{key}.aaguids",
        raw.get("aaguids", []),
        _AAGUID,
        "AAGUIDs (8-4-4-4-12 hex digits, as the FIDO metadata lists a model)",
    )
    if len(aaguids) > MAX_ROLE_AAGUIDS:
        raise ConfigError(f"{key}.aaguids", f"lists {len(aaguids)}; at most {MAX_ROLE_AAGUIDS}")
    lowered = tuple(a.lower() for a in aaguids)
    if len(set(lowered)) != len(lowered):
        raise ConfigError(f"{key}.aaguids", "lists an AAGUID twice")
    return {"assurance": str(assurance), "aaguids": lowered}


def _no_unknown_keys(key: str, raw: Mapping[str, Any], known: set[str]) -> None:
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(key, f"unknown keys {unknown}; expected some of {sorted(known)}")


THROTTLING_KEYS = (
    "rateLimit",
    "burstLimit",
    "publicRateLimit",
    "publicBurstLimit",
    "publicPerIpPer5Minutes",
    "allPerIpPer5Minutes",
)


def _throttling(value: Any) -> ThrottlingConfig:
    value = _decoded("throttling", value)
    if value is None:
        return ThrottlingConfig()
    if not isinstance(value, dict):
        raise ConfigError(
            "throttling",
            "must be an object {rateLimit, burstLimit, publicRateLimit, publicBurstLimit, "
            "publicPerIpPer5Minutes, allPerIpPer5Minutes}",
        )
    _no_unknown_keys("throttling", value, set(THROTTLING_KEYS))
    default = ThrottlingConfig()
    rate = _rate("throttling.rateLimit", value.get("rateLimit", default.rate_limit))
    burst = _burst("throttling.burstLimit", value.get("burstLimit", default.burst_limit))
    public_rate = _rate(
        "throttling.publicRateLimit",
        value.get("publicRateLimit", min(default.public_rate_limit, rate)),
    )
    public_burst = _burst(
        "throttling.publicBurstLimit",
        value.get("publicBurstLimit", min(default.public_burst_limit, burst)),
    )
    if public_rate > rate:
        raise ConfigError(
            "throttling.publicRateLimit",
            f"must not exceed throttling.rateLimit ({rate:g}): it is the stricter limit of the "
            f"unauthenticated routes; got {public_rate:g}",
        )
    if public_burst > burst:
        raise ConfigError(
            "throttling.publicBurstLimit",
            f"must not exceed throttling.burstLimit ({burst}): it is the stricter limit of the "
            f"unauthenticated routes; got {public_burst}",
        )
    public_per_ip = _waf_limit(
        "throttling.publicPerIpPer5Minutes",
        value.get("publicPerIpPer5Minutes", default.public_per_ip_per_5_minutes),
    )
    all_per_ip = _waf_limit(
        "throttling.allPerIpPer5Minutes",
        value.get("allPerIpPer5Minutes", default.all_per_ip_per_5_minutes),
    )
    if public_per_ip > all_per_ip:
        raise ConfigError(
            "throttling.publicPerIpPer5Minutes",
            f"must not exceed throttling.allPerIpPer5Minutes ({all_per_ip}): every request "
            "also counts against that rule, which would then block first and leave this one "
            f"without effect; got {public_per_ip}",
        )
    return ThrottlingConfig(
        rate_limit=rate,
        burst_limit=burst,
        public_rate_limit=public_rate,
        public_burst_limit=public_burst,
        public_per_ip_per_5_minutes=public_per_ip,
        all_per_ip_per_5_minutes=all_per_ip,
    )


def _rate(key: str, value: Any) -> float:
    """Requests per second (API Gateway accepts fractions)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 10_000:
        raise ConfigError(
            key, f"must be a number of requests per second in (0, 10000]; got {value!r}"
        )
    return float(value)


def _burst(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5000:
        raise ConfigError(key, f"must be an integer 1..5000; got {value!r}")
    return value


def _waf_limit(key: str, value: Any) -> int:
    """Requests per source IP in a 5-minute window, within AWS WAF's bounds."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not WAF_MIN_LIMIT <= value <= WAF_MAX_LIMIT
    ):
        raise ConfigError(
            key,
            f"must be an integer {WAF_MIN_LIMIT}..{WAF_MAX_LIMIT} (requests per source IP in "
            f"5 minutes; AWS WAF's minimum is {WAF_MIN_LIMIT}); got {value!r}",
        )
    return value


def _max_keys_per_user(value: Any) -> int:
    """How many keys one user may register (a ceremony keeps a snapshot of them all)."""
    if value is None:
        return DEFAULT_MAX_KEYS_PER_USER
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= MAX_KEYS_PER_USER_LIMIT
    ):
        raise ConfigError(
            "maxKeysPerUser",
            f"must be an integer 1..{MAX_KEYS_PER_USER_LIMIT} (a ceremony keeps a snapshot of "
            f"the user's keys, which must fit one DynamoDB item); got {value!r}",
        )
    return value


def _identity_roles(value: Any) -> tuple[str, ...]:
    """Roles whose session names are trusted as user names: role ARNs with their path, or
    ARN patterns (``*``, ``?``). A role name alone is refused: a session ARN has no path, so
    anyone who can create a role of that name elsewhere could pick any user's name."""
    value = _decoded("identityRoles", value)
    if value is None:
        return DEFAULT_IDENTITY_ROLES
    if not isinstance(value, list):
        raise ConfigError(
            "identityRoles",
            "must be a list of IAM role ARNs or ARN patterns, path included (like "
            f"'{IDENTITY_CENTER_ROLES}'); got {value!r}",
        )
    for i, entry in enumerate(value):
        if not isinstance(entry, str) or not _IDENTITY_ROLE_ENTRY.fullmatch(entry):
            hint = ""
            if isinstance(entry, str) and _ROLE_NAME_PATTERN.fullmatch(entry):
                hint = (
                    "; a role name (pattern) is not enough: anyone who may create a role of "
                    f"that name on another path could use it. For IAM Identity Center use "
                    f"'{IDENTITY_CENTER_ROLES}'"
                )
            raise ConfigError(
                f"identityRoles[{i}]",
                f"{entry!r} is not an IAM role ARN or ARN pattern with its path, like "
                f"'arn:aws:iam::111122223333:role/team/NAME'{hint}",
            )
        if entry.split(":role/", 1)[1].strip("*?/") == "":
            raise ConfigError(
                f"identityRoles[{i}]",
                f"{entry!r} matches every role: any principal that can assume some role "
                "could then pick any user's name as its session name",
            )
    return tuple(value)


def _admins(value: Any) -> tuple[str, ...]:
    """IAM user names and IAM role ARNs; a role entry matches every session of that role."""
    value = _decoded("admins", value)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(
            "admins", f"must be a list of IAM user names and IAM role ARNs; got {value!r}"
        )
    for i, entry in enumerate(value):
        if isinstance(entry, str) and (
            _USER_NAME.fullmatch(entry) or _ADMIN_ROLE_ARN.fullmatch(entry)
        ):
            continue
        hint = ""
        if isinstance(entry, str) and ":user/" in entry:
            hint = "; for an IAM user, give the user name without the ARN"
        elif isinstance(entry, str) and "assumed-role/" in entry:
            hint = "; give the role's ARN (arn:aws:iam::ACCOUNT:role/NAME), not a session's"
        raise ConfigError(
            f"admins[{i}]",
            f"{entry!r} is neither a tapgate user name (2-64 letters, digits and +=,.@_-) nor "
            f"an IAM role ARN like 'arn:aws:iam::111122223333:role/NAME'{hint}",
        )
    return tuple(value)


def _metadata(blob: Any, root: Any, *, needed: bool = False) -> MetadataConfig | None:
    """The metadata refresh, deployed only when the context asks for it.

    Only a role that requires a certified key needs FIDO metadata: without one the broker
    asks for no attestation, and a key's level comes from its backup flags alone. So a
    deployment without such a role gets no bucket, no daily download from the internet and
    no alarm; setting ``metadataBlob`` or ``metadataRoot`` deploys it anyway (to have a
    verified blob in place before a role starts requiring certified keys). A role that
    requires ``certified`` or names ``aaguids`` deploys it with the defaults.
    """
    if blob is None and root is None:
        return MetadataConfig() if needed else None
    url = DEFAULT_METADATA_BLOB_URL if blob is None else blob
    if not isinstance(url, str) or len(url) > 2048:
        raise ConfigError("metadataBlob", f"must be an https URL; got {url!r}")
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or any(c.isspace() for c in url):
        raise ConfigError(
            "metadataBlob",
            f"must be an https URL like {DEFAULT_METADATA_BLOB_URL!r} (the FIDO Alliance's); "
            f"got {url!r}",
        )
    return MetadataConfig(blob_url=url, root_pem=None if root is None else _metadata_root(root))


def _metadata_root(value: Any) -> str:
    """One PEM CA certificate: the root a blob's signature chain must reach."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("metadataRoot", "must be a PEM certificate (a string)")
    if len(value) > MAX_METADATA_ROOT_CHARS:
        raise ConfigError(
            "metadataRoot",
            f"is {len(value)} characters; at most {MAX_METADATA_ROOT_CHARS} (it travels in "
            "the refresh function's environment)",
        )
    try:
        certificates = x509.load_pem_x509_certificates(value.encode())
    except ValueError as exc:
        raise ConfigError("metadataRoot", f"is not a PEM certificate: {exc}") from exc
    if len(certificates) != 1:
        raise ConfigError(
            "metadataRoot", f"must be exactly one certificate, found {len(certificates)}"
        )
    try:
        is_ca = certificates[0].extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise ConfigError("metadataRoot", "must be a CA certificate (basicConstraints CA:TRUE)")
    return value


def _kms_key(value: Any) -> str | None:
    """``"create"`` (the stack creates a key) or the key ARN of an existing key."""
    if value is None or value == CREATE_KMS_KEY:
        return value
    if not isinstance(value, str) or not _KMS_KEY_ARN.fullmatch(value):
        raise ConfigError(
            "kmsKey",
            f"must be {CREATE_KMS_KEY!r} or the key ARN of a KMS key in the stack's region "
            f"(arn:aws:kms:REGION:ACCOUNT:key/KEY-ID; not an alias); got {value!r}",
        )
    return value


def _reserved_concurrency(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)  # `-c reservedConcurrency=20` arrives as a string
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            "reservedConcurrency",
            f"must be a positive integer (concurrent executions reserved for the broker); "
            f"got {value!r}",
        )
    return value


def _alarms(value: Any) -> AlarmsConfig:
    value = _decoded("alarms", value)
    if value is None:
        return AlarmsConfig()
    if not isinstance(value, dict):
        raise ConfigError(
            "alarms",
            "must be an object {topicArn?, refusedCeremoniesPer5Minutes?, "
            "throttledRequestsPer5Minutes?}",
        )
    _no_unknown_keys("alarms", value, set(ALARMS_KEYS))
    default = AlarmsConfig()
    topic = value.get("topicArn")
    if topic is not None and (not isinstance(topic, str) or not _SNS_TOPIC_ARN.fullmatch(topic)):
        raise ConfigError(
            "alarms.topicArn",
            f"must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME); got {topic!r}",
        )
    return AlarmsConfig(
        topic_arn=topic,
        refused_ceremonies_per_5_minutes=_positive(
            "alarms.refusedCeremoniesPer5Minutes",
            value.get("refusedCeremoniesPer5Minutes", default.refused_ceremonies_per_5_minutes),
        ),
        throttled_requests_per_5_minutes=_positive(
            "alarms.throttledRequestsPer5Minutes",
            value.get("throttledRequestsPer5Minutes", default.throttled_requests_per_5_minutes),
        ),
    )


def _positive(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(key, f"must be a positive integer; got {value!r}")
    return value


def _organization_id(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _ORGANIZATION_ID.fullmatch(value):
        raise ConfigError(
            "organizationId",
            f"must be an AWS Organizations id like 'o-a1b2c3d4e5'; got {value!r}",
        )
    return value


def _member_account(value: Any) -> MemberAccountConfig | None:
    """``memberAccount: {"roles": [...], "accounts"?: [...]}``: the gated roles of the
    member-account stack and the accounts whose roles the broker offers."""
    value = _decoded("memberAccount", value)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConfigError("memberAccount", "must be an object {roles: [...], accounts?: [...]}")
    _no_unknown_keys("memberAccount", value, {"roles", "accounts"})
    accounts = _string_list(
        "memberAccount.accounts",
        value.get("accounts", []),
        _ACCOUNT_ID,
        "a 12-digit AWS account id",
    )
    repeated_accounts = sorted({a for a in accounts if accounts.count(a) > 1})
    if repeated_accounts:
        raise ConfigError("memberAccount.accounts", f"repeated: {repeated_accounts}")
    raw_roles = value.get("roles")
    if not isinstance(raw_roles, list) or not raw_roles:
        raise ConfigError("memberAccount.roles", "must be a non-empty list of role objects")
    roles = []
    for i, raw in enumerate(raw_roles):
        key = f"memberAccount.roles[{i}]"
        spec = _role_spec(
            key,
            raw,
            extra_keys={"managedPolicyArns", "managedPolicyNames", "assurance", "aaguids"},
        )
        arns = _string_list(
            f"{key}.managedPolicyArns",
            raw.get("managedPolicyArns", []),
            _AWS_MANAGED_POLICY_ARN,
            "an AWS managed policy ARN (arn:aws:iam::aws:policy/...); name a customer-managed "
            "policy in managedPolicyNames instead, since an ARN names one account",
        )
        names = _string_list(
            f"{key}.managedPolicyNames",
            raw.get("managedPolicyNames", []),
            _POLICY_NAME,
            "a customer-managed policy name (letters, digits, +=,.@_-; a path as 'team/admin')",
        )
        roles.append(
            MemberRoleConfig(
                managed_policy_arns=arns,
                managed_policy_names=names,
                **_requirement(key, raw),
                **spec,
            )
        )
    names_seen = [r.name for r in roles]
    repeated = sorted({n for n in names_seen if names_seen.count(n) > 1})
    if repeated:
        raise ConfigError("memberAccount.roles", f"role names must be unique; repeated: {repeated}")
    return MemberAccountConfig(roles=tuple(roles), accounts=accounts)
