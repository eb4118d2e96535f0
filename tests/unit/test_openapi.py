"""HTTP API v1's OpenAPI document: valid OpenAPI 3.1, one operation per route of the table
(no more, no fewer), each with its security, and served by the broker at
``GET /v1/openapi.json`` without weighing on the cold path."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from tapgate_broker.api.kit import credential_summary
from tapgate_broker.api.routes import build_app
from tapgate_broker.core.models import KeyAssurance, StoredCredential
from tapgate_contract import audit_events
from tapgate_contract import routes as v1
from tapgate_contract.openapi import OPERATIONS, document, openapi_path
from tapgate_contract.problems import PROBLEM_CONTENT_TYPE
from tapgate_contract.schemas import GATEWAY_MODELS
from tests.support.broker_harness import api_event
from tests.unit.test_layering import _modules_after

DOCUMENT = document()
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def _resolve(ref: dict[str, Any], doc: dict[str, Any] = DOCUMENT) -> dict[str, Any]:
    if "$ref" not in ref:
        return ref
    node: Any = doc
    for part in ref["$ref"].removeprefix("#/").split("/"):
        node = node[part]
    return dict(node)


def test_the_document_is_valid_openapi_3_1() -> None:
    assert DOCUMENT["openapi"].startswith("3.1.")
    validate(DOCUMENT)


def test_the_validator_refuses_a_broken_document() -> None:
    """The check above can fail: a path parameter the template does not name is refused."""
    broken = json.loads(json.dumps(DOCUMENT))
    operation = broken["paths"][openapi_path(v1.CREDENTIAL_DELETE)]["delete"]
    operation["parameters"][0]["name"] = "keyId"
    with pytest.raises(OpenAPIValidationError):
        validate(broken)


def test_every_route_of_the_table_is_one_operation_and_nothing_else_is() -> None:
    assert set(_operations(DOCUMENT)) == {(r.method, openapi_path(r)) for r in v1.ROUTES}
    assert len(_operations(DOCUMENT)) == len(v1.ROUTES)


def test_a_route_without_an_operation_or_an_operation_without_a_route_is_refused() -> None:
    extra = v1.Route("GET", "/status", v1.Auth.SIGV4)
    with pytest.raises(ValueError, match="routes without an operation: \\['GET /status'\\]"):
        document((*v1.ROUTES, extra))
    with pytest.raises(ValueError, match="operations without a route: \\['GET /roles'\\]"):
        document(tuple(r for r in v1.ROUTES if r is not v1.ROUTES[8]))
    assert v1.ROUTES[8] is v1.ROLES


def test_each_operations_security_is_its_routes_authorization() -> None:
    schemes = DOCUMENT["components"]["securitySchemes"]
    assert schemes["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    assert schemes["enrollmentToken"] == {**schemes["enrollmentToken"], "scheme": "bearer"}
    for route in v1.ROUTES:
        operation = _operations(DOCUMENT)[(route.method, openapi_path(route))]
        if route.auth is v1.Auth.SIGV4:
            assert operation["security"] == [{"sigv4": []}], route
        elif route.why_public == v1.WHY_ENROLLMENT_LINK:
            assert operation["security"] == [{"enrollmentToken": []}], route
        else:
            assert operation["security"] == [], route
            assert route.why_public in operation["description"]


def test_every_error_is_a_problem_document_and_every_body_is_json() -> None:
    for (method, path), operation in _operations(DOCUMENT).items():
        statuses = {int(s) for s in operation["responses"]}
        assert {400, 403, 413, 429} <= statuses, (method, path)
        assert len([s for s in statuses if s < 400]) == 1, (method, path)
        for status, response in operation["responses"].items():
            content = _resolve(response).get("content", {})
            if int(status) >= 400:
                assert next(iter(content)) == PROBLEM_CONTENT_TYPE, (method, path, status)
                assert {c["schema"]["$ref"] for c in content.values()} == {
                    "#/components/schemas/Problem"
                }
        if "requestBody" in operation:
            assert list(operation["requestBody"]["content"]) == ["application/json"]
            assert "415" in operation["responses"]


def test_the_ceremony_answer_routes_take_the_gateways_body_model() -> None:
    """Where API Gateway validates a body model, the document's body requires at least the
    model's fields (and the ceremonyId is the same pattern)."""
    for route in v1.ROUTES:
        if route.body_model is None:
            continue
        name = OPERATIONS[route].request
        assert name is not None, route
        schema = DOCUMENT["components"]["schemas"][name]
        required = set(schema.get("required", ())) | {
            field
            for part in schema.get("allOf", ())
            for field in _resolve(part).get("required", ())
        }
        model = GATEWAY_MODELS[route.body_model]
        assert set(model["required"]) <= required, route
        ceremony_id = DOCUMENT["components"]["schemas"]["CeremonyId"]
        assert model["properties"]["ceremonyId"]["pattern"] == ceremony_id["pattern"]


def test_the_events_operation_takes_the_contracts_query_parameters() -> None:
    operation = DOCUMENT["paths"][openapi_path(v1.ADMIN_EVENTS)]["get"]
    taken = [p["name"] for p in operation["parameters"] if p["in"] == "query"]
    assert taken == list(audit_events.QUERY_PARAMETERS)
    assert all(not p["required"] for p in operation["parameters"])


def _summary_schema() -> dict[str, Any]:
    return {"$ref": "#/components/schemas/CredentialSummary", "components": DOCUMENT["components"]}


@pytest.mark.parametrize(
    "assurance",
    [
        KeyAssurance(
            level="certified",
            reason="attested",
            aaguid="ee882879-721c-4913-9775-3dfcce97072a",
            authenticator="YubiKey 5",
        ),
        None,  # an item stored before assurance: unattested, no AAGUID shown
    ],
)
def test_a_key_summary_is_the_documents(assurance: KeyAssurance | None) -> None:
    key = StoredCredential(
        user_name="alice",
        credential_id=b"\x01" * 16,
        credential_data=b"",
        sign_count=3,
        user_handle=b"\x02" * 16,
        aaguid="ee882879-721c-4913-9775-3dfcce97072a",
        created_at="2026-12-01T10:00:00Z",
        assurance=assurance,
    )
    summary = credential_summary(key)
    jsonschema.validate(summary, _summary_schema())
    assert (summary["aaguid"] is None) is (assurance is None)


def test_a_summary_without_its_assurance_is_refused() -> None:
    """The check above can fail: the document requires the assurance fields."""
    key = StoredCredential(
        user_name="alice",
        credential_id=b"\x01" * 16,
        credential_data=b"",
        sign_count=0,
        user_handle=b"\x02" * 16,
        aaguid="",
        created_at="2026-12-01T10:00:00Z",
    )
    summary = credential_summary(key)
    del summary["assurance"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(summary, _summary_schema())


def test_the_broker_serves_the_document() -> None:
    app = build_app(_no_broker)
    answer = app.resolve(api_event("GET", v1.OPENAPI_DOCUMENT.url_path), None)
    assert answer["statusCode"] == 200
    assert answer["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert json.loads(answer["body"]) == json.loads(json.dumps(DOCUMENT))


def test_the_handlers_cold_path_does_not_build_the_document() -> None:
    loaded = _modules_after("import tapgate_broker.handler", AWS_LAMBDA_INITIALIZATION_TYPE="")
    assert "tapgate_contract.openapi" not in loaded
    assert "tapgate_contract.schemas" not in loaded


def _no_broker() -> Any:
    raise LookupError("the document needs no broker")
