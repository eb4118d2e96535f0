"""The API URL a user gives: the contract's base URL, or the same URL with the stage `/v1`."""

from __future__ import annotations

import pytest

from tapgate.cli.context import normalize_api_url

BASE = "https://abc123.execute-api.us-east-1.amazonaws.com"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (BASE, BASE),
        (BASE + "/", BASE),
        (BASE + "/v1", BASE),
        (BASE + "/v1/", BASE),
        (BASE + "/v1/v1/", BASE + "/v1"),  # stripped once, not repeatedly
        (BASE + "/v10", BASE + "/v10"),
        (BASE + "/xv1", BASE + "/xv1"),
        ("https://tapgate.example.com/prefix/v1/", "https://tapgate.example.com/prefix"),
        ("http://localhost:8080/v1", "http://localhost:8080"),
        ("https://v1", "https://v1"),  # a host named v1 is not a stage
        ("https://v1/", "https://v1"),
    ],
)
def test_normalize_api_url(given: str, expected: str) -> None:
    assert normalize_api_url(given) == expected
