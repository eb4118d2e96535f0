"""The REST API: stage v1, every route a Lambda proxy integration to the broker.

``ROUTES`` is the one table of methods, paths and authorization: making a route public (or
signed) is a one-line change there.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.config import CustomDomainConfig, ThrottlingConfig
from stacks.nag import acknowledge
from stacks.waf import PerIpThrottling

STAGE_NAME = "v1"


class Auth(enum.Enum):
    """Authorization at API Gateway. ``PUBLIC`` routes reach the broker unsigned; those that
    change state are authenticated by the broker itself (a Bearer enrollment token or a
    WebAuthn assertion), because ``AWS_IAM`` cannot be optional (docs/design.md)."""

    SIGV4 = apigw.AuthorizationType.IAM
    PUBLIC = apigw.AuthorizationType.NONE


# Why each public route needs no SigV4: the text of its AwsSolutions-APIG4 acknowledgment, so
# a route's reason is written where the route is.
WHY_PAGE = (
    "The web page and its static files (HTML, CSS, an ES module): public by nature, they hold "
    "no secrets and are what a user opens before they have any credential."
)
WHY_CONFIG = (
    "Public configuration for the page: the RP ID and the gated roles' ARNs and display "
    "names, which are not secrets."
)
WHY_ENROLLMENT_LINK = (
    "Authenticated by the broker Lambda, not by IAM: it requires an 'Authorization: Bearer' "
    "one-time enrollment token that an admin or an MFA-authenticated user issued, which an "
    "AWS_IAM method would refuse before the Lambda. Throttled per source IP by the web ACL."
)
WHY_PASSKEY_OPTIONS = (
    "Begins a discoverable-passkey ceremony: it stores a single-use challenge and answers "
    "options that name no user and no key; only the assertion that answers it (verified by "
    "the broker Lambda) grants anything. Throttled per source IP by the web ACL."
)
WHY_PASSKEY_ASSERTION = (
    "Authenticated by the broker Lambda, not by IAM: the body must carry a user-verified "
    "WebAuthn assertion from a registered passkey answering a single-use challenge; failures "
    "answer one generic 401. Throttled per source IP by the web ACL."
)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    auth: Auth
    body_model: str | None = None  # a key of _MODELS: the body API Gateway validates
    why_public: str | None = None  # required for PUBLIC routes: the APIG4 reason
    # Can give a user a first key: the API's resource policy admits only MFA sessions (and
    # IAM Identity Center's), whatever the caller's own IAM policy says (stacks/api_policy).
    needs_mfa: bool = False

    def __post_init__(self) -> None:
        if (self.auth is Auth.PUBLIC) != (self.why_public is not None):
            raise ValueError(
                f"{self.method} {self.path}: a public route, and only a public "
                "route, says why it is public"
            )
        if self.needs_mfa and self.auth is not Auth.SIGV4:
            raise ValueError(f"{self.method} {self.path}: only a SigV4 route can require MFA")

    @property
    def public_write(self) -> bool:
        """Unsigned and state-changing: the stricter method throttling and the web ACL's
        per-IP rule for unauthenticated routes apply."""
        return self.auth is Auth.PUBLIC and self.method != "GET"


# The broker checks every body strictly itself; the gateway's models only turn away bodies
# that cannot be a ceremony answer before they cost a Lambda invocation.
ROUTES: tuple[Route, ...] = (
    Route("POST", "/registration/options", Auth.SIGV4, needs_mfa=True),
    Route("POST", "/registration/verify", Auth.SIGV4, body_model="CeremonyAnswer", needs_mfa=True),
    Route("POST", "/registration/step-up/options", Auth.SIGV4),
    Route("POST", "/registration/step-up/verify", Auth.SIGV4, body_model="CeremonyAnswer"),
    Route("POST", "/authentication/options", Auth.SIGV4),
    Route("POST", "/authentication/verify", Auth.SIGV4, body_model="CeremonyAnswer"),
    Route("GET", "/credentials", Auth.SIGV4),
    Route("DELETE", "/credentials/{credentialId}", Auth.SIGV4, body_model="CeremonyAnswer"),
    Route("GET", "/roles", Auth.SIGV4),
    Route("POST", "/enrollments", Auth.SIGV4, needs_mfa=True),
    Route("POST", "/enrollment/options", Auth.PUBLIC, why_public=WHY_ENROLLMENT_LINK),
    Route(
        "POST",
        "/enrollment/verify",
        Auth.PUBLIC,
        body_model="CeremonyAnswer",
        why_public=WHY_ENROLLMENT_LINK,
    ),
    Route("POST", "/passkey/options", Auth.PUBLIC, why_public=WHY_PASSKEY_OPTIONS),
    Route(
        "POST",
        "/passkey/verify",
        Auth.PUBLIC,
        body_model="CeremonyAnswer",
        why_public=WHY_PASSKEY_ASSERTION,
    ),
    Route(
        "POST",
        "/passkey/credentials/list",
        Auth.PUBLIC,
        body_model="CeremonyAnswer",
        why_public=WHY_PASSKEY_ASSERTION,
    ),
    Route(
        "DELETE",
        "/passkey/credentials/{credentialId}",
        Auth.PUBLIC,
        body_model="CeremonyAnswer",
        why_public=WHY_PASSKEY_ASSERTION,
    ),
    Route("GET", "/config", Auth.PUBLIC, why_public=WHY_CONFIG),
    Route("GET", "/", Auth.PUBLIC, why_public=WHY_PAGE),
    Route("GET", "/enroll", Auth.PUBLIC, why_public=WHY_PAGE),
    Route("GET", "/static/{proxy+}", Auth.PUBLIC, why_public=WHY_PAGE),
)


def public_write_prefixes(routes: tuple[Route, ...] = ROUTES) -> tuple[str, ...]:
    """The URI path prefixes (``/v1/passkey/``, ...) under which every unsigned,
    state-changing route lies, as clients send them: the stage is the first segment both on
    execute-api and on a custom domain (base path ``v1``). The web ACL's strict per-IP rule
    matches these."""
    prefixes: set[str] = set()
    for route in routes:
        if route.public_write:
            segments = route.path.split("/")
            if len(segments) < 3:
                raise ValueError(
                    f"{route.method} {route.path}: a public write route needs a "
                    "path of its own under a prefix (/passkey/..., /enrollment/...)"
                )
            prefixes.add(f"/{STAGE_NAME}/{segments[1]}/")
    for route in routes:
        full = f"/{STAGE_NAME}{route.path}"
        if not route.public_write and any(full.startswith(p) for p in prefixes):
            raise ValueError(
                f"{route.method} {route.path} would fall under the per-IP rule of the "
                "unauthenticated routes"
            )
    return tuple(sorted(prefixes))


def method_options_key(route: Route) -> str:
    """The key of ``StageOptions.method_options`` for one method: ``/path/METHOD``."""
    return f"{route.path}/{route.method}"


_MODELS = {
    "CeremonyAnswer": {
        "schema": apigw.JsonSchemaVersion.DRAFT4,
        "type": apigw.JsonSchemaType.OBJECT,
        "required": ["ceremonyId", "credential"],
        "properties": {
            "ceremonyId": {
                "type": apigw.JsonSchemaType.STRING,
                "pattern": "^[A-Za-z0-9_-]{16,64}$",
            },
            "credential": {"type": apigw.JsonSchemaType.OBJECT},
        },
    },
}

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


class TapgateApi(Construct):
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
        # api_policy builds on this module's route table, so it is imported here.
        from stacks.api_policy import api_resource_policy  # noqa: PLC0415

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
                stage_name=STAGE_NAME,
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
                    if route.public_write
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
                schema=apigw.JsonSchema(**schema),  # type: ignore[arg-type]
            )
            for name, schema in _MODELS.items()
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
                authorization_type=route.auth.value,
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
                response_headers={"Content-Type": "'application/problem+json'"},
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
                base_path=STAGE_NAME,
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
        return f"{self.url}/{STAGE_NAME}/"
