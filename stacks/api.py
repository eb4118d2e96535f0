"""The REST API: stage v1, every route a Lambda proxy integration to the broker.

The routes, their authorization and throttling class come from the contract's table
(``tapgate_contract.routes``): making a route public (or signed) is a one-line change there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.config import CustomDomainConfig, ThrottlingConfig
from stacks.nag import acknowledge, acknowledge_checkov
from stacks.waf import PerIpThrottling
from tapgate_contract.policies import api_resource_policy
from tapgate_contract.problems import PROBLEM_CONTENT_TYPE
from tapgate_contract.routes import (
    ROUTES,
    STAGE,
    Auth,
    Route,
    Throttle,
    public_write_prefixes,
)
from tapgate_contract.schemas import GATEWAY_MODELS

# How each route's authorization is set on its API Gateway method.
AUTHORIZATION = {
    Auth.SIGV4: apigw.AuthorizationType.IAM,
    Auth.PUBLIC: apigw.AuthorizationType.NONE,
}


def method_options_key(route: Route) -> str:
    """The key of ``StageOptions.method_options`` for one method: ``/path/METHOD``."""
    return f"{route.path}/{route.method}"


def gateway_schema(schema: Mapping[str, Any], *, top: bool = True) -> apigw.JsonSchema:
    """A body model of the contract (``schemas.GATEWAY_MODELS``: draft 4's type, required,
    pattern and properties) as API Gateway's ``JsonSchema``."""
    properties = schema.get("properties") or {}
    return apigw.JsonSchema(
        schema=apigw.JsonSchemaVersion.DRAFT4 if top else None,
        type=apigw.JsonSchemaType[str(schema["type"]).upper()],
        required=schema.get("required"),
        pattern=schema.get("pattern"),
        properties={k: gateway_schema(v, top=False) for k, v in properties.items()} or None,
    )


# API Gateway's own errors (bad signature, throttling, ...) as RFC 9457 problem documents,
# like the broker's. $context.error.messageString is already a quoted JSON string.
_GATEWAY_PROBLEMS: tuple[tuple[apigw.ResponseType, str, str | None], ...] = (
    (apigw.ResponseType.BAD_REQUEST_BODY, "Bad request", "400"),
    (apigw.ResponseType.BAD_REQUEST_PARAMETERS, "Bad request", "400"),
    (apigw.ResponseType.ACCESS_DENIED, "Forbidden", "403"),
    (apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, "Forbidden", "403"),
    (apigw.ResponseType.INVALID_SIGNATURE, "Forbidden", "403"),
    (apigw.ResponseType.EXPIRED_TOKEN, "Forbidden", "403"),
    (apigw.ResponseType.REQUEST_TOO_LARGE, "Payload too large", "413"),
    (apigw.ResponseType.THROTTLED, "Too many requests", "429"),
    (apigw.ResponseType.QUOTA_EXCEEDED, "Too many requests", "429"),
    (apigw.ResponseType.DEFAULT_4_XX, "Bad request", None),
    (apigw.ResponseType.DEFAULT_5_XX, "Service unavailable", None),
)


def _problem_template(title: str, status: str | None) -> str:
    status_field = f', "status": {status}' if status else ""
    return (
        f'{{"type": "about:blank", "title": {json.dumps(title)}{status_field}, '
        '"detail": $context.error.messageString}'
    )


class BrokerRestApi(Construct):
    """The REST API in front of the broker function, with its stage, gateway responses and
    web ACL (the CLI's client of it is ``tapgate.client.api.TapgateApi``)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.IFunction,
        throttling: ThrottlingConfig,
        custom_domain: CustomDomainConfig | None = None,
        routes: tuple[Route, ...] = ROUTES,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            description="tapgate: WebAuthn MFA for AWS (HTTP API v1)",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # The first-key routes only with MFA, whatever the caller's IAM policy allows.
            policy=iam.PolicyDocument.from_json(
                api_resource_policy(partition=Aws.PARTITION, account=Aws.ACCOUNT_ID, routes=routes)
            ),
            # Execution logs need API Gateway's account-level CloudWatch role.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE,
                throttling_rate_limit=throttling.rate_limit,
                throttling_burst_limit=throttling.burst_limit,
                # ERROR, not INFO, and never data trace: requests carry enrollment tokens
                # and ceremony answers that must not land in execution logs.
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
                tracing_enabled=True,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                # Unsigned state-changing routes get a stricter limit than the stage's; the
                # logging settings are repeated because a method setting replaces the stage's.
                method_options={
                    method_options_key(route): apigw.MethodDeploymentOptions(
                        throttling_rate_limit=throttling.public_rate_limit,
                        throttling_burst_limit=throttling.public_burst_limit,
                        logging_level=apigw.MethodLoggingLevel.ERROR,
                        data_trace_enabled=False,
                        metrics_enabled=True,
                    )
                    for route in routes
                    if route.throttle is Throttle.PUBLIC_WRITE
                },
            ),
        )
        self.validator = apigw.RequestValidator(
            self,
            "Validator",
            rest_api=self.rest_api,
            validate_request_body=True,
            validate_request_parameters=True,
        )
        models = {
            name: self.rest_api.add_model(
                name,
                content_type="application/json",
                model_name=name,
                schema=gateway_schema(schema),
            )
            for name, schema in GATEWAY_MODELS.items()
        }
        # One invoke permission for the whole API instead of one per method.
        integration = apigw.LambdaIntegration(function, scope_permission_to_method=False)
        self.methods: dict[tuple[str, str], apigw.Method] = {}
        for route in routes:
            resource = (
                self.rest_api.root
                if route.path == "/"
                else self.rest_api.root.resource_for_path(route.path)
            )
            path_params = {
                f"method.request.path.{segment.strip('{}+')}": True
                for segment in route.path.split("/")
                if segment.startswith("{")
            }
            method = resource.add_method(
                route.method,
                integration,
                authorization_type=AUTHORIZATION[route.auth],
                request_validator=self.validator,
                request_parameters=path_params or None,
                request_models=(
                    {"application/json": models[route.body_model]} if route.body_model else None
                ),
            )
            self.methods[(route.method, route.path)] = method
            acknowledge(
                method,
                "AwsSolutions-COG4",
                "tapgate authenticates callers with SigV4 (AWS_IAM) or a WebAuthn ceremony, "
                "not Cognito user pools.",
            )
            if route.why_public is not None:
                acknowledge(method, "AwsSolutions-APIG4", route.why_public)
        for response_type, title, status in _GATEWAY_PROBLEMS:
            self.rest_api.add_gateway_response(
                f"Problem{response_type.response_type}",
                type=response_type,
                status_code=status,
                templates={"application/json": _problem_template(title, status)},
                response_headers={"Content-Type": f"'{PROBLEM_CONTENT_TYPE}'"},
            )
        self.web_acl = PerIpThrottling(
            self,
            "PerIpThrottling",
            stage_arn=self.rest_api.deployment_stage.stage_arn,
            public_path_prefixes=public_write_prefixes(routes),
            public_per_ip_per_5_minutes=throttling.public_per_ip_per_5_minutes,
            all_per_ip_per_5_minutes=throttling.all_per_ip_per_5_minutes,
        )
        acknowledge(
            self.rest_api,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "API Gateway's account-level CloudWatch role uses the AWS managed policy made "
            "for exactly this purpose; it is needed for execution logs.",
        )
        acknowledge_checkov(
            self.rest_api.deployment_stage,
            "CKV_AWS_120",
            "Every answer is for one caller at one moment (single-use challenges, session "
            "credentials, the caller's keys): a cache would hand them to another caller.",
        )
        self.domain: apigw.DomainName | None = None
        self._domain_name = custom_domain.domain_name if custom_domain else None
        if custom_domain is not None:
            self.domain = self.rest_api.add_domain_name(
                "Domain",
                domain_name=custom_domain.domain_name,
                certificate=acm.Certificate.from_certificate_arn(
                    self, "Certificate", custom_domain.certificate_arn
                ),
                endpoint_type=apigw.EndpointType.REGIONAL,
                security_policy=apigw.SecurityPolicy.TLS_1_2,
                base_path=STAGE,
            )

    @property
    def url(self) -> str:
        """The base URL clients use, without the stage and without a trailing slash
        (``{apiUrl}`` in docs/design.md): clients append ``/v1/...`` themselves."""
        if self._domain_name is not None:
            return f"https://{self._domain_name}"
        return f"https://{self.rest_api.rest_api_id}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}"

    @property
    def page_url(self) -> str:
        """Where the web page is: the stage's root."""
        return f"{self.url}/{STAGE}/"
