"""Argument errors are one line on stderr with exit code 2; help works; nothing leaks to stdout."""

from __future__ import annotations

import importlib.metadata
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tapgate.cli.main import main

ROLE = "arn:aws:iam::123456789012:role/admin"


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


pytestmark = pytest.mark.usefixtures("isolated_cli")


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        ([], "required: COMMAND"),
        (["bogus"], "invalid choice: 'bogus'"),
        (["credentials"], "required: --role"),
        (["credentials", "--role"], "--role: expected one argument"),
        (["credentials", "--role", ROLE, "--duration", "soon"], "invalid int value"),
        (["credentials", "--role", ROLE, "--surprise"], "unrecognized arguments: --surprise"),
        (["revoke"], "required: CREDENTIAL_ID"),
        (["cache"], "required: ACTION"),
        (["configure", "--role", ROLE], "required: --profile"),
        (["local", "--port", "99999"], "--port: must be a port number 0..65535, not '99999'"),
        (["local", "--port", "-5"], "--port: must be a port number 0..65535, not '-5'"),
        (["local", "--port", "http"], "--port: must be a port number 0..65535, not 'http'"),
    ],
)
def test_parser_errors_are_one_line(
    argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    line = one_error_line(capsys)
    assert line.startswith("tapgate")
    assert fragment in line
    assert line.endswith("--help)")


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["credentials", "--role", "admin", "--api-url", "https://a"], "IAM role ARN"),
        (["credentials", "--role", ROLE, "--api-url", "https://a", "--duration", "60"], "900"),
        (
            ["credentials", "--role", ROLE, "--api-url", "https://a", "--min-remaining", "-1"],
            "negative",
        ),
        (
            ["credentials", "--role", ROLE, "--api-url", "https://a", "--authenticator", "nfc"],
            "usb or soft:PATH",
        ),
        (["console", "--role", "arn:aws-mars:iam::1:role/r", "--api-url", "https://a"], "--role"),
        (["configure", "--profile", "bad name!", "--role", ROLE], "not a usable profile"),
        (["credentials", "--role", ROLE, "--api-url", "ftp://a"], "--api-url must be an http(s)"),
        (["credentials", "--role", ROLE, "--api-url", "https://a b"], "--api-url must be"),
        (["credentials", "--role", ROLE, "--api-url", "http://[::1"], "--api-url must be"),
        (["credentials", "--role", ROLE, "--api-url", "https://a:port"], "--api-url must be"),
        (["list", "--api-url", "a.example.com"], "--api-url must be an http(s)"),
        (
            ["console", "--role", ROLE, "--api-url", "https://a", "--session-duration", "10"],
            "--session-duration must be 900..43200",  # before any touch or request
        ),
    ],
)
def test_value_errors_are_one_line_with_exit_2(
    argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    line = one_error_line(capsys)
    assert line.startswith("tapgate: ")
    assert fragment in line


def test_a_bad_api_url_in_the_environment_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TAPGATE_API_URL", "localhost:8080")
    assert main(["credentials", "--role", ROLE]) == 2
    assert "TAPGATE_API_URL must be an http(s) URL" in one_error_line(capsys)


def test_no_api_url_anywhere_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["credentials", "--role", ROLE]) == 1
    assert "no tapgate API URL" in one_error_line(capsys)


def test_federation_endpoint_outside_local_mode_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = [
        "console",
        "--role",
        ROLE,
        "--api-url",
        "https://a",
        "--federation-endpoint",
        "http://x",
    ]
    assert main(argv) == 2
    assert "only in local mode" in one_error_line(capsys)


@pytest.mark.parametrize(
    "argv", [["--help"], ["credentials", "--help"], ["console", "--help"], ["configure", "-h"]]
)
def test_help_exits_zero(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    assert "usage: tapgate" in capsys.readouterr().out


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name in ("credentials", "register", "list", "revoke", "console", "configure", "cache"):
        assert f"    {name} " in out
    assert "    local " in out
    assert "    audit " in out


def test_global_options_may_come_before_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--api-url", "https://a", "credentials", "--role", "not-an-arn"]) == 2
    assert "IAM role ARN" in one_error_line(capsys)


def test_cache_clear(tmp_path: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]) -> None:
    directory = Path(str(tmp_path)) / "tapgate"
    directory.mkdir(mode=0o700)
    (directory / ("a" * 64 + ".cache")).write_text("x")
    assert main(["cache", "clear"]) == 0
    assert "Removed 1 cached credential file" in capsys.readouterr().out
    assert list(directory.iterdir()) == []


def test_audit_is_wired_when_named(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["audit", "--help"])
    assert exit_info.value.code == 0
    assert "usage: tapgate audit" in capsys.readouterr().out


def test_other_commands_do_not_import_audit() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from tapgate.cli.parser import build_parser; "
            "build_parser(['list']).parse_args(['list']); "
            "print(any(m.startswith('tapgate.audit') for m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "False"


# What issue 4 lists for each command; every one must be in that command's --help.
DOCUMENTED = {
    "credentials": ["--role", "--duration", "--no-cache", "--min-remaining"],
    "register": ["--nickname"],
    "list": ["--json"],
    "revoke": ["CREDENTIAL_ID", "--credential-id"],
    "console": ["--role", "--stdout", "--region", "--destination"],
    "configure": ["--profile", "--role"],
    "cache": ["clear"],
    "local": ["--port"],
}
GLOBAL_OPTIONS = ["--api-url", "--authenticator"]


@pytest.mark.parametrize("command", sorted(DOCUMENTED))
def test_each_command_documents_its_options(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: tapgate {command}")
    expected = DOCUMENTED[command] + ([] if command in ("cache", "local") else GLOBAL_OPTIONS)
    missing = [option for option in expected if option not in out]
    assert missing == []


def test_local_help_shows_its_defaults_and_only_its_own_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["local", "--help"])
    assert exit_info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    for shown in ("--host", "else localhost", "--port", "else 8080", "PORT=N", "--reset"):
        assert shown in out
    assert "--state-file" in out and "default .tapgate/local.json" in out
    for foreign in ("--api-url", "--authenticator", "--profile", "--api-region"):
        assert foreign not in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    captured = capsys.readouterr()
    assert captured.out == f"tapgate {importlib.metadata.version('tapgate')}\n"
    assert captured.err == ""


@pytest.mark.parametrize("command", [[], ["credentials"], ["register"]])
def test_the_authenticator_variable_is_documented(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    assert "$TAPGATE_AUTHENTICATOR" in capsys.readouterr().out


def test_a_port_in_use_says_how_to_pick_another(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["local", "--port", str(port), "--state-file", str(tmp_path / "l.json")])
    assert code == 1
    line = one_error_line(capsys)
    assert f"127.0.0.1:{port}" in line
    assert "in use" in line
    assert "--port N" in line and "make demo PORT=N" in line


def test_make_demo_passes_port_on() -> None:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        ["make", "-n", "-C", str(root), "demo", "PORT=9090"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "tapgate local --port 9090" in done.stdout


def test_top_level_help_documents_the_global_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(option in out for option in GLOBAL_OPTIONS)
    assert "TAPGATE_API_URL" in out and "tapgate_api_url" in out
    assert "TAPGATE_ALLOW_SOFT_KEY" in out


# --- admin commands, and credential ids that start with '-' ---------------------------------

DASH_ID = "-4ybjXYZ_abc"  # base64url of 9 bytes; argparse alone takes it for an option


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["admin"], "required: ACTION"),
        (["admin", "keys"], "required: --user"),
        (["admin", "keys", "--user", "a b"], "must be a tapgate user name"),
        (["admin", "keys", "--user", "x"], "must be a tapgate user name"),
        (["admin", "revoke", "--user", "bob", "--all"], "required: --reason"),
        (["admin", "report", "--unused-days", "0"], "between 1 and 3650"),
        (["admin", "report", "--unused-days", "soon"], "whole number of days"),
        (["admin", "report", "--format", "xml"], "invalid choice: 'xml'"),
        (["revoke", DASH_ID, "--credential-id", "abcd"], "give CREDENTIAL_ID once"),
        (["revoke", "--bogus-option"], "unrecognized arguments: --bogus-option"),
    ],
)
def test_admin_parser_errors_are_one_line(
    argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    line = one_error_line(capsys)
    assert fragment in line
    assert line.endswith("--help)")


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["admin", "revoke", "--user", "bob", "--reason", "x"], "either CREDENTIAL_ID or --all"),
        (["admin", "revoke", "--user", "bob", "abcd", "--all", "--reason", "x"], "either"),
        (["admin", "revoke", "--user", "bob", "--all", "--reason", "  "], "--reason must be 1"),
        (["admin", "revoke", "--user", "bob", "--all", "--reason", "x" * 257], "1 to 256"),
        (["admin", "revoke", "--user", "bob", "--all", "--reason", "a\x1bb"], "control"),
        (["admin", "revoke", "--user", "bob", "-abcd", "--reason", "x"], "not '-abcd'"),
    ],
)
def test_admin_value_errors_are_one_line_before_any_request(
    argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--api-url", "https://a.invalid"]) == 2
    assert fragment in one_error_line(capsys)


@pytest.mark.parametrize(
    "argv",
    [
        ["revoke", DASH_ID],
        ["revoke", "--api-url", "https://a.invalid", DASH_ID],
        ["revoke", DASH_ID, "--api-url", "https://a.invalid"],
        ["revoke", "--", DASH_ID],
        ["revoke", f"--credential-id={DASH_ID}"],
        ["revoke", "--credential-id", DASH_ID],
        ["admin", "revoke", "--user", "bob", DASH_ID, "--reason", "-x"],
        ["admin", "revoke", "--reason", "lost", "--user", "bob", "--", DASH_ID],
    ],
)
def test_a_credential_id_that_starts_with_a_dash_is_an_id(argv: list[str]) -> None:
    from tapgate.cli.parser import build_parser  # noqa: PLC0415

    args = build_parser(argv).parse_args(argv)
    assert args.credential_id == DASH_ID
    if argv[0] == "admin":
        assert args.reason in ("-x", "lost")


def test_revoke_passes_a_dash_id_to_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    """Through main: the id reaches the command, which then needs the API (none here)."""
    assert main(["revoke", DASH_ID]) == 1
    assert "no tapgate API URL" in one_error_line(capsys)
