"""Alarms, the dashboard and the broker's EventBridge permission, as synthesized.

Each alarm must watch a metric somebody emits: the broker's carry Powertools' service
dimension (checked against the handler's own Metrics object), the web ACL's carry its metric
names (read from the synthesized web ACL), the throttled-request count comes from a metric
filter on the API's access log.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tapgate_contract import signals
from tests.infrastructure.conftest import (
    ALARM_TOPIC_ARN,
    FULL_ALARMS,
    REPO,
    only,
    resources_of,
)

ALARMS = (
    "CounterRegression",
    "RefusedCeremonies",
    "Throttling",
    "BrokerErrors",
    "BrokerThrottles",
    "DynamoDbThrottles",
)
BROKER_DIMENSIONS = [{"Name": "service", "Value": "tapgate"}]


def _alarms(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The monitoring construct's alarms by name (the construct id their logical id starts
    with); the metadata refresh brings alarms of its own (tests/infrastructure/test_metadata.py)."""
    found = {}
    for logical_id, alarm in resources_of(raw, "AWS::CloudWatch::Alarm").items():
        if not logical_id.startswith("Monitoring"):
            continue
        (name,) = [n for n in ALARMS if logical_id.startswith(f"Monitoring{n}")]
        found[name] = alarm["Properties"]
    return found


def _metric_stats(alarm: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A math alarm's metrics by id: {namespace, name, dimensions, period, stat}."""
    return {
        m["Id"]: {
            "namespace": m["MetricStat"]["Metric"]["Namespace"],
            "name": m["MetricStat"]["Metric"]["MetricName"],
            "dimensions": m["MetricStat"]["Metric"].get("Dimensions", []),
            "period": m["MetricStat"]["Period"],
            "stat": m["MetricStat"]["Stat"],
        }
        for m in alarm["Metrics"]
        if "MetricStat" in m
    }


def _expression(alarm: dict[str, Any]) -> str:
    (expression,) = [m for m in alarm["Metrics"] if "Expression" in m]
    assert expression["ReturnData"] is True
    return str(expression["Expression"])


def _broker_function_id(raw: dict[str, Any]) -> str:
    logical_id, _ = only(raw, "AWS::Lambda::Function", Handler="tapgate_broker.handler.handler")
    return logical_id


def test_the_six_alarms_fire_on_one_period_at_or_above_their_threshold(
    raw: dict[str, Any],
) -> None:
    alarms = _alarms(raw)
    assert sorted(alarms) == sorted(ALARMS)
    for alarm in alarms.values():
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["EvaluationPeriods"] == 1
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["AlarmDescription"].startswith("tapgate: ")


def test_every_alarm_notifies_the_configured_topic(raw: dict[str, Any]) -> None:
    for alarm in _alarms(raw).values():
        assert alarm["AlarmActions"] == [ALARM_TOPIC_ARN]


def test_without_a_topic_the_alarms_notify_nobody(bare: dict[str, Any]) -> None:
    alarms = _alarms(bare["template"])
    assert sorted(alarms) == sorted(ALARMS)
    for alarm in alarms.values():
        assert "AlarmActions" not in alarm


def test_the_first_counter_regression_raises_the_alarm(raw: dict[str, Any]) -> None:
    alarm = _alarms(raw)["CounterRegression"]
    assert alarm["Namespace"] == "tapgate"
    assert alarm["MetricName"] == "CounterRegression"
    assert alarm["Dimensions"] == BROKER_DIMENSIONS
    assert alarm["Statistic"] == "Sum"
    assert alarm["Period"] == 60
    assert alarm["Threshold"] == 1


def test_refused_sign_ins_and_registrations_add_up_to_the_spike_alarm(
    raw: dict[str, Any],
) -> None:
    alarm = _alarms(raw)["RefusedCeremonies"]
    assert alarm["Threshold"] == FULL_ALARMS["refusedCeremoniesPer5Minutes"]
    metrics = _metric_stats(alarm)
    assert sorted(m["name"] for m in metrics.values()) == [
        "AuthenticationFailed",
        "RegistrationFailed",
    ]
    for metric in metrics.values():
        assert metric["namespace"] == "tapgate"
        assert metric["dimensions"] == BROKER_DIMENSIONS
        assert (metric["period"], metric["stat"]) == (300, "Sum")
    assert _expression(alarm) == " + ".join(f"FILL({key}, 0)" for key in metrics)


def test_the_default_thresholds_apply_without_context(bare: dict[str, Any]) -> None:
    alarms = _alarms(bare["template"])
    assert alarms["RefusedCeremonies"]["Threshold"] == 20
    assert alarms["Throttling"]["Threshold"] == 50


def test_throttling_counts_api_429s_from_the_access_log(raw: dict[str, Any]) -> None:
    _, stage = only(raw, "AWS::ApiGateway::Stage", StageName="v1")
    _, metric_filter = only(raw, "AWS::Logs::MetricFilter")
    props = metric_filter["Properties"]
    assert props["LogGroupName"] == {
        "Ref": stage["Properties"]["AccessLogSetting"]["DestinationArn"]["Fn::GetAtt"][0]
    }
    assert '"status":"$context.status"' in stage["Properties"]["AccessLogSetting"]["Format"]
    assert props["FilterPattern"] == '{ $.status = "429" }'
    assert props["MetricTransformations"] == [
        {"MetricName": "ApiThrottled", "MetricNamespace": "tapgate", "MetricValue": "1"}
    ]


def test_throttling_watches_both_per_ip_rules_of_the_web_acl(raw: dict[str, Any]) -> None:
    alarm = _alarms(raw)["Throttling"]
    assert alarm["Threshold"] == FULL_ALARMS["throttledRequestsPer5Minutes"]
    _, acl = only(raw, "AWS::WAFv2::WebACL")
    acl_metric = acl["Properties"]["VisibilityConfig"]["MetricName"]
    rate_rules = [
        r["VisibilityConfig"]["MetricName"]
        for r in acl["Properties"]["Rules"]
        if "RateBasedStatement" in r["Statement"]
    ]
    metrics = _metric_stats(alarm)
    blocked = sorted(
        {d["Name"]: d["Value"] for d in m["dimensions"]}["Rule"]
        for m in metrics.values()
        if m["namespace"] == "AWS/WAFV2"
    )
    assert blocked == sorted(rate_rules)
    for metric in metrics.values():
        if metric["namespace"] == "AWS/WAFV2":
            assert metric["name"] == "BlockedRequests"
            dimensions = {d["Name"]: d["Value"] for d in metric["dimensions"]}
            assert dimensions["WebACL"] == acl_metric
            assert dimensions["Region"] == {"Ref": "AWS::Region"}
        else:
            assert (metric["namespace"], metric["name"]) == ("tapgate", "ApiThrottled")
            assert metric["dimensions"] == []
    assert _expression(alarm) == f"MAX([{', '.join(f'FILL({k}, 0)' for k in metrics)}])"


@pytest.mark.parametrize(
    ("name", "metric"), [("BrokerErrors", "Errors"), ("BrokerThrottles", "Throttles")]
)
def test_any_broker_error_or_lambda_throttle_raises_an_alarm(
    raw: dict[str, Any], name: str, metric: str
) -> None:
    alarm = _alarms(raw)[name]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", metric)
    assert alarm["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": _broker_function_id(raw)}}
    ]
    assert (alarm["Statistic"], alarm["Period"], alarm["Threshold"]) == ("Sum", 300, 1)


def test_any_throttled_table_or_index_request_raises_an_alarm(raw: dict[str, Any]) -> None:
    alarm = _alarms(raw)["DynamoDbThrottles"]
    assert alarm["Threshold"] == 1
    watched = set()
    for metric in _metric_stats(alarm).values():
        assert metric["namespace"] == "AWS/DynamoDB"
        dimensions = {
            d["Name"]: d["Value"]["Ref"] if isinstance(d["Value"], dict) else d["Value"]
            for d in metric["dimensions"]
        }
        watched.add(
            (metric["name"], dimensions["TableName"], dimensions.get("GlobalSecondaryIndexName"))
        )
    tables = resources_of(raw, "AWS::DynamoDB::Table")
    assert len(tables) == 3
    (credentials,) = [k for k in tables if k.startswith("TablesCredentials")]
    assert watched == {
        (f"{kind}ThrottleEvents", table, None) for table in tables for kind in ("Read", "Write")
    } | {(f"{kind}ThrottleEvents", credentials, "byCredentialId") for kind in ("Read", "Write")}


def test_the_dashboard_shows_every_alarm_and_the_broker_metrics(raw: dict[str, Any]) -> None:
    _, dashboard = only(raw, "AWS::CloudWatch::Dashboard")
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    body = "".join(p if isinstance(p, str) else json.dumps(p) for p in parts)
    for logical_id in resources_of(raw, "AWS::CloudWatch::Alarm"):
        if not logical_id.startswith("Monitoring"):
            continue
        assert json.dumps({"Fn::GetAtt": [logical_id, "Arn"]}) in body
    for name in (*signals.BROKER_METRICS, signals.COUNTER_REGRESSION, "ApiThrottled"):
        assert f'"{name}"' in body, name
    for name in ("BlockedRequests", "ReadThrottleEvents", "ConcurrentExecutions"):
        assert f'"{name}"' in body, name


def test_the_broker_may_put_only_tapgate_events_on_the_default_bus(raw: dict[str, Any]) -> None:
    _, function = only(raw, "AWS::Lambda::Function", Handler="tapgate_broker.handler.handler")
    role = {"Ref": function["Properties"]["Role"]["Fn::GetAtt"][0]}
    (policy,) = [
        p
        for p in resources_of(raw, "AWS::IAM::Policy").values()
        if role in p["Properties"]["Roles"]
    ]
    statements = [
        st
        for st in policy["Properties"]["PolicyDocument"]["Statement"]
        if "events" in json.dumps(st["Action"])
    ]
    assert statements == [
        {
            "Action": "events:PutEvents",
            "Effect": "Allow",
            "Resource": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":events:",
                        {"Ref": "AWS::Region"},
                        ":",
                        {"Ref": "AWS::AccountId"},
                        ":event-bus/default",
                    ],
                ]
            },
            "Condition": {
                "StringEquals": {
                    "events:source": "dev.tapgate",
                    "events:detail-type": list(signals.EVENT_DETAIL_TYPES),
                }
            },
        }
    ]


def test_the_alarmed_metrics_are_in_the_namespace_and_dimension_the_handler_emits() -> None:
    from tapgate_broker.handler import metrics  # noqa: PLC0415  (the deployed Metrics object)

    metrics.add_metric(name=signals.AUTHENTICATION_FAILED, unit="Count", value=1)
    try:
        document = metrics.serialize_metric_set()
    finally:
        metrics.clear_metrics()
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == signals.METRIC_NAMESPACE
    assert directive["Dimensions"] == [[signals.SERVICE_DIMENSION]]
    assert document[signals.SERVICE_DIMENSION] == signals.SERVICE


def test_the_broker_counts_exactly_the_metrics_named_for_the_stack() -> None:
    """The broker names its metrics in count("...") calls; the stack's list must match, or
    an alarm or dashboard line watches a name nobody emits."""
    source = "\n".join(
        path.read_text(encoding="utf-8")
        for path in (REPO / "lambdas" / "tapgate_broker").rglob("*.py")
    )
    counted = set(re.findall(r"\bcount\(\s*\"(\w+)\"\s*\)", source))
    counted |= {
        getattr(signals, name) for name in re.findall(r"\bcount\(\s*signals\.(\w+)\s*\)", source)
    }
    assert counted == set(signals.BROKER_METRICS)
    assert not counted & set(signals.PLANNED_BROKER_METRICS), "move it to BROKER_METRICS"
