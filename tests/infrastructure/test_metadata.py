"""The metadata refresh in the template: deployed only when configured, a private versioned
bucket, a function that may touch one object, a daily schedule, and alarms on a refused
download and on errors. ``raw`` is the suite's full context, which sets both metadata keys;
its synth ran cdk-nag, which raises on an open finding."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from stacks import metadata as stack_side
from stacks.config import (
    DEFAULT_METADATA_BLOB_URL,
    MAX_METADATA_ROOT_CHARS,
    ConfigError,
    config_from_mapping,
)
from tapgate_broker import metadata_refresh as handler_side
from tapgate_broker.core.metadata import DEFAULT_BLOB_URL
from tapgate_contract import environment
from tests.infrastructure.conftest import (
    ALARM_TOPIC_ARN,
    KMS_KEY_ARN,
    METADATA_BLOB_URL,
    METADATA_ROOT_PEM,
    REPO,
    cdk_json_context,
    only,
)
from tests.infrastructure.conftest import resources_of as _resources

SMALL_PEM = (REPO / "lambdas/tapgate_broker/metadata_roots/globalsign-root-ca-r3.pem").read_text()
BLOB_URL, ROOT_PEM = METADATA_BLOB_URL, METADATA_ROOT_PEM


def _function(raw: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return only(raw, "AWS::Lambda::Function", Handler=stack_side.HANDLER)


def _bucket(raw: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (bucket,) = _resources(raw, "AWS::S3::Bucket").items()
    return bucket


def test_without_the_metadata_keys_nothing_is_deployed(shipped: dict[str, Any]) -> None:
    """cdk.json as shipped sets neither key (and no role can require certified yet)."""
    template = shipped["template"]
    assert not _resources(template, "AWS::S3::Bucket")
    assert not _resources(template, "AWS::Events::Rule")
    handlers = {
        f["Properties"]["Handler"] for f in _resources(template, "AWS::Lambda::Function").values()
    }
    assert stack_side.HANDLER not in handlers


def test_the_bucket_is_private_versioned_encrypted_and_kept(raw: dict[str, Any]) -> None:
    _, bucket = _bucket(raw)
    props = bucket["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    # The full context's kmsKey (an existing key) encrypts the bucket too.
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {
            "BucketKeyEnabled": True,
            "ServerSideEncryptionByDefault": {
                "KMSMasterKeyID": KMS_KEY_ARN,
                "SSEAlgorithm": "aws:kms",
            },
        }
    ]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert bucket["DeletionPolicy"] == "Retain"
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 400}


def test_the_bucket_refuses_requests_without_tls(raw: dict[str, Any]) -> None:
    bucket_id, _ = _bucket(raw)
    (policy,) = _resources(raw, "AWS::S3::BucketPolicy").values()
    assert policy["Properties"]["Bucket"] == {"Ref": bucket_id}
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Action"] == "s3:*"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_function_runs_the_refresh_with_its_configuration(
    raw: dict[str, Any],
) -> None:
    bucket_id, _ = _bucket(raw)
    _, function = _function(raw)
    props = function["Properties"]
    assert (props["Runtime"], props["Architectures"]) == ("python3.12", ["arm64"])
    assert props["TracingConfig"] == {"Mode": "Active"}
    variables = props["Environment"]["Variables"]
    assert variables[stack_side.ENV_BUCKET] == {"Ref": bucket_id}
    assert variables[stack_side.ENV_KEY] == stack_side.OBJECT_KEY
    assert variables[stack_side.ENV_URL] == BLOB_URL
    assert variables[stack_side.ENV_ROOT] == ROOT_PEM
    assert variables["POWERTOOLS_SERVICE_NAME"] == handler_side.SERVICE
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == handler_side.NAMESPACE


def test_the_function_may_read_and_replace_only_the_blob(raw: dict[str, Any]) -> None:
    bucket_id, _ = _bucket(raw)
    _, function = _function(raw)
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = [
        p
        for p in _resources(raw, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    s3_statements = [s for s in statements if str(s["Action"]).count("s3:")]
    object_arn = {
        "Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, f"/{stack_side.OBJECT_KEY}"]]
    }
    assert s3_statements == [
        {"Action": ["s3:GetObject", "s3:PutObject"], "Effect": "Allow", "Resource": object_arn},
        {
            "Action": "s3:ListBucket",
            "Condition": {"StringEquals": {"s3:prefix": [stack_side.OBJECT_KEY]}},
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [bucket_id, "Arn"]},
        },
    ]
    kms_statements = [s for s in statements if str(s["Action"]).count("kms:")]
    assert kms_statements == [
        {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": {
                        "Fn::Join": ["", ["s3.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]
                    }
                }
            },
            "Effect": "Allow",
            "Resource": KMS_KEY_ARN,
        }
    ]
    others = {
        a
        for s in statements
        if s not in s3_statements + kms_statements
        for a in _as_list(s["Action"])
    }
    assert others == {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    assert "ManagedPolicyArns" not in raw["Resources"][role_id]["Properties"]


def test_the_broker_may_read_only_the_blob_and_knows_where_it_is(raw: dict[str, Any]) -> None:
    bucket_id, _ = _bucket(raw)
    _, broker = only(raw, "AWS::Lambda::Function", Handler="tapgate_broker.handler.handler")
    variables = broker["Properties"]["Environment"]["Variables"]
    assert variables[environment.METADATA_BUCKET] == {"Ref": bucket_id}
    assert variables[environment.METADATA_KEY] == stack_side.OBJECT_KEY
    assert variables[environment.METADATA_ROOT] == ROOT_PEM
    role_id = broker["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = [
        s
        for p in _resources(raw, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    s3 = [s for s in statements if any(a.startswith("s3:") for a in _as_list(s["Action"]))]
    assert s3 == [
        {
            "Action": "s3:GetObject",
            "Effect": "Allow",
            "Resource": {
                "Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, f"/{stack_side.OBJECT_KEY}"]]
            },
        },
        {
            "Action": "s3:ListBucket",
            "Condition": {"StringEquals": {"s3:prefix": [stack_side.OBJECT_KEY]}},
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [bucket_id, "Arn"]},
        },
    ]
    decrypt = [s for s in statements if s["Action"] == "kms:Decrypt"]
    assert [s["Resource"] for s in decrypt] == [KMS_KEY_ARN]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_a_daily_schedule_invokes_the_function_with_retries(raw: dict[str, Any]) -> None:
    function_id, _ = _function(raw)
    (rule,) = _resources(raw, "AWS::Events::Rule").values()
    assert rule["Properties"]["ScheduleExpression"] == "rate(1 day)"
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 21600, "MaximumRetryAttempts": 2}
    permission = only(raw, "AWS::Lambda::Permission", Principal="events.amazonaws.com")[1]
    assert permission["Properties"]["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}


def test_a_refused_download_raises_an_alarm(raw: dict[str, Any]) -> None:
    _, alarm = only(
        raw,
        "AWS::CloudWatch::Alarm",
        MetricName=handler_side.METRICS[handler_side.RefreshStatus.REJECTED],
    )
    props = alarm["Properties"]
    assert props["Namespace"] == handler_side.NAMESPACE
    assert props["Dimensions"] == [{"Name": "service", "Value": handler_side.SERVICE}]
    assert (props["Statistic"], props["Period"], props["Threshold"]) == ("Sum", 86400, 1)
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert props["TreatMissingData"] == "notBreaching"
    assert props["AlarmActions"] == [ALARM_TOPIC_ARN]


def test_a_failing_function_raises_an_alarm(raw: dict[str, Any]) -> None:
    function_id, _ = _function(raw)
    dimensions = [{"Name": "FunctionName", "Value": {"Ref": function_id}}]
    _, alarm = only(raw, "AWS::CloudWatch::Alarm", MetricName="Errors", Dimensions=dimensions)
    props = alarm["Properties"]
    assert props["Namespace"] == "AWS/Lambda"
    assert props["Threshold"] == 1
    assert props["AlarmActions"] == [ALARM_TOPIC_ARN]


def test_the_bucket_name_is_an_output(raw: dict[str, Any]) -> None:
    bucket_id, _ = _bucket(raw)
    assert raw["Outputs"]["MetadataBucketName"]["Value"] == {"Ref": bucket_id}


# -- the contract with the handler, and the configuration ------------------------------------


def test_both_sides_name_the_same_variables_and_metric() -> None:
    stack_names = {
        stack_side.ENV_BUCKET,
        stack_side.ENV_KEY,
        stack_side.ENV_URL,
        stack_side.ENV_ROOT,
    }
    assert stack_names == set(handler_side.ALL_ENV_VARS)
    assert handler_side.METRICS[handler_side.RefreshStatus.REJECTED] == stack_side.REJECTED_METRIC
    assert (stack_side.METRIC_NAMESPACE, stack_side.METRIC_SERVICE) == (
        handler_side.NAMESPACE,
        handler_side.SERVICE,
    )


def _config(**keys: Any):
    context = copy.deepcopy(cdk_json_context())
    context.update(keys)
    return config_from_mapping(context)


def test_the_stack_and_the_handler_default_to_the_same_blob_url() -> None:
    assert DEFAULT_METADATA_BLOB_URL == DEFAULT_BLOB_URL == "https://mds3.fidoalliance.org/"


def test_either_key_deploys_the_refresh_with_defaults_for_the_other() -> None:
    assert _config().metadata is None
    only_root = _config(metadataRoot=ROOT_PEM).metadata
    assert only_root is not None and only_root.blob_url == DEFAULT_BLOB_URL
    only_url = _config(metadataBlob=BLOB_URL).metadata
    assert only_url is not None and (only_url.blob_url, only_url.root_pem) == (BLOB_URL, None)


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("metadataBlob", "http://mds3.fidoalliance.org/", "https URL"),
        ("metadataBlob", "https://", "https URL"),
        ("metadataBlob", "https://example.org/a b", "https URL"),
        ("metadataBlob", 42, "https URL"),
        ("metadataRoot", "not a certificate", "not a PEM certificate"),
        ("metadataRoot", SMALL_PEM + SMALL_PEM, "exactly one certificate"),
        ("metadataRoot", "", "PEM certificate"),
        ("metadataRoot", ROOT_PEM + " " * 1000, "at most 3000"),
    ],
)
def test_a_bad_metadata_key_fails_naming_it(key: str, value: Any, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason) as caught:
        _config(**{key: value})
    assert caught.value.key == key


def test_a_metadata_root_that_is_not_a_ca_is_refused() -> None:
    from tests.assurance.pki import issue, root  # noqa: PLC0415 (key generation: only here)

    leaf = issue(root("a root"), "a leaf")
    with pytest.raises(ConfigError, match="CA certificate"):
        _config(metadataRoot=leaf.pem.decode())


def test_the_metadata_keys_and_their_default_are_documented() -> None:
    text = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    for key in ("`metadataBlob`", "`metadataRoot`", f"`{stack_side.OBJECT_KEY}`"):
        assert key in text, key
    assert f"default `{DEFAULT_METADATA_BLOB_URL}`" in text
    assert f"`{stack_side.REJECTED_METRIC}`" in text
    assert f"at most {MAX_METADATA_ROOT_CHARS} characters" in text
