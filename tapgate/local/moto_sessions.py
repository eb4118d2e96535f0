"""Role sessions kept across a local-mode restart, through moto's STS backend.

moto has no call that takes given key material, so a saved session is assumed again
through moto's STS backend and given its saved key, secret, token and expiry (moto is
pinned; tests/e2e/test_local_restart.py fails if that stops working).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


def live_sessions(account_id: str) -> list[dict[str, str]]:
    """moto's unexpired role sessions, as the data file keeps them."""
    from moto.backends import get_backend  # noqa: PLC0415 -- moto only in local mode
    from moto.core.utils import utcnow  # noqa: PLC0415

    from tapgate.local.bootstrap import LOCAL_PARTITION  # noqa: PLC0415

    sts: Any = get_backend("sts")[account_id][LOCAL_PARTITION]
    now = utcnow()
    return [
        {
            "accessKeyId": session.access_key_id,
            "secretAccessKey": session.secret_access_key,
            "sessionToken": session.session_token,
            "roleArn": session.role_arn,
            "sessionName": session.session_name,
            "expiration": session.expiration.isoformat(),  # moto's naive UTC
        }
        for session in sts.assumed_roles
        if session.expiration > now
    ]


def restore_sessions(sessions: list[dict[str, str]], *, account_id: str, region: str) -> None:
    """Give moto back the saved sessions that have not expired, with their own keys."""
    from moto.backends import get_backend  # noqa: PLC0415
    from moto.core.utils import utcnow  # noqa: PLC0415

    from tapgate.local.bootstrap import LOCAL_PARTITION  # noqa: PLC0415
    from tapgate_contract.limits import MIN_SESSION_SECONDS  # noqa: PLC0415

    sts: Any = get_backend("sts")[account_id][LOCAL_PARTITION]
    now = utcnow()
    for saved in sessions:
        expiration = datetime.fromisoformat(saved["expiration"])
        if expiration <= now:
            continue
        session = sts.assume_role(
            region_name=region,
            role_session_name=saved["sessionName"],
            role_arn=saved["roleArn"],
            policy="",
            duration=MIN_SESSION_SECONDS,  # replaced by the saved expiration below
            external_id="",
        )
        session.access_key_id = session.access_key.access_key_id = saved["accessKeyId"]
        session.secret_access_key = saved["secretAccessKey"]
        session.access_key.secret_access_key = saved["secretAccessKey"]
        session.session_token = saved["sessionToken"]
        session.expiration = expiration
