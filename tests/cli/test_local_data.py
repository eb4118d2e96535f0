"""Local mode's kept world (tapgate.local.persistence): the file's round trip, and a start
refused with one line when the file is not usable or the RP ID would change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tapgate.cli.main import main
from tapgate.local import persistence
from tapgate.local.persistence import World

pytestmark = pytest.mark.usefixtures("isolated_cli")


def test_a_world_survives_the_file_with_its_binary_values(tmp_path: Path) -> None:
    item = {
        "userName": {"S": "tapgate-demo"},
        "credentialData": {"B": b"\x00\xffkey"},
        "nested": {"M": {"ids": {"BS": [b"\x01", b"\x02"]}, "list": {"L": [{"B": b"\x03"}]}}},
        "signCount": {"N": "7"},
    }
    world = World(
        host="localhost",
        api_port=8080,
        aws_port=5000,
        demo_access_key_id="AKIAEXAMPLE",
        tables={"tapgate-credentials": [item]},
        sessions=[
            {
                "accessKeyId": "ASIAEXAMPLE",
                "secretAccessKey": "secret",
                "sessionToken": "token",
                "roleArn": "arn:aws:iam::123456789012:role/tapgate-demo-admin",
                "sessionName": "tapgate-tapgate-demo",
                "expiration": "2030-01-01T00:00:00",
            }
        ],
    )
    path = tmp_path / "local.data.json"
    persistence.save(path, world)
    assert path.stat().st_mode & 0o777 == 0o600
    assert persistence.load(path) == world


def test_the_data_file_is_named_after_the_state_file() -> None:
    assert persistence.data_file_for(Path("w/local.json")) == Path("w/local.data.json")
    assert persistence.data_file_for(Path("w/other.json")) == Path("w/other.data.json")


def good_world() -> dict[str, object]:
    return World(host="localhost", api_port=8080, aws_port=5000).to_json()


@pytest.mark.parametrize(
    ("content", "fault"),
    [
        (b"", "is empty"),
        (json.dumps(good_world()).encode()[:50], "is not valid JSON"),
        (b'{"some": "thing else"}', "format is not tapgate-local-data version 1"),
        (json.dumps({**good_world(), "apiPort": 70000}).encode(), "port numbers"),
        (json.dumps({**good_world(), "tables": {"t": [{"a": {"Q": 1}}]}}).encode(), "'Q'"),
        (json.dumps({**good_world(), "sessions": [{"accessKeyId": 1}]}).encode(), "sessions"),
    ],
)
def test_an_unusable_data_file_stops_the_start_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, fault: str
) -> None:
    state_file = tmp_path / ".tapgate" / "local.json"
    state_file.parent.mkdir()
    data_file = state_file.with_name("local.data.json")
    data_file.write_bytes(content)
    assert main(["local", "--state-file", str(state_file)]) == 1
    captured = capsys.readouterr()
    [line] = captured.err.strip().splitlines()
    assert line.startswith("tapgate: local mode failed: ")
    assert str(data_file) in line and fault in line
    assert "tapgate local --reset" in line
    assert data_file.read_bytes() == content  # nothing overwritten
    assert not state_file.exists()


def test_another_host_would_orphan_the_registered_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state_file = tmp_path / "local.json"
    persistence.save(state_file.with_name("local.data.json"), World("localhost", 8080, 5000))
    assert main(["local", "--host", "tapgate.test", "--state-file", str(state_file)]) == 1
    line = capsys.readouterr().err.strip()
    assert "bound to RP ID 'localhost'" in line and "--host localhost" in line
