"""The contract package (tapgate_contract): dependency-free, self-consistent, and what
docs/design.md documents."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tapgate.local.routes import THROTTLED_PREFIXES, RouteAuth, route_auth
from tapgate_contract import federation, limits, policies, signals, tables, tags
from tapgate_contract.routes import (
    CREDENTIAL_DELETE,
    ROUTES,
    STAGE_PREFIX,
    WHY_PASSKEY_ASSERTION,
    Auth,
    Route,
    Throttle,
    match,
    public_write_prefixes,
)

REPO = Path(__file__).resolve().parents[2]
CONTRACT = REPO / "lambdas" / "tapgate_contract"
MODULES = sorted(p.stem for p in CONTRACT.glob("*.py") if p.stem != "__init__")


# --- dependency-free ------------------------------------------------------------------------


def test_every_module_imports_only_the_standard_library() -> None:
    imports = "; ".join(f"import tapgate_contract.{m}" for m in MODULES)
    code = (
        f"import sys; before = set(sys.modules); {imports}; "
        "print('\\n'.join(sorted(set(sys.modules) - before)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.split()
    assert {f"tapgate_contract.{m}" for m in MODULES} <= set(loaded)
    foreign = {
        name
        for name in loaded
        if name.split(".")[0] not in sys.stdlib_module_names
        and name.split(".")[0] != "tapgate_contract"
    }
    assert not foreign


def test_the_package_alone_imports_none_of_its_modules() -> None:
    code = (
        "import sys, tapgate_contract; "
        "print(sorted(m for m in sys.modules if m.startswith('tapgate_contract.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"


# --- the route table ------------------------------------------------------------------------


def test_the_route_table_refuses_an_unexplained_public_route() -> None:
    with pytest.raises(ValueError, match="says why"):
        Route("GET", "/status", Auth.PUBLIC)
    with pytest.raises(ValueError, match="says why"):
        Route("POST", "/credentials", Auth.SIGV4, why_public="signed, but called public")


def test_the_route_table_refuses_a_public_write_without_its_throttling_class() -> None:
    with pytest.raises(ValueError, match="throttled as public writes"):
        Route("POST", "/passkey/x", Auth.PUBLIC, why_public=WHY_PASSKEY_ASSERTION)
    with pytest.raises(ValueError, match="throttled as public writes"):
        Route("POST", "/registration/x", Auth.SIGV4, Throttle.PUBLIC_WRITE)
    with pytest.raises(ValueError, match="throttled as public writes"):
        Route("GET", "/page", Auth.PUBLIC, Throttle.PUBLIC_WRITE, why_public="x" * 30)


def test_public_write_prefixes_cover_the_unsigned_writes_and_nothing_signed() -> None:
    assert public_write_prefixes() == ("/v1/enrollment/", "/v1/passkey/")
    # POST /v1/enrollments (SigV4) must not fall under /v1/enrollment/.
    assert not "/v1/enrollments".startswith(public_write_prefixes())
    clash = (*ROUTES, Route("GET", "/passkey/status", Auth.SIGV4))
    with pytest.raises(ValueError, match="per-IP rule"):
        public_write_prefixes(clash)
    flat = (
        *ROUTES,
        Route(
            "POST", "/login", Auth.PUBLIC, Throttle.PUBLIC_WRITE, why_public=WHY_PASSKEY_ASSERTION
        ),
    )
    with pytest.raises(ValueError, match="path of its own"):
        public_write_prefixes(flat)


def test_every_route_is_listed_once() -> None:
    assert len({(r.method, r.path) for r in ROUTES}) == len(ROUTES)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("DELETE", "/credentials/abc", "/credentials/{credentialId}"),
        ("DELETE", "/credentials/abc/def", None),
        ("GET", "/static/a/b.css", "/static/{proxy+}"),
        ("GET", "/static/", None),
        ("GET", "/", "/"),
        ("POST", "/config", None),
        ("GET", "/configx", None),
    ],
)
def test_match_picks_routes_as_api_gateway_does(
    method: str, path: str, expected: str | None
) -> None:
    route = match(method, path)
    assert (route.path if route else None) == expected


def test_urls_and_resolver_paths_of_a_parameterized_route() -> None:
    delete = CREDENTIAL_DELETE
    assert delete.url(credentialId="a/b c") == "/v1/credentials/a%2Fb%20c"
    assert delete.resolver_path == "/credentials/<credential_id>"
    (static,) = (r for r in ROUTES if "{proxy+}" in r.path)
    assert static.resolver_path == "/static/<proxy>"


def _sample(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "abc", path)


def test_the_local_gateway_authorizes_and_throttles_by_the_same_table() -> None:
    gateway_auth = {Auth.SIGV4: RouteAuth.SIGV4, Auth.PUBLIC: RouteAuth.NONE}
    for route in ROUTES:
        assert (
            route_auth(route.method, STAGE_PREFIX + _sample(route.path))
            is (gateway_auth[route.auth])
        )
    assert public_write_prefixes() == THROTTLED_PREFIXES


def test_the_pages_calls_are_public_routes_of_the_table() -> None:
    """The web page (JavaScript, which cannot import the table) calls only unsigned routes."""
    web = REPO / "lambdas" / "tapgate_broker" / "web"
    calls = [
        (method, "/" + re.sub(r"\$\{[^}]*\}", "x", path))
        for script in sorted(web.glob("*.js"))
        for method, path in re.findall(
            r"call\(\s*\"([A-Z]+)\",\s*[`\"]([^`\"]+)[`\"]", script.read_text(encoding="utf-8")
        )
    ]
    assert len(calls) >= 8
    for method, path in calls:
        route = match(method, path)
        assert route is not None and route.auth is Auth.PUBLIC, (method, path)


def _documented_routes() -> dict[tuple[str, str], Auth]:
    """docs/design.md's HTTP API v1 table: (method, path shape) -> auth. A path parameter is
    ``{}`` whatever its name (the doc says ``{file}`` where API Gateway says ``{proxy+}``)."""
    text = (REPO / "docs" / "design.md").read_text(encoding="utf-8")
    section = text.split("## HTTP API v1", 1)[1].split("\n\n**", 1)[0]
    documented: dict[tuple[str, str], Auth] = {}
    for row in re.findall(r"^\| (`[A-Z]+ /v1/.*?) \| (.*?) \|", section, re.M):
        auth = Auth.SIGV4 if row[1].startswith("SigV4") else Auth.PUBLIC
        for method, path in re.findall(r"`([A-Z]+) /v1(/[^`]*)`", row[0]):
            documented[(method, _shape(path))] = auth
    return documented


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_the_documented_route_table_is_the_contracts() -> None:
    documented = _documented_routes()
    assert len(documented) == len(ROUTES)
    assert documented == {(r.method, _shape(r.path)): r.auth for r in ROUTES}


# --- policies -------------------------------------------------------------------------------


def test_the_self_service_policy_grants_exactly_the_signed_routes() -> None:
    document = policies.self_service_policy(
        partition="aws", region="eu-west-1", account="111122223333", api_id="abc123"
    )
    granted: list[tuple[str, str]] = []
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        assert statement["Action"] == "execute-api:Invoke"
        for resource in statement["Resource"]:
            prefix = "arn:aws:execute-api:eu-west-1:111122223333:abc123/v1/"
            assert resource.startswith(prefix), resource
            method, _, path = resource[len(prefix) :].partition("/")
            granted.append((method, "/" + path))
    signed = [r for r in ROUTES if r.auth is Auth.SIGV4]
    assert len(granted) == len(signed)
    for route in signed:
        pattern = re.sub(r"\{[^}]+\}", "*", route.path)
        assert [g for g in granted if g == (route.method, pattern)], route
        assert fnmatch.fnmatchcase(_sample(route.path), pattern)


def test_the_shipped_gating_policy_checks_the_contracts_tag() -> None:
    (statement,) = policies.gating_policy()["Statement"]
    assert statement["Condition"] == {
        "StringNotEquals": {f"aws:PrincipalTag/{tags.MFA_TAG}": tags.MFA_TAG_VALUE}
    }


def test_a_placeholder_the_builder_does_not_know_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown placeholders"):
        policies._substitute({"Resource": "arn:${Nope}:x"}, {"Partition": "aws"})


def test_the_broker_may_assume_only_tagged_roles_and_query_only_its_index() -> None:
    statements = policies.broker_statements(
        credentials_table_arn="arn:c",
        ceremonies_table_arn="arn:e",
        audit_table_arn="arn:a",
        event_bus_arn="arn:bus",
        identity_role_arns=["arn:id"],
        gated_role_arns=["arn:r1", "arn:r2"],
    )
    resources = [s["Resource"] for s in statements]
    assert f"arn:c/index/{tables.CREDENTIAL_ID_INDEX}" in resources
    assert not any("*" in str(r) for r in resources)
    sts = statements[-1]
    assert sts["Resource"] == ["arn:r1", "arn:r2"]
    assert sts["Condition"] == {"StringEquals": {"aws:ResourceTag/tapgate-gated": "true"}}
    assert "dynamodb:ConditionCheckItem" in statements[0]["Action"]
    without_roles = policies.broker_statements(
        credentials_table_arn="arn:c",
        ceremonies_table_arn="arn:e",
        audit_table_arn="arn:a",
        event_bus_arn="arn:bus",
        identity_role_arns=[],
        gated_role_arns=[],
    )
    assert not [s for s in without_roles if "sts:AssumeRole" in s["Action"]]
    (get_role,) = [s for s in statements if s["Action"] == "iam:GetRole"]
    assert get_role["Resource"] == ["arn:id"]
    assert not [s for s in without_roles if s["Action"] == "iam:GetRole"]
    (events,) = [s for s in statements if s["Action"] == "events:PutEvents"]
    assert events["Resource"] == "arn:bus"
    assert events["Condition"]["StringEquals"]["events:source"] == signals.EVENT_SOURCE


def test_a_gated_role_needs_someone_to_trust() -> None:
    with pytest.raises(ValueError, match="at least one"):
        policies.gated_role_trust_policy(broker_role_arn="arn:b", allowed_source_identities=[])


def test_the_policy_json_is_package_data() -> None:
    shipped = sorted(p.name for p in (CONTRACT / "policies").glob("*.json"))
    assert shipped == sorted([policies.GATING_POLICY_FILE, policies.SELF_SERVICE_POLICY_FILE])
    for name in shipped:
        on_disk = json.loads((CONTRACT / "policies" / name).read_text(encoding="utf-8"))
        assert policies.shipped_document(name) == on_disk


# --- tables, limits, federation -------------------------------------------------------------


def test_table_specs_in_the_shapes_dynamodb_and_cloudformation_share() -> None:
    assert tables.CREDENTIALS.key_schema() == [
        {"AttributeName": "userName", "KeyType": "HASH"},
        {"AttributeName": "credentialId", "KeyType": "RANGE"},
    ]
    assert tables.CREDENTIALS.attribute_definitions() == [
        {"AttributeName": "userName", "AttributeType": "S"},
        {"AttributeName": "credentialId", "AttributeType": "S"},
    ]
    assert tables.CREDENTIALS.global_secondary_indexes() == [
        {
            "IndexName": "byCredentialId",
            "KeySchema": [{"AttributeName": "credentialId", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
        }
    ]
    assert tables.CEREMONIES.key_schema() == [{"AttributeName": "ceremonyId", "KeyType": "HASH"}]
    assert [t.role for t in tables.TABLES] == ["credentials", "ceremonies", "audit"]


def test_the_limits_hold_together() -> None:
    assert limits.MIN_SESSION_SECONDS < limits.MAX_SESSION_SECONDS == 3600
    assert limits.CEREMONY_TTL_SECONDS < limits.ENROLLMENT_TTL_SECONDS
    assert re.fullmatch(limits.CEREMONY_ID_PATTERN.strip("^$"), "A" * 16)
    assert not re.match(limits.CEREMONY_ID_PATTERN, "A" * 15)
    assert limits.NICKNAME_MAX_LENGTH <= limits.NICKNAME_FIELD_MAX_LENGTH


@pytest.mark.parametrize(
    ("arn", "endpoint"),
    [
        ("arn:aws:iam::111122223333:role/x", "https://signin.aws.amazon.com/federation"),
        ("arn:aws-cn:iam::111122223333:role/x", "https://signin.amazonaws.cn/federation"),
        (
            "arn:aws-us-gov:iam::111122223333:role/x",
            "https://signin.amazonaws-us-gov.com/federation",
        ),
    ],
)
def test_each_partition_has_its_federation_endpoint(arn: str, endpoint: str) -> None:
    partition = federation.partition_of(arn)
    assert partition is not None
    assert partition.federation_endpoint == endpoint


@pytest.mark.parametrize("arn", ["arn:aws-iso:iam::1:role/x", "not-an-arn", "arn:aws"])
def test_an_unknown_partition_has_no_endpoint(arn: str) -> None:
    assert federation.partition_of(arn) is None


# --- the Lambda's resolver ------------------------------------------------------------------


def _unreachable_broker() -> Any:
    raise LookupError("no broker in this test")


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_the_resolver_has_a_handler_for_every_route_of_the_table(route: Route) -> None:
    from tapgate_broker.api.routes import build_app  # noqa: PLC0415
    from tests.support.broker_harness import api_event  # noqa: PLC0415

    path = re.sub(r"\{[^}]+\}", "app.css" if "proxy" in route.path else "abc", route.path)
    app = build_app(_unreachable_broker)
    assert _detail(app.resolve(api_event(route.method, path), None)) != "No such route."
    unknown = app.resolve(api_event(route.method, path.rstrip("/") + "/x/y"), None)
    assert _detail(unknown) == "No such route."


def _detail(answer: dict[str, Any]) -> object:
    body = answer.get("body") or ""
    return json.loads(body).get("detail") if body.startswith("{") else None
