"""Browser sign-in for the CLI, end to end: `tapgate credentials --browser` against
``tapgate local``, Chromium with a virtual authenticator holding a registered passkey.

0. The page refuses a link whose port is not a plain unprivileged number.
1. `--no-open`: the CLI prints the page's address on stderr; the test opens it, presses the
   button; the CLI prints credential_process JSON that works as the gated role.
2. The way the AWS CLI uses it: botocore (what the AWS CLI runs on) resolves a profile whose
   credential_process is `tapgate credentials --browser`; the "browser" that
   ``webbrowser`` opens is $BROWSER, here a script that hands the address to Chromium.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.browser import page
from tests.browser.chrome import Browser
from tests.browser.local_api import create_enrollment

pytestmark = pytest.mark.browser
TAPGATE = str(Path(sys.executable).with_name("tapgate"))


def cli_environment(tmp: Path, **extra: str) -> dict[str, str]:
    """No AWS credentials at all (a browser sign-in needs none) and a cache of its own."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TAPGATE_"))}
    environ.update(
        AWS_CONFIG_FILE=str(tmp / "aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp / "none"),
        XDG_CACHE_HOME=str(tmp / "cache"),
        **extra,
    )
    return environ


def press_sign_in(browser: Browser, url: str, role_arn: str) -> None:
    page.open_page(browser, url)
    assert page.wait_for_any(browser, "cli-form", "cli-error") == "cli-form"
    assert page.text(browser, "cli-role-arn") == role_arn
    page.element(browser, "cli-button").click()
    browser.wait(30).until(
        lambda d: (
            d.current_url.startswith("http://127.0.0.1:")
            and "close this tab" in d.find_element("tag name", "body").text
        ),
        "the browser did not reach the CLI's callback page",
    )


def assert_works_as(state: dict[str, Any], document: dict[str, Any], role_arn: str) -> None:
    assert document["Version"] == 1
    sts = boto3.client(
        "sts",
        endpoint_url=state["awsEndpointUrl"],
        region_name=state["region"],
        aws_access_key_id=document["AccessKeyId"],
        aws_secret_access_key=document["SecretAccessKey"],
        aws_session_token=document["SessionToken"],
    )
    role_name = role_arn.rsplit("/", 1)[-1]
    assert f":assumed-role/{role_name}/" in sts.get_caller_identity()["Arn"]


def test_the_cli_signs_in_through_the_browser_and_the_aws_sdk_uses_it(
    local: Any, state: dict[str, Any], browser: Browser, tmp_path: Path
) -> None:
    # A link that names any target but the CLI's loopback port is refused by the page itself.
    challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    role = str(state["gatedRoles"][0]["arn"])
    for port in ("80", "8080@evil.example", "65536", ""):
        query = f"signin=cli&role={role}&port={port}&state={'s' * 20}&code_challenge={challenge}"
        page.open_page(browser, f"{state['apiUrl']}/v1/?{query}")
        assert page.wait_for_any(browser, "cli-error") == "cli-error"
        assert "port of the tapgate CLI" in page.text(browser, "cli-error")
        assert not page.visible(browser, "cli-form")

    link = create_enrollment(state, str(state["demoUser"]["userName"]))
    page.enroll(browser, link["url"], "Laptop passkey")
    command = [
        TAPGATE,
        "credentials",
        "--role",
        role,
        "--browser",
        "--api-url",
        state["apiUrl"],
        "--state-file",
        str(local.state_file),
    ]

    # 1. --no-open: the address on stderr, credential_process JSON on stdout.
    cli = subprocess.Popen(
        [*command, "--no-open"],
        env=cli_environment(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # no controlling terminal: everything on stderr
    )
    try:
        assert cli.stderr is not None
        url = ""
        while not url.startswith("http"):
            line = cli.stderr.readline()
            assert line, "the CLI printed no address"
            url = line.strip()
        assert url.startswith(f"{state['apiUrl']}/v1/?signin=cli&")
        press_sign_in(browser, url, role)
        out, err = cli.communicate(timeout=60)
    finally:
        if cli.poll() is None:
            cli.kill()
    assert cli.returncode == 0, err
    assert_works_as(state, json.loads(out), role)

    # 2. A profile using --browser, resolved by botocore as the AWS CLI does; a cold cache.
    opened = tmp_path / "opened-url"
    fake_browser = tmp_path / "browser"
    fake_browser.write_text(
        f'#!/bin/sh\nprintf %s "$1" > {opened}.part && mv {opened}.part {opened}\n'
    )
    fake_browser.chmod(0o700)
    (tmp_path / "aws-config").write_text(
        "[profile tapgate-browser]\n"
        f"credential_process = {' '.join(command)}\n"
        f"region = {state['region']}\n"
    )
    # botocore in a process of its own, as the AWS CLI is: it runs credential_process.
    resolver = subprocess.Popen(
        [sys.executable, "-c", RESOLVE_PROFILE],
        env=cli_environment(tmp_path / "cold", BROWSER=str(fake_browser))
        | {"AWS_CONFIG_FILE": str(tmp_path / "aws-config")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        browser.wait(30).until(lambda _: opened.exists() or resolver.poll() is not None)
        assert opened.exists(), resolver.communicate()
        press_sign_in(browser, opened.read_text(), role)
        out, err = resolver.communicate(timeout=60)
    finally:
        if resolver.poll() is None:
            resolver.kill()
    assert resolver.returncode == 0, err
    assert_works_as(state, json.loads(out), role)


RESOLVE_PROFILE = """
import json, botocore.session
frozen = botocore.session.Session(profile="tapgate-browser").get_credentials()
frozen = frozen.get_frozen_credentials()
print(json.dumps({"Version": 1, "AccessKeyId": frozen.access_key,
                  "SecretAccessKey": frozen.secret_key, "SessionToken": frozen.token}))
"""
