"""What `tapgate local` prints once it runs: the numbered next steps, with absolute paths
so that they work from any directory and again after a restart."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from tapgate.local.state import DEFAULT_STATE_FILE
from tapgate_contract import routes as v1

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tapgate.local.server import LocalHandle


def next_steps(handle: LocalHandle) -> str:
    """What to do next, with absolute paths so it works from any directory."""
    state = handle.state
    user = state["demoUser"]
    tapgate = shutil.which("tapgate") or str(Path(sys.executable).parent / "tapgate")
    bin_dir = str(Path(tapgate).parent)
    key = str(handle.demo_key_file) if handle.demo_key_file else "PATH-TO-A-KEY-FILE"
    state_file = handle.state_file.resolve() if handle.state_file else Path(DEFAULT_STATE_FILE)
    lines = [
        f"tapgate local: API {handle.api_url}  (AWS endpoint {handle.aws_endpoint_url})",
        f"state file: {handle.state_file}",
    ]
    if handle.data_file is not None:
        lines.append(
            f"data kept across restarts in {handle.data_file} (`tapgate local --reset` starts over)"
        )
    lines += [*handle.notices, ""]
    lines += [
        "1. In another terminal, be the demo user (moto keys; local only), with the demo key:",
        f"  export PATH={bin_dir}:$PATH",
        f"  export AWS_ACCESS_KEY_ID={user['accessKeyId']}",
        f"  export AWS_SECRET_ACCESS_KEY={user['secretAccessKey']}",
        f"  export AWS_DEFAULT_REGION={state['region']}",
        f"  export TAPGATE_API_URL={handle.api_url}",
        f"  export TAPGATE_LOCAL_STATE={state_file}",
        f"  export TAPGATE_AUTHENTICATOR=soft:{key}",
        "",
        "2. Register the demo software key (a key file; tapgate refuses it outside local mode):",
        f"  tapgate register --authenticator soft:{key} --nickname demo",
        "",
        "3. Use a gated role from the AWS CLI: add this profile to ~/.aws/config",
        "   (or to a file named by AWS_CONFIG_FILE), then run the command below it:",
    ]
    for role in state["gatedRoles"]:
        name = role["arn"].rsplit("/", 1)[-1]
        lines += [
            f"  [profile {name}]",
            f"  credential_process = {tapgate} credentials"
            f" --api-url {handle.api_url}"
            f" --state-file {state_file}"
            f" --authenticator soft:{key}"
            f" --role {role['arn']}",
            f"  region = {state['region']}",
            f"  endpoint_url = {handle.aws_endpoint_url}",
            "",
            f"  aws sts get-caller-identity --profile {name}",
            "",
        ]
    lines += [
        "4. In a browser: create a one-time enrollment link as the demo user (an admin here),",
        "   open it, enroll a passkey, then sign in with it on the page:",
        f"  tapgate enroll --user {user['userName']}",
        f"  web page: {handle.api_url}{v1.PAGE.url_path}",
        "",
        "Not enforced in local mode: IAM conditions and trust policies (moto ignores them).",
        "Stop with Ctrl-C.",
    ]
    return "\n".join(lines)
