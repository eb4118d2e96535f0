"""The dependency rules of the layout hold: the core never imports boto3."""

import subprocess
import sys


def _modules_after(import_line: str) -> set[str]:
    code = f"import sys; {import_line}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return set(out.split())


def test_core_imports_neither_boto3_nor_botocore():
    loaded = _modules_after("import tapgate_broker.core.service, tapgate_broker.settings")
    assert "fido2" in loaded
    assert not {m for m in loaded if m.split(".")[0] in {"boto3", "botocore"}}


def test_broker_code_does_not_import_the_cli_or_the_stacks():
    loaded = _modules_after("import tapgate_broker.handler")
    assert not {m for m in loaded if m.split(".")[0] in {"tapgate", "stacks", "aws_cdk"}}
