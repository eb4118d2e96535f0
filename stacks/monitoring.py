"""CloudWatch alarms and a dashboard: what a security team is told, and where it looks.

Alarms, each notifying cdk.json's ``alarms.topicArn`` when set:

* ``CounterRegression``: the first sign counter that did not advance (a possible cloned key);
* ``RefusedCeremonies``: refused sign-ins and registrations above a threshold in 5 minutes;
* ``Throttling``: requests refused with 429 above a threshold in 5 minutes, by API Gateway's
  limits (the access log) or by either per-IP rule of the web ACL, each counted on its own;
* ``BrokerErrors`` and ``BrokerThrottles``: any unhandled broker error or Lambda throttle;
* ``DynamoDbThrottles``: any throttled read or write on a table or the credential-id index.

Metric names come from tapgate_contract/signals.py (the broker's) and stacks/waf.py (the web ACL's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Aws, Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks import waf
from stacks.config import AlarmsConfig
from tapgate_contract import signals

SPIKE_WINDOW = Duration.minutes(5)
FIRST_ONE_WINDOW = Duration.minutes(1)
WAF_NAMESPACE = "AWS/WAFV2"
DYNAMODB_NAMESPACE = "AWS/DynamoDB"


def broker_metric(name: str, *, period: Duration = SPIKE_WINDOW) -> cloudwatch.Metric:
    """A count the broker emits (Powertools: namespace tapgate, dimension service)."""
    return cloudwatch.Metric(
        namespace=signals.METRIC_NAMESPACE,
        metric_name=name,
        dimensions_map={signals.SERVICE_DIMENSION: signals.SERVICE},
        statistic=cloudwatch.Stats.SUM,
        period=period,
    )


def web_acl_blocked(rule_metric: str) -> cloudwatch.Metric:
    """Requests one rule of the web ACL blocked (WAF names dimensions by metric names)."""
    return cloudwatch.Metric(
        namespace=WAF_NAMESPACE,
        metric_name="BlockedRequests",
        dimensions_map={"WebACL": waf.WEB_ACL_METRIC, "Rule": rule_metric, "Region": Aws.REGION},
        statistic=cloudwatch.Stats.SUM,
        period=SPIKE_WINDOW,
    )


def _sum_of(
    label: str, metrics: Mapping[str, cloudwatch.IMetric], *, period: Duration = SPIKE_WINDOW
) -> cloudwatch.MathExpression:
    """The per-period sum of ``metrics``; a metric without data counts as 0."""
    return cloudwatch.MathExpression(
        expression=" + ".join(f"FILL({key}, 0)" for key in metrics),
        using_metrics=dict(metrics),
        label=label,
        period=period,
    )


class Monitoring(Construct):
    """The alarms (``self.alarms`` by name) and the dashboard of one tapgate stack."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.IFunction,
        rest_api: apigw.RestApi,
        access_logs: logs.ILogGroup,
        tables: Sequence[dynamodb.ITable],
        credential_index: tuple[dynamodb.ITable, str],
        config: AlarmsConfig,
    ) -> None:
        super().__init__(scope, construct_id)
        self.api_throttled_filter = logs.MetricFilter(
            self,
            "ApiThrottledFilter",
            log_group=access_logs,
            metric_namespace=signals.METRIC_NAMESPACE,
            metric_name=signals.API_THROTTLED,
            filter_pattern=logs.FilterPattern.string_value("$.status", "=", "429"),
            metric_value="1",
        )
        api_throttled = self.api_throttled_filter.metric(
            statistic=cloudwatch.Stats.SUM, period=SPIKE_WINDOW
        )
        refused = _sum_of(
            "Refused ceremonies",
            {
                f"refused{i}": broker_metric(name)
                for i, name in enumerate(signals.REFUSED_CEREMONY_METRICS)
            },
        )
        per_ip = {
            "api": api_throttled,
            "publicPerIp": web_acl_blocked(waf.rule_metric(waf.PUBLIC_PER_IP_RULE)),
            "allPerIp": web_acl_blocked(waf.rule_metric(waf.ALL_PER_IP_RULE)),
        }
        throttled = cloudwatch.MathExpression(
            expression=f"MAX([{', '.join(f'FILL({k}, 0)' for k in per_ip)}])",
            using_metrics=per_ip,
            label="Requests refused with 429 (the larger of API Gateway and each per-IP rule)",
            period=SPIKE_WINDOW,
        )
        table_throttles = _table_throttles(tables, credential_index)
        topic = (
            sns.Topic.from_topic_arn(self, "AlarmTopic", config.topic_arn)
            if config.topic_arn
            else None
        )
        self.topic = topic  # other constructs' alarms notify it too
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self._alarm(
            "CounterRegression",
            broker_metric(signals.COUNTER_REGRESSION, period=FIRST_ONE_WINDOW),
            threshold=1,
            description="A security key's signature counter did not advance: the key may have "
            "been cloned. The broker refused the ceremony; find the event and revoke the key.",
            topic=topic,
        )
        self._alarm(
            "RefusedCeremonies",
            refused,
            threshold=config.refused_ceremonies_per_5_minutes,
            description=f"At least {config.refused_ceremonies_per_5_minutes} sign-ins or "
            "registrations were refused in 5 minutes: an attack on the ceremonies, or a "
            "broken client or configuration.",
            topic=topic,
        )
        self._alarm(
            "Throttling",
            throttled,
            threshold=config.throttled_requests_per_5_minutes,
            description=f"At least {config.throttled_requests_per_5_minutes} requests were "
            "answered 429 in 5 minutes by API Gateway's limits or a per-IP rule of the web ACL.",
            topic=topic,
        )
        self._alarm(
            "BrokerErrors",
            function.metric_errors(statistic=cloudwatch.Stats.SUM, period=SPIKE_WINDOW),
            threshold=1,
            description="The broker Lambda failed (an unhandled error or a timeout): callers "
            "got a 5xx. Its log group has the error.",
            topic=topic,
        )
        self._alarm(
            "BrokerThrottles",
            function.metric_throttles(statistic=cloudwatch.Stats.SUM, period=SPIKE_WINDOW),
            threshold=1,
            description="Lambda throttled the broker (reserved or account concurrency used "
            "up): callers got a 5xx.",
            topic=topic,
        )
        self._alarm(
            "DynamoDbThrottles",
            table_throttles,
            threshold=1,
            description="DynamoDB throttled a read or write of a tapgate table or index: "
            "ceremonies failed.",
            topic=topic,
        )
        self.dashboard = self._dashboard(
            function=function,
            rest_api=rest_api,
            refused=refused,
            per_ip=per_ip,
            table_throttles=table_throttles,
        )

    def _alarm(
        self,
        name: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        topic: sns.ITopic | None,
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            name,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"tapgate: {description}",
        )
        if topic is not None:
            alarm.add_alarm_action(cw_actions.SnsAction(topic))
        self.alarms[name] = alarm

    def _dashboard(
        self,
        *,
        function: lambda_.IFunction,
        rest_api: apigw.RestApi,
        refused: cloudwatch.IMetric,
        per_ip: Mapping[str, cloudwatch.IMetric],
        table_throttles: cloudwatch.IMetric,
    ) -> cloudwatch.Dashboard:
        dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.days(1))
        full = 24
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title="tapgate alarms", alarms=list(self.alarms.values()), width=full
            )
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Ceremonies",
                left=[broker_metric(name) for name in signals.BROKER_METRICS],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Refused ceremonies and counter regressions",
                left=[refused],
                right=[broker_metric(signals.COUNTER_REGRESSION)],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API requests and errors",
                left=[rest_api.metric_count(period=SPIKE_WINDOW)],
                right=[
                    rest_api.metric_client_error(period=SPIKE_WINDOW),
                    rest_api.metric_server_error(period=SPIKE_WINDOW),
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="API latency (p99)",
                left=[
                    rest_api.metric_latency(statistic="p99", period=SPIKE_WINDOW),
                    rest_api.metric_integration_latency(statistic="p99", period=SPIKE_WINDOW),
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Throttled and blocked requests",
                left=[
                    *per_ip.values(),
                    web_acl_blocked(waf.KNOWN_BAD_INPUTS_METRIC),
                ],
                width=8,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Broker invocations, errors and throttles",
                left=[function.metric_invocations(period=SPIKE_WINDOW)],
                right=[
                    function.metric_errors(period=SPIKE_WINDOW),
                    function.metric_throttles(period=SPIKE_WINDOW),
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Broker duration (p99) and concurrency",
                left=[function.metric_duration(statistic="p99", period=SPIKE_WINDOW)],
                right=[
                    function.metric(
                        "ConcurrentExecutions",
                        statistic=cloudwatch.Stats.MAXIMUM,
                        period=SPIKE_WINDOW,
                    )
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="DynamoDB throttled requests", left=[table_throttles], width=8
            ),
        )
        return dashboard


def _table_throttles(
    tables: Sequence[dynamodb.ITable], credential_index: tuple[dynamodb.ITable, str]
) -> cloudwatch.MathExpression:
    """Read and write throttle events of every table and of the credential-id index (an
    index's write throttles hold up writes to its table)."""
    metrics: dict[str, cloudwatch.IMetric] = {}
    for i, table in enumerate(tables):
        for kind in ("Read", "Write"):
            metrics[f"{kind.lower()}{i}"] = cloudwatch.Metric(
                namespace=DYNAMODB_NAMESPACE,
                metric_name=f"{kind}ThrottleEvents",
                dimensions_map={"TableName": table.table_name},
                statistic=cloudwatch.Stats.SUM,
                period=SPIKE_WINDOW,
            )
    index_table, index_name = credential_index
    for kind in ("Read", "Write"):
        metrics[f"{kind.lower()}Index"] = cloudwatch.Metric(
            namespace=DYNAMODB_NAMESPACE,
            metric_name=f"{kind}ThrottleEvents",
            dimensions_map={
                "TableName": index_table.table_name,
                "GlobalSecondaryIndexName": index_name,
            },
            statistic=cloudwatch.Stats.SUM,
            period=SPIKE_WINDOW,
        )
    return _sum_of("Throttled DynamoDB reads and writes", metrics)
