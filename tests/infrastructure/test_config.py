"""Context validation: every bad value fails at synth with the key and the reason."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from stacks import config as stack_config
from stacks.application import build_app
from stacks.config import (
    AlarmsConfig,
    ConfigError,
    MemberAccountConfig,
    MemberRoleConfig,
    ThrottlingConfig,
    config_from_mapping,
)
from tapgate_broker.core.enrollment import is_admin
from tapgate_broker.core.errors import ForbiddenError
from tapgate_broker.core.identity import DEFAULT_IDENTITY_ROLES, IDENTITY_ROLE_ENTRY, identify
from tapgate_broker.core.ports import RoleInfo
from tapgate_broker.core.user_names import is_user_name
from tests.infrastructure.conftest import cdk_json_context

KEY_ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TOPIC_ARN = "arn:aws:sns:eu-west-1:111122223333:ops-alerts"


def _with(**changes: Any) -> dict[str, Any]:
    context = copy.deepcopy(cdk_json_context())
    for key, value in changes.items():
        if value is None:
            context.pop(key, None)
        else:
            context[key] = value
    return context


def _throttling(**changes: Any) -> dict[str, Any]:
    return _with(throttling={**cdk_json_context()["throttling"], **changes})


def _role(**changes: Any) -> dict[str, Any]:
    role: dict[str, Any] = {
        "name": "ops",
        "allowedSourceIdentities": ["alice"],
        "maxSessionSeconds": 3600,
        "userVerification": "preferred",
    }
    role.update(changes)
    return role


def test_the_repository_cdk_json_is_valid() -> None:
    config = config_from_mapping(cdk_json_context())
    assert config.rp_id == "tapgate.example.com"
    assert config.allowed_origins == ("https://tapgate.example.com",)
    assert [r.name for r in config.gated_roles] == ["tapgate-example-readonly"]


def test_defaults_when_optional_keys_are_absent() -> None:
    config = config_from_mapping({"rpId": "mfa.example.org"})
    assert config.allowed_origins == ("https://mfa.example.org",)
    assert config.gated_roles == ()
    assert config.admins == ()
    assert config.throttling == ThrottlingConfig(
        rate_limit=10,
        burst_limit=20,
        public_rate_limit=5,
        public_burst_limit=10,
        public_per_ip_per_5_minutes=100,
        all_per_ip_per_5_minutes=2000,
    )


def test_the_operations_options_are_read() -> None:
    config = config_from_mapping(
        {
            "rpId": "mfa.example.org",
            "kmsKey": KEY_ARN,
            "reservedConcurrency": "30",  # as `-c reservedConcurrency=30` passes it
            "alarms": {"topicArn": TOPIC_ARN, "refusedCeremoniesPer5Minutes": 5},
            "organizationId": "o-a1b2c3d4e5",
            "memberAccount": {
                "accounts": ["222233334444"],
                "roles": [
                    _role(
                        managedPolicyArns=["arn:aws:iam::aws:policy/ReadOnlyAccess"],
                        managedPolicyNames=["team/deployer"],
                        userVerification="required",
                    )
                ],
            },
        }
    )
    assert config.kms_key == KEY_ARN
    assert config.reserved_concurrency == 30
    assert config.alarms == AlarmsConfig(
        topic_arn=TOPIC_ARN,
        refused_ceremonies_per_5_minutes=5,
        throttled_requests_per_5_minutes=AlarmsConfig().throttled_requests_per_5_minutes,
    )
    assert config.organization_id == "o-a1b2c3d4e5"
    role = MemberRoleConfig(
        name="ops",
        allowed_source_identities=("alice",),
        managed_policy_arns=("arn:aws:iam::aws:policy/ReadOnlyAccess",),
        managed_policy_names=("team/deployer",),
        user_verification="required",
    )
    assert config.member_account == MemberAccountConfig(roles=(role,), accounts=("222233334444",))
    assert config.member_account.offered_roles() == (("222233334444", role, "ops (222233334444)"),)


def test_the_operations_options_default_to_off() -> None:
    config = config_from_mapping({"rpId": "mfa.example.org"})
    assert config.kms_key is None
    assert config.reserved_concurrency is None
    assert config.alarms.topic_arn is None
    assert config.organization_id is None
    assert config.member_account is None


def test_cdk_json_spells_out_the_default_limits() -> None:
    assert config_from_mapping(cdk_json_context()).throttling == ThrottlingConfig()


def test_the_public_defaults_follow_a_lower_stage_limit() -> None:
    config = config_from_mapping(
        {"rpId": "example.org", "throttling": {"rateLimit": 2, "burstLimit": 4}}
    )
    assert config.throttling.public_rate_limit == 2
    assert config.throttling.public_burst_limit == 4


def test_every_throttling_key_is_read() -> None:
    values = {
        "rateLimit": 50,
        "burstLimit": 100,
        "publicRateLimit": 0.5,
        "publicBurstLimit": 1,
        "publicPerIpPer5Minutes": 10,
        "allPerIpPer5Minutes": 10,
    }
    config = config_from_mapping({"rpId": "example.org", "throttling": values})
    assert config.throttling == ThrottlingConfig(
        rate_limit=50,
        burst_limit=100,
        public_rate_limit=0.5,
        public_burst_limit=1,
        public_per_ip_per_5_minutes=10,
        all_per_ip_per_5_minutes=10,
    )


@pytest.mark.parametrize(
    "admin",
    [
        "alice",
        "ops.bob@example.org",
        "arn:aws:iam::111122223333:role/tapgate-admins",
        "arn:aws:iam::111122223333:role/teams/security/incident-response",
        "arn:aws-cn:iam::111122223333:role/admins",
        "arn:aws-us-gov:iam::111122223333:role/admins",
    ],
)
def test_admins_are_user_names_or_role_arns(admin: str) -> None:
    assert config_from_mapping({"rpId": "example.org", "admins": ["carol", admin]}).admins == (
        "carol",
        admin,
    )


@pytest.mark.parametrize(
    ("admin", "caller", "stranger"),
    [
        (
            "alice",
            ("arn:aws:iam::111122223333:user/alice", None),
            ("arn:aws:iam::111122223333:user/mallory", None),
        ),
        (
            "arn:aws:iam::111122223333:role/teams/security/incident-response",
            (
                "arn:aws:sts::111122223333:assumed-role/incident-response/alice",
                "arn:aws:iam::111122223333:role/teams/security/incident-response",
            ),
            (
                "arn:aws:sts::111122223333:assumed-role/incident-response/alice",
                "arn:aws:iam::111122223333:role/other/incident-response",
            ),
        ),
        (
            "arn:aws-cn:iam::111122223333:role/admins",
            (
                "arn:aws-cn:sts::111122223333:assumed-role/admins/any-session-name",
                "arn:aws-cn:iam::111122223333:role/admins",
            ),
            (
                "arn:aws-cn:sts::111122223333:assumed-role/developers/bob",
                "arn:aws-cn:iam::111122223333:role/developers",
            ),
        ),
    ],
)
def test_the_broker_reads_each_admin_form_as_the_stack_validates_it(
    admin: str, caller: tuple[str, str | None], stranger: tuple[str, str | None]
) -> None:
    """The stack passes admins through unchanged; the broker must match what it accepts
    (a role session by the role that GetRole confirmed, path included)."""
    admins = config_from_mapping({"rpId": "example.org", "admins": [admin]}).admins
    assert is_admin(caller[0], admins, role_arn=caller[1])
    assert not is_admin(stranger[0], admins, role_arn=stranger[1])


class _Roles:
    def __init__(self, *arns: str) -> None:
        self.by_name = {
            a.rsplit("/", 1)[1]: RoleInfo(a, f"AROA{i:016d}") for i, a in enumerate(arns)
        }

    def role(self, name: str, *, role_id: str) -> RoleInfo | None:
        return self.by_name.get(name)


def test_identity_roles_default_to_identity_center_and_reach_the_broker() -> None:
    assert config_from_mapping({"rpId": "example.org"}).identity_roles == DEFAULT_IDENTITY_ROLES
    roles = [
        "arn:*:iam::*:role/aws-reserved/sso.amazonaws.com/*",
        "arn:aws:iam::111122223333:role/okta/Okta-*",
        "arn:aws:iam::111122223333:role/breakglass",
    ]
    configured = config_from_mapping({"rpId": "example.org", "identityRoles": roles})
    assert configured.identity_roles == tuple(roles)
    directory = _Roles(
        "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_A_1",
        "arn:aws:iam::111122223333:role/okta/Okta-Engineers",
        "arn:aws:iam::111122223333:role/breakglass",
        "arn:aws:iam::111122223333:role/deployer",
        "arn:aws:iam::111122223333:role/elsewhere/Okta-Admins",
    )

    def user(role: str) -> str:
        found = directory.by_name[role]
        return identify(
            f"arn:aws:sts::111122223333:assumed-role/{role}/alice",
            f"{found.role_id}:alice",
            identity_roles=configured.identity_roles,
            roles=directory,
        ).user_name

    for role in ("AWSReservedSSO_A_1", "Okta-Engineers", "breakglass"):
        assert user(role) == "alice"
    for role in ("deployer", "Okta-Admins"):
        with pytest.raises(ForbiddenError):
            user(role)


def test_the_stack_and_the_broker_read_identity_roles_alike() -> None:
    assert stack_config.DEFAULT_IDENTITY_ROLES == DEFAULT_IDENTITY_ROLES
    for entry in (
        "arn:*:iam::*:role/aws-reserved/sso.amazonaws.com/*",
        "arn:aws:iam::111122223333:role/team/x",
        "AWSReservedSSO_*",
        "arn:aws:iam::111122223333:user/alice",
        "arn:aws:iam::111122223333:role/x\n",
    ):
        stack_accepts = stack_config._IDENTITY_ROLE_ENTRY.fullmatch(entry) is not None
        assert stack_accepts == (IDENTITY_ROLE_ENTRY.fullmatch(entry) is not None), entry


@pytest.mark.parametrize(
    ("context", "key", "reason"),
    [
        (_with(rpId=None), "rpId", "is required"),
        (_with(rpId=""), "rpId", "is required"),
        (_with(rpId="https://tapgate.example.com"), "rpId", "without scheme"),
        (_with(rpId="Tapgate.Example.com"), "rpId", "lower-case"),
        (_with(rpId="abc123.execute-api.eu-west-1.amazonaws.com"), "rpId", "generated AWS"),
        (_with(allowedOrigins=[]), "allowedOrigins", "non-empty list"),
        (_with(allowedOrigins="https://x"), "allowedOrigins", "non-empty list"),
        (_with(allowedOrigins=["http://tapgate.example.com"]), "allowedOrigins", "https"),
        (_with(allowedOrigins=["https://evil.example.net"]), "allowedOrigins", "outside the rpId"),
        (_with(allowedOrigins=["https://tapgate.example.com/x"]), "allowedOrigins", "https"),
        (_with(gatedRoles={"name": "x"}), "gatedRoles", "must be a list"),
        (_with(gatedRoles=[_role(name="bad name")]), "gatedRoles[0].name", "IAM role name"),
        (
            _with(gatedRoles=[_role(allowedSourceIdentities=[])]),
            "gatedRoles[0].allowedSourceIdentities",
            "at least one",
        ),
        (
            _with(gatedRoles=[_role(allowedSourceIdentities=["*"])]),
            "gatedRoles[0].allowedSourceIdentities",
            "every user",
        ),
        (
            _with(gatedRoles=[_role(allowedSourceIdentities=["a b"])]),
            "gatedRoles[0].allowedSourceIdentities",
            "SourceIdentity",
        ),
        (
            _with(gatedRoles=[_role(maxSessionSeconds=7200)]),
            "gatedRoles[0].maxSessionSeconds",
            "900..3600",
        ),
        (
            _with(gatedRoles=[_role(maxSessionSeconds="3600")]),
            "gatedRoles[0].maxSessionSeconds",
            "integer",
        ),
        (
            _with(gatedRoles=[_role(userVerification="always")]),
            "gatedRoles[0].userVerification",
            "one of",
        ),
        (
            _with(gatedRoles=[_role(managedPolicyArns=["ReadOnlyAccess"])]),
            "gatedRoles[0].managedPolicyArns",
            "managed policy ARN",
        ),
        (_with(gatedRoles=[_role(maxSession=1)]), "gatedRoles[0]", "unknown keys"),
        (_with(gatedRoles=[_role(), _role()]), "gatedRoles", "unique"),
        (_with(externalRoles=[{"arn": "legacy-admin"}]), "externalRoles[0].arn", "role ARN"),
        (_with(throttling={"rateLimit": 0}), "throttling.rateLimit", "(0, 10000]"),
        (_with(throttling={"burstLimit": 2.5}), "throttling.burstLimit", "integer"),
        (_with(throttling={"ratelimit": 5}), "throttling", "unknown keys"),
        (_throttling(publicRateLimit=11), "throttling.publicRateLimit", "must not exceed"),
        (_throttling(publicRateLimit=0), "throttling.publicRateLimit", "(0, 10000]"),
        (_throttling(publicBurstLimit=21), "throttling.publicBurstLimit", "must not exceed"),
        (_throttling(publicBurstLimit=True), "throttling.publicBurstLimit", "integer"),
        (
            _throttling(publicPerIpPer5Minutes=9),
            "throttling.publicPerIpPer5Minutes",
            "minimum is 10",
        ),
        (_throttling(publicPerIpPer5Minutes="100"), "throttling.publicPerIpPer5Minutes", "integer"),
        (_throttling(publicPerIpPer5Minutes=99.5), "throttling.publicPerIpPer5Minutes", "integer"),
        (
            _throttling(publicPerIpPer5Minutes=3000),
            "throttling.publicPerIpPer5Minutes",
            "must not exceed throttling.allPerIpPer5Minutes (2000)",
        ),
        (_throttling(allPerIpPer5Minutes=0), "throttling.allPerIpPer5Minutes", "10..2000000000"),
        (
            _throttling(allPerIpPer5Minutes=3_000_000_000),
            "throttling.allPerIpPer5Minutes",
            "10..2000000000",
        ),
        (_with(admins="alice"), "admins", "must be a list"),
        (_with(admins=["alice", "not valid"]), "admins[1]", "'not valid' is neither"),
        (_with(admins=[42]), "admins[0]", "42 is neither"),
        (
            _with(admins=["arn:aws:iam::111122223333:user/alice"]),
            "admins[0]",
            "give the user name without the ARN",
        ),
        (
            _with(admins=["arn:aws:sts::111122223333:assumed-role/admins/alice"]),
            "admins[0]",
            "not a session's",
        ),
        (_with(admins=["arn:aws:iam::111122223333:role/*"]), "admins[0]", "IAM role ARN"),
        (_with(admins=["arn:aws:iam::11112222333:role/admins"]), "admins[0]", "IAM role ARN"),
        (_with(admins=["arn:aws:iam::111122223333:role/"]), "admins[0]", "IAM role ARN"),
        (_with(customDomain={"domainName": "mfa.example.org"}), "customDomain.domainName", "rpId"),
        (
            _with(customDomain={"domainName": "tapgate.example.com", "certificateArn": "x"}),
            "customDomain.certificateArn",
            "ACM certificate ARN",
        ),
        (_with(gatedRoles="[{"), "gatedRoles", "not valid JSON"),
        (_with(identityRoles="AWSReservedSSO_*"), "identityRoles", "must be a list"),
        (_with(identityRoles=["*"]), "identityRoles[0]", "not enough"),
        (_with(identityRoles=["AWSReservedSSO_*"]), "identityRoles[0]", "not enough"),
        (
            _with(identityRoles=["arn:aws:iam::111122223333:role/*"]),
            "identityRoles[0]",
            "matches every role",
        ),
        (_with(identityRoles=["arn:*:iam::*:role/*/*"]), "identityRoles[0]", "matches every"),
        (_with(identityRoles=["a/b"]), "identityRoles[0]", "'a/b' is not an IAM role ARN"),
        (_with(identityRoles=[7]), "identityRoles[0]", "7 is not an IAM role ARN"),
        (_with(kmsKey="alias/tapgate"), "kmsKey", "not an alias"),
        (_with(kmsKey=f"{KEY_ARN[: KEY_ARN.index(':key/')]}:alias/tapgate"), "kmsKey", "key ARN"),
        (_with(kmsKey=KEY_ARN.replace("kms", "sns", 1)), "kmsKey", "key ARN"),
        (_with(kmsKey=True), "kmsKey", "'create' or the key ARN"),
        (_with(reservedConcurrency=0), "reservedConcurrency", "positive integer"),
        (_with(reservedConcurrency=2.5), "reservedConcurrency", "positive integer"),
        (_with(reservedConcurrency=True), "reservedConcurrency", "positive integer"),
        (_with(reservedConcurrency="-1"), "reservedConcurrency", "positive integer"),
        (_with(alarms="ops"), "alarms", "must be an object"),
        (_with(alarms={"topic": TOPIC_ARN}), "alarms", "unknown keys"),
        (_with(alarms={"topicArn": "ops-alerts"}), "alarms.topicArn", "SNS topic ARN"),
        (
            _with(alarms={"refusedCeremoniesPer5Minutes": 0}),
            "alarms.refusedCeremoniesPer5Minutes",
            "positive integer",
        ),
        (
            _with(alarms={"throttledRequestsPer5Minutes": "50"}),
            "alarms.throttledRequestsPer5Minutes",
            "positive integer",
        ),
        (_with(organizationId="o-123"), "organizationId", "Organizations id"),
        (_with(organizationId="r-abcdefghij"), "organizationId", "Organizations id"),
        (_with(memberAccount=[]), "memberAccount", "must be an object"),
        (_with(memberAccount={}), "memberAccount.roles", "non-empty list"),
        (_with(memberAccount={"roles": [_role()], "x": 1}), "memberAccount", "unknown keys"),
        (
            _with(memberAccount={"roles": [_role(name="a b")]}),
            "memberAccount.roles[0].name",
            "IAM role name",
        ),
        (
            _with(memberAccount={"roles": [_role(allowedSourceIdentities=["*"])]}),
            "memberAccount.roles[0].allowedSourceIdentities",
            "every user",
        ),
        (
            _with(
                memberAccount={
                    "roles": [
                        _role(managedPolicyArns=["arn:aws:iam::111122223333:policy/team-admin"])
                    ]
                }
            ),
            "memberAccount.roles[0].managedPolicyArns",
            "managedPolicyNames instead",
        ),
        (
            _with(memberAccount={"roles": [_role(managedPolicyNames=["arn:aws:iam::1:policy/x"])]}),
            "memberAccount.roles[0].managedPolicyNames",
            "customer-managed policy name",
        ),
        (_with(memberAccount={"roles": [_role(), _role()]}), "memberAccount.roles", "unique"),
        (
            _with(memberAccount={"roles": [_role()], "accounts": ["2222-3333-4444"]}),
            "memberAccount.accounts",
            "12-digit AWS account id",
        ),
        (
            _with(memberAccount={"roles": [_role()], "accounts": ["222233334444"] * 2}),
            "memberAccount.accounts",
            "repeated",
        ),
        (
            _with(
                externalRoles=[
                    {"arn": "arn:aws:iam::444455556666:role/x", "name": "ops (111111111111)"}
                ],
                memberAccount={"roles": [_role()], "accounts": ["1" * 12]},
            ),
            "gatedRoles",
            "unique",
        ),
    ],
)
def test_invalid_context_names_the_key_and_the_reason(
    context: dict[str, Any], key: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_mapping(context)
    assert caught.value.key == key
    assert f"'{key}'" in str(caught.value)
    assert reason in str(caught.value)


def test_a_bad_limit_stops_the_synth_before_any_stack_exists() -> None:
    with pytest.raises(ConfigError, match=r"'throttling.publicPerIpPer5Minutes'.*minimum is 10"):
        build_app(context=_throttling(publicPerIpPer5Minutes=5))


@pytest.mark.parametrize(
    "name",
    ["al", "alice", "ops.bob@example.org", "a", "alice\n", "al ice", "x" * 65, "\u00e9t\u00e9"],
)
def test_an_admin_user_name_is_what_the_broker_calls_a_user_name(name: str) -> None:
    """One definition of a user name (core/user_names.py); the stack may not import it."""
    try:
        accepted = config_from_mapping({"rpId": "example.org", "admins": [name]}).admins == (name,)
    except ConfigError:
        accepted = False
    assert accepted == is_user_name(name)


def test_the_key_cap_defaults_to_20_and_takes_1_to_100() -> None:
    assert config_from_mapping({"rpId": "example.org"}).max_keys_per_user == 20
    for cap in (1, 100):
        assert (
            config_from_mapping({"rpId": "example.org", "maxKeysPerUser": cap}).max_keys_per_user
            == cap
        )


@pytest.mark.parametrize("cap", [0, 101, True, "20", 2.5])
def test_a_key_cap_outside_1_to_100_is_refused(cap: Any) -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_mapping({"rpId": "example.org", "maxKeysPerUser": cap})
    assert caught.value.key == "maxKeysPerUser"


def test_require_sign_counter_is_a_per_role_flag() -> None:
    role = {"name": "strict", "allowedSourceIdentities": ["alice"], "requireSignCounter": True}
    config = config_from_mapping({"rpId": "example.org", "gatedRoles": [role]})
    assert config.gated_roles[0].require_sign_counter
    with pytest.raises(ConfigError) as caught:
        config_from_mapping(
            {"rpId": "example.org", "gatedRoles": [{**role, "requireSignCounter": "yes"}]}
        )
    assert caught.value.key == "gatedRoles[0].requireSignCounter"


MODEL = "6d44ba9b-f6ec-4e36-9d01-0d0b0b7d5e6a"


def test_a_role_may_require_a_key_level_and_models_and_then_gets_metadata() -> None:
    role = {"name": "strict", "allowedSourceIdentities": ["alice"]}
    plain = config_from_mapping({"rpId": "example.org", "gatedRoles": [role]})
    assert (plain.gated_roles[0].assurance, plain.gated_roles[0].aaguids) == ("any", ())
    assert plain.metadata is None
    strict = config_from_mapping(
        {
            "rpId": "example.org",
            "gatedRoles": [{**role, "assurance": "certified", "aaguids": [MODEL.upper()]}],
            "externalRoles": [
                {"arn": "arn:aws:iam::111122223333:role/x", "assurance": "device-bound"}
            ],
        }
    )
    assert (strict.gated_roles[0].assurance, strict.gated_roles[0].aaguids) == (
        "certified",
        (MODEL,),
    )
    assert strict.external_roles[0].assurance == "device-bound"
    assert strict.metadata is not None  # a certified role needs the metadata refresh


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"assurance": "gold"}, "gatedRoles[0].assurance"),
        ({"assurance": "synced"}, "gatedRoles[0].assurance"),  # a key level, not a requirement
        ({"aaguids": "6d44ba9b"}, "gatedRoles[0].aaguids"),
        ({"aaguids": ["not-an-aaguid"]}, "gatedRoles[0].aaguids"),
        ({"aaguids": [MODEL, MODEL.upper()]}, "gatedRoles[0].aaguids"),
        (
            {"aaguids": [f"{i:08x}-0000-0000-0000-000000000000" for i in range(33)]},
            "gatedRoles[0].aaguids",
        ),
    ],
)
def test_a_bad_key_requirement_is_refused_by_name(change: dict, key: str) -> None:
    role = {"name": "strict", "allowedSourceIdentities": ["alice"], **change}
    with pytest.raises(ConfigError) as caught:
        config_from_mapping({"rpId": "example.org", "gatedRoles": [role]})
    assert caught.value.key == key
