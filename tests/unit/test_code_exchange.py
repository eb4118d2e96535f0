"""The shapes a browser sign-in accepts, and PKCE's S256 (core.code_exchange), in memory."""

from __future__ import annotations

import pytest

from tapgate_broker.core import code_exchange
from tapgate_broker.core.code_exchange import SignInCode
from tapgate_broker.core.errors import BadRequestError

# RFC 7636 appendix B.
RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_s256_is_rfc_7636s_transform():
    assert code_exchange.s256(RFC_VERIFIER) == RFC_CHALLENGE


def record(**changes: object) -> SignInCode:
    fields: dict[str, object] = {
        "code_hash": "0" * 64,
        "ceremony_id": "c" * 32,
        "user_name": "alice",
        "credential_id": b"k",
        "role_arn": "arn:aws:iam::123456789012:role/x",
        "user_verified": True,
        "assurance": "any",
        "code_challenge": RFC_CHALLENGE,
        "redirect_port": 50000,
        "expires_at": 0,
        **changes,
    }
    return SignInCode(**fields)  # type: ignore[arg-type]


def test_the_verifier_and_the_port_must_both_match():
    assert code_exchange.verifier_matches(record(), verifier=RFC_VERIFIER, port=50000)
    assert not code_exchange.verifier_matches(record(), verifier=RFC_VERIFIER, port=50001)
    other = RFC_VERIFIER[:-1] + "1"
    assert not code_exchange.verifier_matches(record(), verifier=other, port=50000)


def test_the_callback_is_loopback_only():
    assert code_exchange.redirect_uri(50000) == "http://127.0.0.1:50000/callback"


@pytest.mark.parametrize("port", [80, 1023, 65536, -1, "8080", True, None, 8080.0])
def test_a_port_outside_the_unprivileged_range_or_not_an_integer_is_refused(port):
    with pytest.raises(BadRequestError, match="redirectPort"):
        code_exchange.check_port(port)


@pytest.mark.parametrize("port", [1024, 49152, 65535])
def test_an_unprivileged_port_is_accepted(port):
    assert code_exchange.check_port(port) == port


@pytest.mark.parametrize(
    "verifier", ["a" * 42, "a" * 129, "a" * 42 + "+", "a" * 42 + "=", "é" * 43, 7, None]
)
def test_a_verifier_outside_rfc_7636s_shape_is_refused(verifier):
    with pytest.raises(BadRequestError, match="codeVerifier"):
        code_exchange.check_verifier(verifier)


@pytest.mark.parametrize("verifier", ["a" * 43, "A-._~" * 25 + "abc", RFC_VERIFIER])
def test_a_verifier_of_rfc_7636s_shape_is_accepted(verifier):
    assert code_exchange.check_verifier(verifier) == verifier


@pytest.mark.parametrize(
    ("challenge", "method"),
    [
        (RFC_CHALLENGE, "plain"),  # plain would put the verifier in the page's URL
        (RFC_CHALLENGE, None),
        (RFC_CHALLENGE + "=", "S256"),
        (RFC_CHALLENGE[:42], "S256"),
        ("+" * 43, "S256"),
        (None, "S256"),
    ],
)
def test_only_an_s256_challenge_is_accepted(challenge, method):
    with pytest.raises(BadRequestError, match="codeChallenge"):
        code_exchange.code_request(challenge=challenge, method=method, port=50000)


@pytest.mark.parametrize("code", ["a" * 42, "a" * 44, "+" * 43, 1, None])
def test_a_code_of_another_shape_is_refused(code):
    with pytest.raises(BadRequestError, match="code"):
        code_exchange.check_code(code)


def test_a_new_code_has_256_bits_and_only_its_hash_is_kept():
    code, code_hash = code_exchange.new_code()
    assert code_exchange.check_code(code) == code
    assert code_hash == code_exchange.hash_code(code)
    assert code not in code_hash
