"""The assurance and metadata cores stay pure: no boto3 or botocore, no network client."""

import subprocess
import sys


def test_assurance_and_metadata_cores_import_no_aws_sdk_or_http_client():
    code = (
        "import sys; import tapgate_broker.core.assurance, tapgate_broker.core.metadata; "
        "print('\\n'.join(sorted(sys.modules)))"
    )
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        ).stdout.split()
    )
    assert {"fido2.mds3", "cryptography"} <= loaded
    assert not {m for m in loaded if m.split(".")[0] in {"boto3", "botocore", "urllib3"}}
    assert "urllib.request" not in loaded
