"""Lambda entry point: Powertools logger, tracer and metrics around the resolver.

The Broker (boto3 clients, fido2 server) is built on the first request that needs one
and reused for the life of the execution environment.

Cold start: importing this module loads Powertools' logger, metrics and resolver and the
route modules, nothing more. The tracer (the X-Ray SDK builds a botocore session when it
is imported) and its patch of botocore load at the first invocation; boto3, fido2 and
cryptography load with the Broker, on the first request that needs one (the web page and
its static files never do). Where the init phase is off every caller's path (SnapStart,
whose snapshot is taken after init, and provisioned concurrency) all of it loads here.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from tapgate_broker.api.routes import build_app

if TYPE_CHECKING:
    from tapgate_broker.core.service import Broker

# Lambda's values of AWS_LAMBDA_INITIALIZATION_TYPE for an init phase no request waits for.
PREPARED_INIT_TYPES = frozenset({"snap-start", "provisioned-concurrency"})
# The only library the broker reaches AWS through; X-Ray's patch_all would import every
# library it knows how to trace.
TRACED_MODULES = ("botocore",)

logger = Logger(service="tapgate")
metrics = Metrics(namespace="tapgate", service="tapgate")


def get_broker() -> Broker:
    """The Broker for this execution environment (built once, by ``wiring``)."""
    _load_broker_modules()
    from tapgate_broker.wiring import broker_from_env  # noqa: PLC0415  (loaded just above)

    return broker_from_env()


@functools.cache
def _load_broker_modules() -> None:
    """boto3, fido2 and the adapters, then the structured log format for their loggers."""
    import tapgate_broker.wiring  # noqa: F401, PLC0415  (see the module docstring)

    _structured_logs()


def _structured_logs() -> None:
    """The core and adapters log through stdlib loggers; give them the structured format
    (again once more of them are imported: only the loggers existing then are set up)."""
    copy_config_to_registered_loggers(
        source_logger=logger,
        include={n for n in logging.root.manager.loggerDict if n.startswith("tapgate_broker")},
    )


def _resolve(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result: dict[str, Any] = app.resolve(event, context)
    return result


@functools.cache
def _traced() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The resolver inside the tracer and metrics wrappers, built at the first invocation."""
    from aws_lambda_powertools import Tracer  # noqa: PLC0415  (the module is light; see above)

    tracer = Tracer(service="tapgate", patch_modules=TRACED_MODULES)
    traced: Callable[[dict[str, Any], Any], dict[str, Any]] = tracer.capture_lambda_handler(
        metrics.log_metrics(_resolve), capture_response=False
    )
    return traced


app = build_app(get_broker, metrics=metrics)
_structured_logs()
if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") in PREPARED_INIT_TYPES:
    _traced()
    _load_broker_modules()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _traced()(event, context)
