"""Structured logs: one JSON line per event, with the service name and the request id.

`configure_logging` sets up structlog and routes the standard library's `logging` through the
same renderer, so lines from grpc, SQLAlchemy or nats-py look like Agora's own. The request id
lives in a context variable (bound by the gRPC server interceptor or the gateway) and is merged
into every line logged while serving that request.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from typing import Any, Literal, TextIO

import orjson
import structlog
from structlog.types import EventDict, Processor, WrappedLogger

LogFormat = Literal["json", "console"]

REQUEST_ID_KEY = "request_id"

# Our own variable next to structlog's: the client interceptor reads it on every call, and a
# single ContextVar lookup is cheaper than collecting all of structlog's context variables.
_request_id: ContextVar[str | None] = ContextVar("agora_request_id", default=None)

# Marks the root handler we install, so a second configure_logging replaces it.
_HANDLER_MARK = "_agora_handler"


def bind_request_id(request_id: str) -> None:
    """Bind `request_id` to the current context: merged into log lines, sent on outgoing calls."""
    _request_id.set(request_id)
    structlog.contextvars.bind_contextvars(request_id=request_id)


def current_request_id() -> str | None:
    """The request id bound in the current context, if any."""
    request_id = _request_id.get()
    if request_id is not None:
        return request_id
    bound = structlog.contextvars.get_contextvars().get(REQUEST_ID_KEY)
    return str(bound) if bound is not None else None


# Libraries whose INFO lines say nothing an operator needs (Alembic lists its plugins).
QUIET_LIBRARIES = ("alembic", "asyncio", "nats")


def configure_logging(
    service: str, level: str = "INFO", fmt: LogFormat = "json", *, stream: TextIO | None = None
) -> None:
    """Send structlog and stdlib logs to `stream` (stderr) as JSON lines or console text.

    Every line has `timestamp`, `level`, `event` and `service`, plus `request_id` when one is
    bound. Calling it again replaces the previous configuration.
    """
    numeric_level = logging.getLevelNamesMapping()[level.upper()]
    shared = _shared_processors(service)
    renderer = _renderer(fmt)
    out = stream or sys.stderr
    structlog.reset_defaults()
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.WriteLoggerFactory(file=out),
        context_class=dict,
        # Not cached: a later configure_logging (tests, reconfiguration) must reach every logger.
        cache_logger_on_first_use=False,
    )
    _route_stdlib(shared, renderer, numeric_level, out)


def _shared_processors(service: str) -> list[Processor]:
    def add_service(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
        event.setdefault("service", service)
        return event

    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_service,
        structlog.processors.StackInfoRenderer(),
    ]


def _renderer(fmt: LogFormat) -> Processor:
    if fmt == "console":
        return structlog.dev.ConsoleRenderer(colors=False)
    return structlog.processors.JSONRenderer(serializer=_dumps)


def _dumps(event: Any, **_: Any) -> str:
    return orjson.dumps(event, default=str).decode()


def _route_stdlib(shared: list[Processor], renderer: Processor, level: int, out: TextIO) -> None:
    """Format stdlib records with the same processors and renderer as structlog's."""
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for chatty in QUIET_LIBRARIES:
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
