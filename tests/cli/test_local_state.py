"""A state file that is there but is not local mode's: one line naming the file and the fault."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tapgate.cli.main import main
from tapgate.local import persistence
from tapgate.local.persistence import World

GOOD = {
    "apiUrl": "http://localhost:8080",
    "awsEndpointUrl": "http://127.0.0.1:5000",
    "region": "us-east-1",
    "rpId": "localhost",
    "origin": "http://localhost:8080",
    "demoUser": {"userName": "tapgate-demo"},
    "gatedRoles": [{"arn": "arn:aws:iam::123456789012:role/tapgate-demo-admin"}],
}


pytestmark = pytest.mark.usefixtures("isolated_cli")


def without(field: str) -> bytes:
    return json.dumps({k: v for k, v in GOOD.items() if k != field}).encode()


@pytest.mark.parametrize(
    ("content", "fault"),
    [
        (b"", "is empty"),
        (b"\n  \n", "is empty"),
        (json.dumps(GOOD).encode()[:40], "is not valid JSON"),
        (b"\xff\xfe garbage", "is not valid JSON"),
        (b"[1, 2, 3]", "no JSON object"),
        (b'{"name": "someone else\'s settings"}', "lacks apiUrl, awsEndpointUrl, region"),
        (without("origin"), "lacks origin"),
        (json.dumps({**GOOD, "region": 7}).encode(), "lacks region"),
    ],
)
@pytest.mark.parametrize(
    "command",
    [
        ["list"],  # the API URL would come from the state file
        ["list", "--api-url", "http://localhost:8080"],  # is it local mode's API?
        ["credentials", "--role", "arn:aws:iam::123456789012:role/tapgate-demo-admin"],
    ],
)
def test_a_broken_state_file_is_one_line_naming_it(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: bytes,
    fault: str,
    command: list[str],
) -> None:
    state_file = tmp_path / "local.json"
    state_file.write_bytes(content)
    assert main([*command, "--state-file", str(state_file)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.strip().splitlines()
    assert line.startswith("tapgate: ")
    assert str(state_file) in line
    assert fault in line
    assert "internal error" not in line


def test_the_default_state_file_is_checked_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".tapgate").mkdir()
    (tmp_path / ".tapgate" / "local.json").write_bytes(without("origin"))
    assert main(["list"]) == 1
    assert ".tapgate/local.json lacks origin" in capsys.readouterr().err


# -- local mode stopped: say so, and how to start it ---------------------------------------

ROLE = "arn:aws:iam::123456789012:role/tapgate-demo-admin"


def not_running(port: int, state_file: Path) -> str:
    return (
        f"tapgate: local mode is not running (nothing answers at http://localhost:{port}): "
        f"start it with `tapgate local --state-file {state_file}`"
    )


@pytest.mark.parametrize("how", ["printed profile", "printed exports", "no API URL"])
def test_a_stopped_local_mode_says_how_to_start_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    unused_port: int,
    how: str,
) -> None:
    state_file = tmp_path / ".tapgate" / "local.json"  # stopped: gone, its world kept
    state_file.parent.mkdir()
    world = World(host="localhost", api_port=unused_port, aws_port=unused_port)
    persistence.save(persistence.data_file_for(state_file), world)
    key = f"soft:{tmp_path / '.tapgate' / 'demo-key.json'}"
    url = f"http://localhost:{unused_port}"
    if how == "printed profile":
        argv = ["credentials", "--api-url", url, "--state-file", str(state_file)]
        argv += ["--authenticator", key, "--role", ROLE]
    elif how == "printed exports":
        monkeypatch.setenv("TAPGATE_API_URL", url)
        monkeypatch.setenv("TAPGATE_LOCAL_STATE", str(state_file))
        argv = ["register", "--authenticator", key]
    else:
        argv = ["list"]  # from its folder: the default state file
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == [not_running(unused_port, state_file)]


def test_a_state_file_left_by_a_crash_says_how_to_start_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    unused_port: int,
) -> None:
    url = f"http://localhost:{unused_port}"
    state_file = tmp_path / "local.json"
    state_file.write_text(json.dumps({**GOOD, "apiUrl": url, "origin": url}))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    assert main(["list", "--state-file", str(state_file)]) == 1
    assert capsys.readouterr().err.strip() == not_running(unused_port, state_file)


def test_another_api_is_not_taken_for_a_stopped_local_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], unused_port: int
) -> None:
    state_file = tmp_path / ".tapgate" / "local.json"
    state_file.parent.mkdir()
    persistence.save(persistence.data_file_for(state_file), World("localhost", 1234, 1235))
    argv = ["credentials", "--api-url", f"http://localhost:{unused_port}", "--role", ROLE]
    assert main([*argv, "--authenticator", f"soft:{tmp_path / 'key.json'}"]) == 1
    assert "not running" not in capsys.readouterr().err
