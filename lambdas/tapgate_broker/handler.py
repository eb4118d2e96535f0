"""Lambda entry point: Powertools logger, tracer and metrics around the resolver.

The Broker (boto3 clients, fido2 server) is built on the first request and
reused for the life of the execution environment.
"""

from __future__ import annotations

import logging
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from tapgate_broker.api.routes import build_app
from tapgate_broker.wiring import broker_from_env

logger = Logger(service="tapgate")
tracer = Tracer(service="tapgate")
metrics = Metrics(namespace="tapgate", service="tapgate")

app = build_app(broker_from_env, metrics=metrics)

# The core and adapters log through stdlib loggers; give them the structured format.
copy_config_to_registered_loggers(
    source_logger=logger,
    include={name for name in logging.root.manager.loggerDict if name.startswith("tapgate_broker")},
)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result: dict[str, Any] = app.resolve(event, context)
    return result
