"""Request parsing refuses every malformed body with the right 4xx."""

import json

import pytest

from tapgate_broker.api import requests
from tapgate_broker.core.errors import BadRequestError, PayloadTooLargeError

JSON = "application/json"


def test_a_json_object_parses():
    assert requests.parse_json_body('{"a": 1}', content_type=JSON) == {"a": 1}


def test_content_type_parameters_are_accepted():
    assert requests.parse_json_body("{}", content_type="application/json; charset=utf-8") == {}


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[1, 2]",
        '"a string"',
        '{"a": 1, "a": 2}',
        '{"a": NaN}',
        '{"a": Infinity}',
        '{"a": 1',
        "\udcff",
        '{"n": ' + "9" * 5000 + "}",
        "[" * 5000 + "]" * 5000,
        json.dumps({"a": [[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}),
    ],
)
def test_malformed_bodies_are_bad_requests(body):
    with pytest.raises(BadRequestError):
        requests.parse_json_body(body, content_type=JSON)


def test_missing_body_is_a_bad_request_when_required():
    with pytest.raises(BadRequestError):
        requests.parse_json_body(None, content_type=JSON)


def test_missing_body_is_empty_when_optional():
    assert requests.parse_json_body(None, content_type=None, required=False) == {}


def test_oversized_body_is_413():
    body = json.dumps({"x": "a" * requests.MAX_BODY_BYTES})
    with pytest.raises(PayloadTooLargeError):
        requests.parse_json_body(body, content_type=JSON)


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_wrong_content_type_is_415(content_type):
    with pytest.raises(requests.UnsupportedMediaTypeError) as caught:
        requests.parse_json_body("{}", content_type=content_type)
    assert caught.value.status == 415


@pytest.mark.parametrize("value", [None, 12, "short", "has space in it!!!!", "x" * 65])
def test_ceremony_id_must_look_like_one(value):
    with pytest.raises(BadRequestError):
        requests.required_ceremony_id({"ceremonyId": value})


@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:iam::123456789012:user/alice",
        "arn:aws:iam::12345:role/x",
        "role/x",
        7,
        "arn:aws:iam::123456789012:role/" + "a" * 600,
    ],
)
def test_role_arn_must_be_a_role_arn(value):
    with pytest.raises(BadRequestError):
        requests.role_arn({"roleArn": value}, required=True)


def test_role_arn_accepts_role_paths_and_partitions():
    arn = "arn:aws-us-gov:iam::123456789012:role/team/admin"
    assert requests.role_arn({"roleArn": arn}, required=True) == arn


@pytest.mark.parametrize("value", [True, "900", 1.5])
def test_duration_must_be_an_integer(value):
    with pytest.raises(BadRequestError):
        requests.optional_int({"durationSeconds": value}, "durationSeconds")
