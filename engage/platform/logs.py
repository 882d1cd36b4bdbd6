"""Structured logs: one JSON object per line (or readable console lines), request id bound per request."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import structlog
from litestar.logging.config import LoggingConfig, StructLoggingConfig, default_structlog_processors


def _stdlib_formatter(as_json: bool) -> dict[str, Any]:
    renderer = structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer(colors=False)
    return {
        "()": structlog.stdlib.ProcessorFormatter,
        "processors": [structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        "foreign_pre_chain": [
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
        ],
    }


def structlog_config(*, level: str, as_json: bool) -> StructLoggingConfig:
    # The writer must match the renderer: JSON renders bytes, the console renderer text. Left to itself,
    # Litestar picks the writer by "is stderr a terminal", so ENGAGE_LOG_JSON=false off a terminal (or true
    # on one) wrote text to a bytes writer: a TypeError in every logged request (a 500 with the access log).
    return StructLoggingConfig(
        processors=default_structlog_processors(as_json=as_json),
        logger_factory=structlog.BytesLoggerFactory() if as_json else structlog.WriteLoggerFactory(),
        pretty_print_tty=False,
        standard_lib_logging_config=LoggingConfig(
            root={"level": level, "handlers": ["queue_listener"]},
            formatters={"standard": _stdlib_formatter(as_json)},
            loggers={
                "engage": {"level": level, "handlers": ["queue_listener"], "propagate": False},
                # /ready reads the migration state; Alembic would log that at INFO on every probe
                "alembic": {"level": "WARNING", "handlers": ["queue_listener"], "propagate": False},
            },
            log_exceptions="never",
        ),
        log_exceptions="never",  # 4xx are expected; engage.http.problems logs the 500s
    )


class SampledWarning:
    """At most one warning per `every` seconds, saying how many like it were left out: an overload that
    answers thousands of requests "busy" writes a line now and then, not a line per request."""

    def __init__(
        self, logger: logging.Logger, every: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.logger = logger
        self.every = every
        self.clock = clock
        self._last = float("-inf")
        self._left_out = 0

    def __call__(self, message: str, *args: Any) -> None:
        now = self.clock()
        if now - self._last < self.every:
            self._left_out += 1
            return
        if self._left_out:
            message, args = message + " (and %d more since the last report)", (*args, self._left_out)
        self._last, self._left_out = now, 0
        self.logger.warning(message, *args)
