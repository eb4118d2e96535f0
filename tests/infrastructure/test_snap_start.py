"""``snapStart`` in cdk.json: the broker gets Lambda SnapStart and API Gateway invokes the
published version through an alias (SnapStart snapshots published versions only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stacks.application import STACK_NAME, build_app
from stacks.config import ConfigError, config_from_mapping
from tests.infrastructure.conftest import cdk_json_context, no_bundling

HANDLER = "tapgate_broker.handler.handler"


@pytest.fixture(scope="module")
def snap_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A synth with snapStart on; cdk-nag runs as a validation plugin (raises on findings)."""
    context = {**cdk_json_context(), "snapStart": True}
    app, _ = build_app(context=no_bundling(context), outdir=str(tmp_path_factory.mktemp("out")))
    template: dict[str, Any] = app.synth().get_stack_by_name(STACK_NAME).template
    return template


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def _function_id(template: dict[str, Any]) -> str:
    (function_id,) = [
        k
        for k, v in _resources(template, "AWS::Lambda::Function").items()
        if v["Properties"].get("Handler") == HANDLER
    ]
    return function_id


def test_snap_start_is_off_unless_cdk_json_says_so(raw: dict[str, Any]) -> None:
    assert config_from_mapping(cdk_json_context()).snap_start is False
    function = raw["Resources"][_function_id(raw)]["Properties"]
    assert "SnapStart" not in function
    assert not _resources(raw, "AWS::Lambda::Alias")


def test_snap_start_applies_to_published_versions(snap_template: dict[str, Any]) -> None:
    function_id = _function_id(snap_template)
    function = snap_template["Resources"][function_id]["Properties"]
    assert function["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    (version,) = _resources(snap_template, "AWS::Lambda::Version").values()
    assert version["Properties"]["FunctionName"] == {"Ref": function_id}
    # A superseded version (and the snapshot charged with it) goes with the next deploy.
    assert version["DeletionPolicy"] == "Delete"


def test_api_gateway_invokes_the_live_alias_not_the_unpublished_function(
    snap_template: dict[str, Any],
) -> None:
    ((alias_id, alias),) = _resources(snap_template, "AWS::Lambda::Alias").items()
    assert alias["Properties"]["Name"] == "live"
    methods = _resources(snap_template, "AWS::ApiGateway::Method").values()
    integrations = [json.dumps(m["Properties"]["Integration"]) for m in methods]
    assert integrations
    assert all(alias_id in uri for uri in integrations)
    permissions = _resources(snap_template, "AWS::Lambda::Permission").values()
    invoked = {json.dumps(p["Properties"]["FunctionName"]) for p in permissions}
    assert invoked == {json.dumps({"Ref": alias_id})}


@pytest.mark.parametrize(("value", "expected"), [(True, True), ("true", True), ("false", False)])
def test_snap_start_accepts_a_boolean_or_its_command_line_spelling(
    value: Any, expected: bool
) -> None:
    assert config_from_mapping({**cdk_json_context(), "snapStart": value}).snap_start is expected


@pytest.mark.parametrize("value", ["yes", 1, [True]])
def test_snap_start_must_be_a_boolean(value: Any) -> None:
    with pytest.raises(ConfigError, match="snapStart"):
        config_from_mapping({**cdk_json_context(), "snapStart": value})


def test_the_shipped_cdk_json_names_the_switch() -> None:
    shipped = json.loads((Path(__file__).parents[2] / "cdk.json").read_text())["context"]
    assert shipped["snapStart"] is False
