"""`tapgate local --config`: cdk.json's context keys, checked before anything starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tapgate.local.config import LocalConfigError, load_config, parse_config

ROLE = {"name": "certified-admin", "allowedSourceIdentities": ["tapgate-demo"]}


def test_the_repositorys_cdk_json_is_a_local_configuration() -> None:
    config = load_config(Path(__file__).resolve().parents[2] / "cdk.json")
    assert [r.name for r in config.gated_roles] == ["tapgate-example-readonly"]
    assert config.metadata_blob is None


def test_roles_keep_their_requirement_and_metadata_paths_are_relative_to_the_file(
    tmp_path: Path,
) -> None:
    (tmp_path / "blob.jwt").write_text("x")
    (tmp_path / "config.json").write_text(
        json.dumps(
            {
                "gatedRoles": [
                    {
                        **ROLE,
                        "assurance": "certified",
                        "aaguids": ["6D44BA9B-F6EC-4E36-9D01-0D0B0B7D5E6A"],
                    }
                ],
                "metadataBlob": "blob.jwt",
                "kmsKey": "create",  # applies in AWS only: ignored
            }
        )
    )
    config = load_config(tmp_path / "config.json")
    (role,) = config.gated_roles
    assert (role.assurance, role.aaguids) == (
        "certified",
        ("6d44ba9b-f6ec-4e36-9d01-0d0b0b7d5e6a",),
    )
    assert config.metadata_blob == (tmp_path / "blob.jwt").resolve()


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ({"gatedRoles": [{**ROLE, "assurance": "gold"}]}, "gatedRoles[0].assurance"),
        ({"gatedRoles": [{**ROLE, "aaguids": ["nope"]}]}, "gatedRoles[0].aaguids"),
        ({"gatedRoles": [{**ROLE, "color": "red"}]}, "gatedRoles[0]"),
        (
            {"gatedRoles": [{"name": "x", "allowedSourceIdentities": ["*"]}]},
            "allowedSourceIdentities",
        ),
        ({"gatedRoles": [ROLE, ROLE]}, "unique"),
        ({"metadataBlob": "missing.jwt"}, "metadataBlob"),
        ({"metadataBlob": 7}, "metadataBlob"),
        ({"surprise": True}, "surprise"),
        ([], "JSON object"),
    ],
)
def test_a_bad_configuration_is_refused_naming_the_key(
    tmp_path: Path, document: object, named: str
) -> None:
    with pytest.raises(LocalConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        parse_config(document, base=tmp_path)


def test_a_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{gatedRoles:")
    with pytest.raises(LocalConfigError, match="is not JSON"):
        load_config(tmp_path / "config.json")
