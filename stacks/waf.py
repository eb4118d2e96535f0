"""Per-source-IP throttling in front of the API: a regional WAF web ACL on the stage.

API Gateway throttles all callers together and cannot tell one address from another. Two
rate-based rules can: a strict one for the unsigned, state-changing routes (the passkey and
enrollment-token ceremonies anybody may start) and a loose one for every request. Both
block with 429, ``Retry-After`` and a problem document, like the broker's own answers.
A third rule, AWS's known-bad-inputs managed rule group, blocks request patterns of known
exploits (Log4j's JNDI lookups among them) with WAF's plain 403.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from tapgate_contract.problems import PROBLEM_TYPE_BASE

# The window WAF counts requests over; the limits in cdk.json are per this window.
EVALUATION_WINDOW_SECONDS = 300
# A client that stops sending is below any limit once its counted requests have left the
# window, so this is the wait that always suffices.
RETRY_AFTER_SECONDS = EVALUATION_WINDOW_SECONDS
THROTTLED_BODY_KEY = "throttled"
# The broker's and the local gateway's problem type for throttling (docs/design.md).
THROTTLED_PROBLEM = {
    "type": PROBLEM_TYPE_BASE + "throttled",
    "title": "Too many requests",
    "status": 429,
    "detail": "Too many requests from this address; retry after the seconds in Retry-After.",
}
# CloudWatch names: WAF's metrics carry the web ACL's and each rule's metric name as their
# WebACL and Rule dimensions (the alarms and the dashboard watch them).
WEB_ACL_METRIC = "tapgate-web-acl"
PUBLIC_PER_IP_RULE = "public-per-ip"
ALL_PER_IP_RULE = "all-per-ip"
KNOWN_BAD_INPUTS_METRIC = "tapgate-known-bad-inputs"


def rule_metric(rule_name: str) -> str:
    return f"tapgate-{rule_name}"


# Path tricks (%-encoding, //, /./) must not dodge the strict rule: compare the decoded,
# normalized, lower-cased path. Over-matching only counts requests API Gateway refuses.
_PATH_TRANSFORMATIONS = ("URL_DECODE", "NORMALIZE_PATH", "LOWERCASE")


def _path_starts_with(prefix: str) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
            positional_constraint="STARTS_WITH",
            search_string=prefix,
            text_transformations=[
                wafv2.CfnWebACL.TextTransformationProperty(priority=i, type=kind)
                for i, kind in enumerate(_PATH_TRANSFORMATIONS)
            ],
        )
    )


def _any_path_prefix(prefixes: Sequence[str]) -> wafv2.CfnWebACL.StatementProperty:
    if not prefixes:
        raise ValueError("the strict per-IP rule needs at least one path prefix")
    if len(prefixes) == 1:  # an OrStatement needs two statements
        return _path_starts_with(prefixes[0])
    return wafv2.CfnWebACL.StatementProperty(
        or_statement=wafv2.CfnWebACL.OrStatementProperty(
            statements=[_path_starts_with(p) for p in prefixes]
        )
    )


def _throttle_rule(
    name: str,
    *,
    priority: int,
    limit: int,
    scope_down: wafv2.CfnWebACL.StatementProperty | None,
) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        statement=wafv2.CfnWebACL.StatementProperty(
            rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                aggregate_key_type="IP",
                limit=limit,
                evaluation_window_sec=EVALUATION_WINDOW_SECONDS,
                scope_down_statement=scope_down,
            )
        ),
        action=wafv2.CfnWebACL.RuleActionProperty(
            block=wafv2.CfnWebACL.BlockActionProperty(
                custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                    response_code=429,
                    custom_response_body_key=THROTTLED_BODY_KEY,
                    response_headers=[
                        wafv2.CfnWebACL.CustomHTTPHeaderProperty(
                            name="Retry-After", value=str(RETRY_AFTER_SECONDS)
                        )
                    ],
                )
            )
        ),
        visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
            cloud_watch_metrics_enabled=True,
            metric_name=rule_metric(name),
            sampled_requests_enabled=True,
        ),
    )


# AWS's managed rule group for request patterns of known exploits (Log4j JNDI, Java
# deserialization, localhost Host headers, ...): 200 WCUs, no charge beyond the rule's.
KNOWN_BAD_INPUTS_RULE_GROUP = "AWSManagedRulesKnownBadInputsRuleSet"


def _managed_rule_group(name: str, *, priority: int, metric: str) -> wafv2.CfnWebACL.RuleProperty:
    """An AWS managed rule group with its own block actions (override: none)."""
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS", name=name
            )
        ),
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
            cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
        ),
    )


class PerIpThrottling(Construct):
    """A web ACL with the two per-IP rules, associated with one API Gateway stage."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage_arn: str,
        public_path_prefixes: Sequence[str],
        public_per_ip_per_5_minutes: int,
        all_per_ip_per_5_minutes: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            description="tapgate: per-source-IP limits, strict on the unauthenticated routes",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            custom_response_bodies={
                THROTTLED_BODY_KEY: wafv2.CfnWebACL.CustomResponseBodyProperty(
                    # WAF sets Content-Type from this and refuses a Content-Type header, so
                    # the problem document goes out as application/json.
                    content_type="APPLICATION_JSON",
                    content=json.dumps(THROTTLED_PROBLEM),
                )
            },
            rules=[
                _throttle_rule(
                    PUBLIC_PER_IP_RULE,
                    priority=0,
                    limit=public_per_ip_per_5_minutes,
                    scope_down=_any_path_prefix(public_path_prefixes),
                ),
                _throttle_rule(
                    ALL_PER_IP_RULE, priority=1, limit=all_per_ip_per_5_minutes, scope_down=None
                ),
                _managed_rule_group(
                    KNOWN_BAD_INPUTS_RULE_GROUP, priority=2, metric=KNOWN_BAD_INPUTS_METRIC
                ),
            ],
            visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True,
                metric_name=WEB_ACL_METRIC,
                sampled_requests_enabled=True,
            ),
        )
        self.association = wafv2.CfnWebACLAssociation(
            self, "StageAssociation", resource_arn=stage_arn, web_acl_arn=self.web_acl.attr_arn
        )
