"""AWS console sign-in URLs from role credentials (the federation endpoint).

The documented custom-identity-broker flow: ``Action=getSigninToken`` with a
``Session`` JSON of the temporary credentials (and an optional
``SessionDuration``) returns a ``SigninToken``; ``Action=login`` with
``Issuer``, ``Destination`` and that token is the URL the browser opens. See
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_enable-console-custom-url.html

The URL builders do no I/O; :func:`fetch_signin_token` is the one HTTP call.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping

from tapgate_contract.federation import (
    MAX_ANSWER_BYTES,
    PARTITIONS,  # noqa: F401 -- tapgate.console.PARTITIONS
    Partition,
)
from tapgate_contract.federation import SESSION_DURATION_MAX_SECONDS as SESSION_DURATION_MAX
from tapgate_contract.federation import SESSION_DURATION_MIN_SECONDS as SESSION_DURATION_MIN
from tapgate_contract.federation import partition_of as _known_partition


class ConsoleError(Exception):
    """The federation endpoint could not be reached or gave no sign-in token."""


def partition_of(arn: str) -> Partition:
    """The partition named in an ARN (``arn:PARTITION:...``); ValueError for another."""
    partition = _known_partition(arn)
    if partition is None:
        raise ValueError(f"not an ARN in a known partition: {arn!r}")
    return partition


def destination_url(partition: Partition, *, region: str | None, path: str | None) -> str:
    """The console page to land on: ``https://[region.]console.../path[?region=R]``."""
    host = f"{region}.{partition.console_host}" if region else partition.console_host
    clean = (path or "/").strip()
    if clean.startswith(("https://", "http://")):
        return clean  # a full console URL given as --destination
    if not clean.startswith("/"):
        clean = "/" + clean
    url = f"https://{host}{clean}"
    if region and "region=" not in clean:
        url += ("&" if "?" in clean else "?") + urllib.parse.urlencode({"region": region})
    return url


def signin_token_request_url(
    credentials: Mapping[str, str],
    *,
    endpoint: str,
    session_duration: int | None = None,
) -> str:
    """The ``Action=getSigninToken`` URL for temporary role credentials."""
    session = json.dumps(
        {
            "sessionId": credentials["AccessKeyId"],
            "sessionKey": credentials["SecretAccessKey"],
            "sessionToken": credentials["SessionToken"],
        },
        separators=(",", ":"),
    )
    params: dict[str, str] = {"Action": "getSigninToken"}
    if session_duration is not None:
        if not SESSION_DURATION_MIN <= session_duration <= SESSION_DURATION_MAX:
            raise ValueError(
                f"session duration must be {SESSION_DURATION_MIN}..{SESSION_DURATION_MAX} seconds"
            )
        params["SessionDuration"] = str(session_duration)
    params["Session"] = session
    return f"{endpoint}?{urllib.parse.urlencode(params)}"


def login_url(*, endpoint: str, signin_token: str, issuer: str, destination: str) -> str:
    """The ``Action=login`` URL the browser opens."""
    params = {
        "Action": "login",
        "Issuer": issuer,
        "Destination": destination,
        "SigninToken": signin_token,
    }
    return f"{endpoint}?{urllib.parse.urlencode(params)}"


def fetch_signin_token(request_url: str, *, timeout: float = 30) -> str:
    """GET the getSigninToken URL; the answer is ``{"SigninToken": "..."}``."""
    scheme = urllib.parse.urlsplit(request_url).scheme
    if scheme not in ("https", "http"):
        raise ConsoleError(f"federation endpoint must be an http(s) URL, not {scheme!r}")
    try:
        with urllib.request.urlopen(request_url, timeout=timeout) as response:  # noqa: S310
            body = response.read(MAX_ANSWER_BYTES)
    except urllib.error.HTTPError as exc:
        raise ConsoleError(
            f"the federation endpoint refused the session (HTTP {exc.code})"
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ConsoleError(f"cannot reach the federation endpoint: {reason}") from exc
    try:
        token = json.loads(body)["SigninToken"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ConsoleError("the federation endpoint answered without a SigninToken") from exc
    if not isinstance(token, str) or not token:
        raise ConsoleError("the federation endpoint answered without a SigninToken")
    return token
