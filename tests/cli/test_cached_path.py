"""The cached `tapgate credentials` path: what it imports, and that it agrees with the slow path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tapgate.cache import CredentialCache, cache_key
from tapgate.cli import credentials, fast
from tapgate.cli.parser import build_parser

ROOT = Path(__file__).resolve().parents[2]
API = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
ROLE = "arn:aws:iam::123456789012:role/admin"
ACCESS_KEY = "AKIAEXAMPLE000000000"
HEAVY = ("boto3", "botocore", "fido2", "tapgate.audit", "tapgate.client.api", "urllib.request")


def cached_document() -> dict[str, object]:
    expiration = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    return {
        "Version": 1,
        "AccessKeyId": "ASIACACHED",
        "SecretAccessKey": "cached-secret",
        "SessionToken": "cached-token",
        "Expiration": expiration,
    }


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    values = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "PYTHONPATH": str(ROOT),
    }
    store = CredentialCache(tmp_path / "cache" / "tapgate", clock=time.time)
    assert store.put(
        cache_key(api_url=API, role_arn=ROLE, identity="key:" + ACCESS_KEY), cached_document()
    )
    return values


PROBE = """
import sys
if sys.argv[1:]:
    from tapgate.cli.main import main
    code = main(sys.argv[1:])
else:
    code = 0  # the baseline: what this interpreter loads anyway (site, .pth hooks)
loaded = sorted(name for name in sys.modules if name.split(".")[0] in ("boto3", "botocore",
    "fido2") or name.startswith(("tapgate.audit", "tapgate.client.api", "urllib.request"))
    or name in ("argparse", "json", "typing", "dataclasses", "hashlib"))
import json  # only now: the probe's own report must not count
print(json.dumps({"code": code, "loaded": loaded}), file=sys.stderr)
"""


def probe(env: dict[str, str], *args: str) -> tuple[str, int, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True, check=False
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return done.stdout, report["code"], report["loaded"]


def test_cache_hit_imports_nothing_heavy(env: dict[str, str]) -> None:
    stdout, code, loaded = probe(env, "credentials", "--api-url", API, "--role", ROLE)
    _, _, baseline = probe(env)
    assert code == 0
    assert json.loads(stdout)["AccessKeyId"] == "ASIACACHED"
    # Nothing beyond what starting Python loads: not even argparse, json, typing or hashlib.
    assert set(loaded) <= set(baseline), sorted(set(loaded) - set(baseline))


def test_probe_sees_heavy_imports_on_a_miss(env: dict[str, str]) -> None:
    # The probe can fail: a miss (another role) goes to botocore, then fails to sign.
    env = {**env, "AWS_SECRET_ACCESS_KEY": "x"}
    other_role = ROLE.replace("admin", "other")
    _, code, loaded = probe(
        env, "credentials", "--api-url", "http://127.0.0.1:9", "--role", other_role
    )
    assert code != 0
    assert "botocore" in loaded


def test_importtime_of_the_hit_lists_no_heavy_module(env: dict[str, str]) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "tapgate.cli.main",
            "credentials",
            "--api-url",
            API,
            "--role",
            ROLE,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "tapgate.cli.fast" in imported
    assert not {name for name in imported if name.split(".")[0] in HEAVY}


@pytest.mark.parametrize(
    "argv",
    [
        ["--role", ROLE, "--api-url", API],
        ["--api-url=" + API, "--role=" + ROLE, "--authenticator", "usb"],
        ["--role", ROLE, "--api-url", API, "--min-remaining", "60", "--duration", "3600"],
        ["--role", ROLE, "--api-url", API + "/v1"],  # the stage in the URL: the same API
        ["--role", ROLE, "--api-url", API + "/v1/"],
    ],
)
def test_fast_path_answers_plain_invocations(env: dict[str, str], argv: list[str]) -> None:
    assert fast.cached_credentials(argv, env) is not None


@pytest.mark.parametrize(
    "argv",
    [
        ["--role", ROLE, "--api-url", API, "--no-cache"],
        ["--role", ROLE, "--api-url", API, "--help"],
        ["--role", ROLE, "--api-url", API, "--unknown", "x"],
        ["--role", ROLE, "--role", ROLE, "--api-url", API],
        ["--role", ROLE, "--api-url"],
        ["--role", ROLE],  # the API URL would come from the profile or local mode
        ["--api-url", API],
        ["--role", ROLE, "--api-url", API, "--duration", "soon"],
        ["--role", ROLE, "--api-url", API, "--duration", "899"],
        ["--role", ROLE, "--api-url", API, "--duration", "3601"],
        ["--role", ROLE, "--api-url", API, "--min-remaining", "-1"],
        ["--role", ROLE, "--api-url", API, "--profile", "other"],  # another base identity
        ["--role", ROLE.replace("admin", "other"), "--api-url", API],
    ],
)
def test_fast_path_steps_aside(env: dict[str, str], argv: list[str]) -> None:
    assert fast.cached_credentials(argv, env) is None


@pytest.mark.parametrize("duration", ["899", "3601", "43200"])
def test_a_duration_out_of_range_is_refused_even_on_a_cache_hit(
    env: dict[str, str], duration: str
) -> None:
    command = ["credentials", "--api-url", API, "--role", ROLE, "--duration", duration]
    done = subprocess.run(
        [sys.executable, "-m", "tapgate.cli.main", *command],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""  # not the cached credentials
    assert done.stderr.strip().splitlines() == [
        f"tapgate: --duration must be 900..3600 seconds (a role assumed by the broker lasts "
        f"at most an hour), not {duration}"
    ]


def test_fast_path_reads_the_api_url_from_the_environment(env: dict[str, str]) -> None:
    assert fast.cached_credentials(["--role", ROLE], {**env, "TAPGATE_API_URL": API + "/v1/"})


@pytest.mark.parametrize("url", [API, API + "/v1/"])
def test_fast_and_slow_paths_use_the_same_key(
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    argv = ["credentials", "--api-url", url, "--role", ROLE]
    args = build_parser(argv).parse_args(argv)
    assert credentials.run(args) == 0  # a miss would need botocore and fail here
    assert json.loads(capsys.readouterr().out)["AccessKeyId"] == "ASIACACHED"


def test_api_url_from_the_aws_profile(env: dict[str, str], tmp_path: Path) -> None:
    # Not on the command line nor in the environment: the slow path reads the profile.
    Path(env["AWS_CONFIG_FILE"]).write_text(f"[default]\ntapgate_api_url = {API}/v1/\n")
    stdout, code, loaded = probe(env, "credentials", "--role", ROLE)
    assert code == 0
    assert json.loads(stdout)["AccessKeyId"] == "ASIACACHED"
    assert "argparse" in loaded  # it was the full parser, not the fast path


def test_a_browser_sign_in_has_cache_entries_of_its_own(
    env: dict[str, str], tmp_path: Path
) -> None:
    """--browser answers from the cache on the fast path too, and never from an entry that a
    profile's key ceremony filled (nor the other way round)."""
    plain = ["--role", ROLE, "--api-url", API]
    assert fast.cached_credentials([*plain, "--browser"], env) is None
    assert fast.cached_credentials([*plain, "--browser", "--no-open"], env) is None
    store = CredentialCache(tmp_path / "cache" / "tapgate", clock=time.time)
    other = {**cached_document(), "AccessKeyId": "ASIABROWSER"}
    assert store.put(cache_key(api_url=API, role_arn=ROLE, identity="browser"), other)
    for argv in ([*plain, "--browser"], ["--browser", *plain, "--no-open"]):
        answer = fast.cached_credentials(argv, env)
        assert answer is not None
        assert json.loads(answer)["AccessKeyId"] == "ASIABROWSER"
    assert json.loads(fast.cached_credentials(plain, env) or "{}")["AccessKeyId"] == "ASIACACHED"
    assert fast.cached_credentials([*plain, "--no-open"], env) is None  # a usage error
    assert fast.cached_credentials([*plain, "--browser", "--browser"], env) is None
