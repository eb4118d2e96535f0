"""What `tapgate local` writes while it runs: a short line per request, or the Lambda's JSON.

On a terminal a person reads the numbered next steps, so each request is one short
line (time, client, request line, status) and the broker's own warnings are short lines
too. Piped into a file or a log collector, the lines stay the Lambda's structured JSON
(Powertools' format, with its metrics). ``--log-format`` chooses either way.

Either way Powertools' "No application metrics to publish" warning is silenced: the
handler flushes metrics after every request, and most requests (GET /v1/config, the
page) record none.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from typing import TextIO

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

HUMAN = "human"
JSON = "json"
FORMATS = (HUMAN, JSON)
GATEWAY_LOGGER = "tapgate.local"  # the local gateway's per-request lines come from below it
BROKER_LOGGER = "tapgate"  # the Lambda's Powertools Logger (service "tapgate")
EMPTY_METRICS_WARNING = "No application metrics to publish"
# Shown after the message when a record carries them (the broker's "request refused").
_DETAILS = ("status", "error", "reason")


def choose(log_format: str | None, stream: TextIO) -> str:
    """``log_format`` when given, else human on a terminal and JSON otherwise."""
    if log_format is not None:
        return log_format
    isatty = getattr(stream, "isatty", None)
    return HUMAN if isatty is not None and isatty() else JSON


def environment(log_format: str) -> dict[str, str | None]:
    """Variables for the broker: metrics are JSON documents, so not on a terminal."""
    return {"POWERTOOLS_METRICS_DISABLED": "true" if log_format == HUMAN else None}


class HumanFormatter(LambdaPowertoolsFormatter):
    """``15:04:05 127.0.0.1 "POST /v1/authentication/verify HTTP/1.1" 200 -``.

    A Powertools formatter (Powertools keeps the Lambda context's keys on it between
    requests), so that it can stand in for the broker Logger's JSON one; only the line
    it writes differs.
    """

    def format(self, record: logging.LogRecord) -> str:
        line = f"{time.strftime('%H:%M:%S', time.localtime(record.created))} "
        if record.levelno >= logging.WARNING:
            line += f"{record.levelname}: "
        line += record.getMessage()
        details = [f"{n}={getattr(record, n)}" for n in _DETAILS if hasattr(record, n)]
        if details:
            line += f" ({' '.join(details)})"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def apply(log_format: str, stream: TextIO) -> Callable[[], None]:
    """Once the broker's handler is imported (its Logger exists): route the lines.
    Returns what undoes it (a later start in the same process may choose otherwise)."""
    # For the life of the process: harmless anywhere, and the same filter only once.
    warnings.filterwarnings("ignore", message=EMPTY_METRICS_WARNING, category=UserWarning)
    undo: list[Callable[[], None]] = []
    if log_format == HUMAN:
        formatter = HumanFormatter()
        gateway = logging.getLogger(GATEWAY_LOGGER)
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter)
        level, propagate = gateway.level, gateway.propagate
        gateway.addHandler(handler)
        gateway.setLevel(logging.INFO)
        gateway.propagate = False  # not through the broker's JSON handler
        undo.append(lambda: _restore_logger(gateway, handler, level, propagate))
        for broker_handler in logging.getLogger(BROKER_LOGGER).handlers:
            # Shared with the tapgate_broker.* loggers; Powertools itself swaps formatters so.
            undo.append(_swap_formatter(broker_handler, formatter))

    def restore() -> None:
        while undo:
            undo.pop()()

    return restore


def _swap_formatter(handler: logging.Handler, formatter: logging.Formatter) -> Callable[[], None]:
    previous = handler.formatter
    handler.setFormatter(formatter)
    return lambda: handler.setFormatter(previous)


def _restore_logger(
    logger: logging.Logger, handler: logging.Handler, level: int, propagate: bool
) -> None:
    logger.removeHandler(handler)
    logger.setLevel(level)
    logger.propagate = propagate
