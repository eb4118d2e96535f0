"""AWS console sign-in links from role credentials (the federation endpoint).

The documented custom-identity-broker flow: ``Action=getSigninToken`` with a
``Session`` JSON of the temporary credentials returns a ``SigninToken``;
``Action=login`` with ``Issuer``, ``Destination`` and that token is the link.
No ``SessionDuration``: the credentials come from role chaining, for which the
endpoint refuses it, and the console session then lasts as long as they do.
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_enable-console-custom-url.html

The link and the request URL carry secrets: neither is ever logged.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

from tapgate_broker.core.errors import BadRequestError, DependencyError
from tapgate_broker.core.models import IssuedCredentials
from tapgate_contract.federation import MAX_ANSWER_BYTES, partition_of

Fetch = Callable[[str, float], bytes]


def _fetch(url: str, timeout: float) -> bytes:
    # The URL is built here from a fixed https endpoint (or local mode's stand-in).
    with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310
        body: bytes = answer.read(MAX_ANSWER_BYTES)
        return body


class FederationConsoleSignIn:
    """Builds console links; ``endpoint`` overrides the partition's (local mode only)."""

    def __init__(
        self,
        *,
        issuer: str,
        endpoint: str | None = None,
        fetch: Fetch = _fetch,
        timeout: float = 5,
    ) -> None:
        self._issuer = issuer
        self._endpoint = endpoint
        self._fetch = fetch
        self._timeout = timeout

    def sign_in_url(self, credentials: IssuedCredentials) -> str:
        partition = partition_of(credentials.role_arn)
        if partition is None:
            name = credentials.role_arn.split(":", 2)[1]
            raise BadRequestError(f"Console links are not available in partition {name}.")
        endpoint = self._endpoint or partition.federation_endpoint
        session = json.dumps(
            {
                "sessionId": credentials.access_key_id,
                "sessionKey": credentials.secret_access_key,
                "sessionToken": credentials.session_token,
            },
            separators=(",", ":"),
        )
        query = urllib.parse.urlencode({"Action": "getSigninToken", "Session": session})
        try:
            body = self._fetch(f"{endpoint}?{query}", self._timeout)
            token = json.loads(body)["SigninToken"]
            if not isinstance(token, str) or not token:
                raise ValueError("SigninToken is not a non-empty string")
        except urllib.error.HTTPError as exc:
            raise DependencyError(
                "The AWS sign-in endpoint did not accept the session; try again.",
                reason=f"federation getSigninToken HTTP {exc.code}",
            ) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise DependencyError(
                "The AWS sign-in endpoint could not be reached; try again.",
                reason=f"federation unreachable: {type(exc).__name__}",
            ) from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise DependencyError(
                "The AWS sign-in endpoint answered without a sign-in token.",
                reason="federation answer without SigninToken",
            ) from exc
        login = urllib.parse.urlencode(
            {
                "Action": "login",
                "Issuer": self._issuer,
                "Destination": partition.console_home,
                "SigninToken": token,
            }
        )
        return f"{endpoint}?{login}"
