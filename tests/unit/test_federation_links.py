"""Console links from the broker's federation adapter, with the endpoint's answer injected."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from tapgate_broker.adapters.federation import FederationConsoleSignIn
from tapgate_broker.core.errors import BadRequestError, DependencyError
from tapgate_broker.core.models import IssuedCredentials


def credentials(role_arn: str = "arn:aws:iam::123456789012:role/admin") -> IssuedCredentials:
    return IssuedCredentials(
        "ASIAEXAMPLE", "secret", "token", "2030-01-01T00:00:00Z", role_arn, "a"
    )


def answering(body: bytes, asked: list[str]) -> FederationConsoleSignIn:
    def fetch(url: str, timeout: float) -> bytes:
        asked.append(url)
        return body

    return FederationConsoleSignIn(issuer="https://tapgate.example.com", fetch=fetch)


@pytest.mark.parametrize(
    ("partition", "endpoint", "console"),
    [
        ("aws", "https://signin.aws.amazon.com/federation", "https://console.aws.amazon.com/"),
        (
            "aws-us-gov",
            "https://signin.amazonaws-us-gov.com/federation",
            "https://console.amazonaws-us-gov.com/",
        ),
        ("aws-cn", "https://signin.amazonaws.cn/federation", "https://console.amazonaws.cn/"),
    ],
)
def test_the_link_uses_the_partitions_endpoint_and_console(partition, endpoint, console):
    asked: list[str] = []
    link = answering(b'{"SigninToken": "tok"}', asked).sign_in_url(
        credentials(f"arn:{partition}:iam::123456789012:role/admin")
    )
    request = urlsplit(asked[0])
    assert f"{request.scheme}://{request.netloc}{request.path}" == endpoint
    session = json.loads(parse_qs(request.query)["Session"][0])
    assert session == {"sessionId": "ASIAEXAMPLE", "sessionKey": "secret", "sessionToken": "token"}
    assert "SessionDuration" not in parse_qs(request.query)  # refused for role chaining
    query = parse_qs(urlsplit(link).query)
    assert link.startswith(endpoint + "?")
    assert query == {
        "Action": ["login"],
        "Issuer": ["https://tapgate.example.com"],
        "Destination": [console],
        "SigninToken": ["tok"],
    }


def test_a_partition_without_a_console_endpoint_is_refused_before_any_request():
    asked: list[str] = []
    with pytest.raises(BadRequestError):
        answering(b"{}", asked).sign_in_url(credentials("arn:aws-iso:iam::123456789012:role/a"))
    assert asked == []


@pytest.mark.parametrize("body", [b"", b"not json", b"{}", b'{"SigninToken": ""}', b"[1]"])
def test_an_answer_without_a_sign_in_token_is_a_503(body):
    with pytest.raises(DependencyError) as caught:
        answering(body, []).sign_in_url(credentials())
    assert caught.value.status == 503
