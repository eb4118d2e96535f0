"""The dependency rules of the layout hold: the core never imports boto3."""

import os
import subprocess
import sys


def _modules_after(import_line: str, **env: str) -> set[str]:
    code = f"import sys; {import_line}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1", **env},
    ).stdout
    return set(out.split())


# What the Broker brings (boto3's clients, fido2 with cryptography) and the tracer (the
# X-Ray SDK, which builds a botocore session when imported).
BROKER_AND_TRACER = {"boto3", "fido2", "cryptography", "aws_xray_sdk"}


def test_core_imports_neither_boto3_nor_botocore():
    loaded = _modules_after("import tapgate_broker.core.service, tapgate_broker.settings")
    assert "fido2" in loaded
    assert not {m for m in loaded if m.split(".")[0] in {"boto3", "botocore"}}


def test_broker_code_does_not_import_the_cli_or_the_stacks():
    loaded = _modules_after("import tapgate_broker.handler")
    assert not {m for m in loaded if m.split(".")[0] in {"tapgate", "stacks", "aws_cdk"}}


def test_importing_the_handler_leaves_the_broker_and_the_tracer_to_the_first_request():
    loaded = _modules_after("import tapgate_broker.handler", AWS_LAMBDA_INITIALIZATION_TYPE="")
    assert not {m for m in loaded if m.split(".")[0] in BROKER_AND_TRACER}
    assert "botocore.session" not in loaded


def test_a_snap_start_init_imports_what_the_first_request_needs():
    """Under SnapStart the init phase runs before the snapshot, off every caller's path."""
    loaded = _modules_after(
        "import tapgate_broker.handler", AWS_LAMBDA_INITIALIZATION_TYPE="snap-start"
    )
    assert {m.split(".")[0] for m in loaded} >= BROKER_AND_TRACER
    assert "tapgate_broker.core.service" in loaded
