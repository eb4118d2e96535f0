"""End to end in local mode (`tapgate local --config`), over HTTP with SigV4: a role that
requires certified keys, a test MDS3 blob and its root from files, soft keys with packed
attestation. One local mode for the whole flow (starting one costs seconds)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from fido2.webauthn import Aaguid

from tapgate.authenticators.soft import SoftAuthenticator, soft_client
from tapgate.local.config import load_config
from tapgate.local.server import LocalHandle, start_local
from tapgate_broker import wiring
from tests.assurance.pki import Pki, attestation_identity, metadata_entry
from tests.e2e.test_local_mode import send
from tests.support.broker_harness import get_assertion, make_credential

MODEL = Aaguid.parse("6d44ba9b-f6ec-4e36-9d01-0d0b0b7d5e6a")
NAME = "Tapgate Test Key"
ROLE_NAME = "tapgate-certified-admin"
TAPGATE = str(Path(sys.executable).parent / "tapgate")
NOT_ALLOWED = "https://tapgate.dev/problems/authenticator-not-allowed"


def _write_blob(path: Path, pki: Pki, *, no: int, statuses: tuple[str, ...]) -> None:
    entry = metadata_entry(
        aaguid=MODEL, roots=[pki.attestation_root], description=NAME, statuses=statuses
    )
    next_update = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)
    path.write_bytes(pki.blob(entries=[entry], no=no, next_update=next_update))


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[LocalHandle]:
    work = tmp_path_factory.mktemp("local-assurance")
    (work / "root.pem").write_bytes(pki.metadata_root.pem)
    _write_blob(work / "blob.jwt", pki, no=1, statuses=("FIDO_CERTIFIED_L1",))
    (work / "config.json").write_text(
        json.dumps(
            {
                "rpId": "ignored.example.com",  # a cdk.json key that only applies in AWS
                "gatedRoles": [
                    {
                        "name": ROLE_NAME,
                        "allowedSourceIdentities": ["tapgate-demo"],
                        "assurance": "certified",
                    }
                ],
                "metadataBlob": "blob.jwt",
                "metadataRoot": "root.pem",
            }
        )
    )
    handle = start_local(
        port=0, state_file=work / "local.json", config=load_config(work / "config.json")
    )
    try:
        yield handle
    finally:
        handle.stop()


def _signed(local: LocalHandle, path: str, body: Any) -> tuple[int, Any]:
    state = local.state
    user = state["demoUser"]
    data = json.dumps(body).encode()
    request = AWSRequest(
        method="POST",
        url=state["apiUrl"] + path,
        data=data,
        headers={"Content-Type": "application/json"},
    )
    SigV4Auth(
        Credentials(user["accessKeyId"], user["secretAccessKey"]), "execute-api", state["region"]
    ).add_auth(request)
    return send("POST", str(request.url), dict(request.headers.items()), data)


def _register(local: LocalHandle, key: Path, first: Path | None) -> dict[str, Any]:
    status, options = _signed(local, "/v1/registration/options", {})
    assert status == 200, options
    body: dict[str, Any] = {
        "ceremonyId": options["ceremonyId"],
        "credential": make_credential(soft_client(key, local.api_url), options["publicKey"]),
    }
    if first is not None:
        body["stepUp"] = get_assertion(soft_client(first, local.api_url), options["stepUp"])
    status, reply = _signed(local, "/v1/registration/verify", body)
    assert status == 201, reply
    return dict(reply["credential"])


def _cli(local: LocalHandle, work: Path, key: Path, role: str) -> subprocess.CompletedProcess[str]:
    """`tapgate credentials` for ``role`` with the soft key ``key``, as the AWS CLI runs it."""
    user = local.state["demoUser"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TAPGATE_"))}
    env.update(
        HOME=str(work),
        XDG_CACHE_HOME=str(work / "cache"),
        AWS_ACCESS_KEY_ID=user["accessKeyId"],
        AWS_SECRET_ACCESS_KEY=user["secretAccessKey"],
        AWS_CONFIG_FILE=str(work / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(work / "none"),
        AWS_DEFAULT_REGION=local.state["region"],
        TAPGATE_LOCAL_STATE=str(local.state_file),
    )
    command = [TAPGATE, "credentials", "--role", role, "--authenticator", f"soft:{key}"]
    return subprocess.run(
        [*command, "--no-cache"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=work,
        start_new_session=True,  # no controlling terminal
        check=False,
    )


def _sign_in(local: LocalHandle, key: Path, role: str) -> tuple[int, Any]:
    """Options for the role offer only the keys that meet it: ask for the `any` role's
    options (every key) and answer them for `role`, so the verify step decides."""
    status, options = _signed(local, "/v1/authentication/options", {})
    assert status == 200, options
    assertion = get_assertion(soft_client(key, local.api_url), options["publicKey"])
    return _signed(
        local,
        "/v1/authentication/verify",
        {"ceremonyId": options["ceremonyId"], "credential": assertion, "roleArn": role},
    )


def test_a_certified_role_takes_only_certified_keys_until_their_model_is_revoked(
    local: LocalHandle, pki: Pki, tmp_path: Path
) -> None:
    (role,) = [r for r in local.state["gatedRoles"] if r["arn"].endswith(f"/{ROLE_NAME}")]
    assert role["assurance"] == "certified"  # the state file says each role's requirement
    tags: list[dict[str, str]] = []
    sts = wiring.broker_from_env()._issuer._client  # moto ignores session tags: record them
    sts.meta.events.register(
        "provide-client-params.sts.AssumeRole",
        lambda params, **_: tags.append({t["Key"]: t["Value"] for t in params["Tags"]}),
    )
    keys = {
        "certified": {"attestation": attestation_identity(pki.attestation_root, aaguid=MODEL)},
        "synced": {
            "attestation": attestation_identity(pki.attestation_root, aaguid=MODEL),
            "backup_eligible": True,
        },
        "self-attested": {"aaguid": MODEL},
    }
    paths: dict[str, Path] = {}
    for name, options in keys.items():
        first = paths.get("certified")
        paths[name] = tmp_path / f"{name}.json"
        SoftAuthenticator.create(paths[name], **options)
        summary = _register(local, paths[name], first)
        expected = "device-bound" if name == "self-attested" else name
        assert summary["assurance"] == expected

    status, issued = _sign_in(local, paths["certified"], role["arn"])
    assert status == 200, issued
    assert tags[-1]["tapgate-assurance"] == "certified"
    for weaker in ("synced", "self-attested"):
        status, problem = _sign_in(local, paths[weaker], role["arn"])
        assert (status, problem["type"]) == (403, NOT_ALLOWED), problem
        assert "certified" in problem["detail"]
    assert len(tags) == 1  # nothing issued for the weaker keys

    # The same through the CLI (credential_process): the certified key gets the role's
    # credentials, a synced passkey one line on stderr and a non-zero exit.
    done = _cli(local, tmp_path, paths["certified"], role["arn"])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["AccessKeyId"]
    assert tags[-1]["tapgate-assurance"] == "certified"
    done = _cli(local, tmp_path, paths["synced"], role["arn"])
    assert done.returncode != 0 and done.stdout == "", done.stdout
    errors = [line for line in done.stderr.splitlines() if line.startswith("tapgate: ")]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    assert len(tags) == 2  # nothing issued for the synced passkey

    # The model is revoked in newer metadata: the next sign-in finds it.
    assert local.state_file is not None
    _write_blob(
        local.state_file.parent / "blob.jwt", pki, no=2, statuses=("FIDO_CERTIFIED_L1", "REVOKED")
    )
    status, problem = _sign_in(local, paths["certified"], role["arn"])
    assert (status, problem["type"]) == (403, NOT_ALLOWED), problem
    assert len(tags) == 2
