"""`tapgate configure`: one credential_process line changes; the rest of the file stays."""

from __future__ import annotations

from pathlib import Path

import pytest

from tapgate.cli.configure import set_credential_process
from tapgate.cli.main import main

ROLE = "arn:aws:iam::123456789012:role/admin"
ORIGINAL = """\
# my AWS config — comments stay
[default]
region = eu-west-1
output = json

[profile work]   ; inline comment
region = us-east-1
credential_process = old-command --flag

[profile other]
sso_session = corp
"""


def test_replaces_the_line_in_an_existing_profile() -> None:
    updated = set_credential_process(ORIGINAL, profile="work", command="new-command")
    assert updated == ORIGINAL.replace(
        "credential_process = old-command --flag", "credential_process = new-command"
    )


def test_adds_the_line_to_a_profile_without_one() -> None:
    updated = set_credential_process(ORIGINAL, profile="other", command="cmd")
    assert updated == ORIGINAL.replace(
        "sso_session = corp\n", "sso_session = corp\ncredential_process = cmd\n"
    )


def test_adds_the_line_before_the_blank_separator() -> None:
    updated = set_credential_process(ORIGINAL, profile="default", command="cmd")
    assert updated == ORIGINAL.replace(
        "output = json\n\n", "output = json\ncredential_process = cmd\n\n"
    )


def test_appends_a_new_profile_at_the_end() -> None:
    updated = set_credential_process(ORIGINAL, profile="gated", command="cmd")
    assert updated == ORIGINAL + "\n[profile gated]\ncredential_process = cmd\n"


def test_new_file() -> None:
    assert set_credential_process("", profile="gated", command="cmd") == (
        "[profile gated]\ncredential_process = cmd\n"
    )


def test_file_without_final_newline() -> None:
    assert set_credential_process("[default]\nregion = x", profile="default", command="c") == (
        "[default]\nregion = x\ncredential_process = c\n"
    )


def test_crlf_files_stay_crlf() -> None:
    text = "[profile a]\r\nregion = x\r\n"
    assert set_credential_process(text, profile="a", command="c") == (
        "[profile a]\r\nregion = x\r\ncredential_process = c\r\n"
    )


def test_a_similar_profile_name_is_not_touched() -> None:
    text = "[profile gated-two]\ncredential_process = keep\n"
    updated = set_credential_process(text, profile="gated", command="new")
    assert updated.startswith(text)
    assert "credential_process = keep" in updated


def test_command_writes_the_file_and_keeps_it_intact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config"
    config.write_text(ORIGINAL)
    config.chmod(0o640)
    code = main(
        [
            "configure",
            "--profile",
            "work",
            "--role",
            ROLE,
            "--api-url",
            "https://api.example/prod",
            "--base-profile",
            "base",
            "--config-file",
            str(config),
        ]
    )
    assert code == 0, capsys.readouterr().err
    text = config.read_text()
    lines = text.splitlines()
    [line] = [line for line in lines if line.startswith("credential_process")]
    assert " credentials --role " + ROLE in line
    assert "--api-url https://api.example/prod" in line
    assert "--profile base" in line
    assert text.replace(line, "credential_process = old-command --flag") == ORIGINAL
    assert config.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["config"]


def test_base_profile_equal_to_the_gated_profile_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config"
    config.write_text(ORIGINAL)
    code = main(
        [
            "configure",
            "--profile",
            "work",
            "--base-profile",
            "work",
            "--role",
            ROLE,
            "--config-file",
            str(config),
        ]
    )
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "tapgate: --base-profile must differ from --profile"
    ]
    assert config.read_text() == ORIGINAL
