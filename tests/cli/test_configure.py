"""`tapgate configure`: one credential_process line changes; the rest of the file stays;
an existing profile changes only after a yes or with --force; what it writes is complete."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tapgate.cli.configure import set_credential_process
from tapgate.cli.main import main
from tests.cli.terminal import on_a_terminal

ROOT = Path(__file__).resolve().parents[2]
API = "https://abc123.execute-api.eu-west-1.amazonaws.com"

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
            "--force",  # the profile exists
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


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TAPGATE_"))}
    return {**values, "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}


def configure(env: dict[str, str], tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`tapgate configure` without a terminal (a new session)."""
    return subprocess.run(
        [sys.executable, "-m", "tapgate.cli.main", "configure", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        start_new_session=True,
        check=False,
    )


def work_profile(config: Path) -> list[str]:
    return ["--profile", "work", "--role", ROLE, "--api-url", API, "--config-file", str(config)]


def test_an_existing_profile_is_kept_without_a_terminal_or_force(
    env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "config"
    config.write_text(ORIGINAL)
    done = configure(env, tmp_path, *work_profile(config))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"tapgate: profile work already exists in {config}; pass --force to replace its "
        "credential_process, or choose another --profile"
    ]
    assert config.read_text() == ORIGINAL


@pytest.mark.parametrize(("answer", "replaced"), [("y", True), ("n", False), ("", False)])
def test_on_a_terminal_it_asks_first(
    env: dict[str, str], tmp_path: Path, answer: str, replaced: bool
) -> None:
    config = tmp_path / "config"
    config.write_text(ORIGINAL)
    command = [sys.executable, "-m", "tapgate.cli.main", "configure", *work_profile(config)]
    done, terminal = on_a_terminal(command, env=env, cwd=tmp_path, answer=answer, when="[y/N]")
    assert f"Profile work already exists in {config}; replace its credential_process?" in terminal
    assert done.returncode == (0 if replaced else 1), done.stderr
    assert (config.read_text() != ORIGINAL) is replaced


def test_the_same_settings_again_change_nothing_and_ask_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "config"
    assert configure(env, tmp_path, *work_profile(config)).returncode == 0
    written = config.read_text()
    done = configure(env, tmp_path, *work_profile(config))
    assert done.returncode == 0, done.stderr
    assert "already runs" in done.stdout
    assert config.read_text() == written


def test_the_api_url_from_the_environment_is_written_out(
    env: dict[str, str], tmp_path: Path
) -> None:
    """The profile runs wherever the AWS CLI runs: it must not depend on this shell."""
    config = tmp_path / "config"
    env = {**env, "TAPGATE_API_URL": API + "/v1/", "TAPGATE_AUTHENTICATOR": "soft:key.json"}
    done = configure(
        env, tmp_path, "--profile", "gated", "--role", ROLE, "--config-file", str(config)
    )
    assert done.returncode == 0, done.stderr
    line = next(x for x in config.read_text().splitlines() if x.startswith("credential_process"))
    assert f"--api-url {API} " in line
    assert f"--authenticator soft:{tmp_path / 'key.json'}" in line
    # this shell's AWS CLI reads ~/.aws/config, not the file written: the Try line says so
    assert (
        f"Try: AWS_CONFIG_FILE={config} aws sts get-caller-identity --profile gated" in done.stdout
    )


@pytest.mark.parametrize(
    ("args", "fault"),
    [
        ([], "no tapgate API URL"),  # a profile that could never work is not written
        (["--api-url", API, "--duration", "600"], "--duration must be 900..3600"),
        (["--api-url", API, "--duration", "7200"], "--duration must be 900..3600"),
        (["--api-url", API, "--authenticator", "bluetooth"], "--authenticator must be usb"),
    ],
)
def test_what_would_fail_later_is_refused_now(
    env: dict[str, str], tmp_path: Path, args: list[str], fault: str
) -> None:
    config = tmp_path / "config"
    done = configure(
        env, tmp_path, "--profile", "gated", "--role", ROLE, "--config-file", str(config), *args
    )
    assert done.returncode != 0
    assert fault in done.stderr
    assert not config.exists()


def test_the_base_profiles_api_url_is_the_one_written(env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(f"[profile base]\ntapgate_api_url = {API}/v1\n")
    env = {**env, "AWS_CONFIG_FILE": str(config)}
    done = configure(env, tmp_path, "--profile", "gated", "--role", ROLE, "--base-profile", "base")
    assert done.returncode == 0, done.stderr
    assert f"--api-url {API} --profile base" in config.read_text()


def test_a_browser_profile_runs_credentials_with_browser_and_no_base_identity(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config"
    args = ["configure", "--profile", "web", "--role", ROLE, "--api-url", API]
    assert main([*args, "--browser", "--config-file", str(config)]) == 0
    [line] = [x for x in config.read_text().splitlines() if x.startswith("credential_process")]
    assert line.endswith(f"credentials --role {ROLE} --browser --api-url {API}")
    assert main([*args, "--browser", "--base-profile", "base", "--config-file", str(config)]) == 2
    assert "takes no --base-profile" in capsys.readouterr().err
