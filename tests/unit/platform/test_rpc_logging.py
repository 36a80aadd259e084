"""Structured logs: JSON lines with service, level, timestamp, event and the request id."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from agora.platform.logging import bind_request_id, configure_logging, current_request_id


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Logging configured into a buffer; the previous configuration is restored afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging("catalog", "INFO", stream=stream)
    yield stream
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    root.handlers[:] = handlers
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_line_names_service_level_timestamp_and_event(log_stream: io.StringIO) -> None:
    structlog.get_logger().info("stock_reserved", sku="A-1", quantity=2)
    [line] = lines(log_stream)
    assert line["service"] == "catalog"
    assert line["level"] == "info"
    assert line["event"] == "stock_reserved"
    assert line["timestamp"].endswith("Z")
    assert (line["sku"], line["quantity"]) == ("A-1", 2)


async def test_the_bound_request_id_is_on_lines_of_its_own_task_only(
    log_stream: io.StringIO,
) -> None:
    async def serve(request_id: str) -> None:
        bind_request_id(request_id)
        await asyncio.sleep(0)
        structlog.get_logger().info("served")

    await asyncio.gather(asyncio.create_task(serve("r-1")), asyncio.create_task(serve("r-2")))
    assert sorted(line["request_id"] for line in lines(log_stream)) == ["r-1", "r-2"]
    assert current_request_id() is None


def test_stdlib_logging_goes_through_the_same_renderer(log_stream: io.StringIO) -> None:
    bind_request_id("r-9")
    logging.getLogger("sqlalchemy.engine").warning("pool exhausted: %d", 10)
    [line] = lines(log_stream)
    assert line["event"] == "pool exhausted: 10"
    assert (line["level"], line["service"], line["request_id"]) == ("warning", "catalog", "r-9")
    assert line["logger"] == "sqlalchemy.engine"


def test_exceptions_are_rendered_into_the_line(log_stream: io.StringIO) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        structlog.get_logger().exception("failed")
    [line] = lines(log_stream)
    assert "ValueError: boom" in line["exception"]


def test_lines_below_the_level_are_dropped(log_stream: io.StringIO) -> None:
    structlog.get_logger().debug("noise")
    logging.getLogger("nats").debug("noise")
    assert log_stream.getvalue() == ""


def test_configuring_again_replaces_the_configuration(log_stream: io.StringIO) -> None:
    second = io.StringIO()
    configure_logging("orders", "DEBUG", stream=second)
    structlog.get_logger().debug("cart_created")
    logging.getLogger("x").info("stdlib line")
    assert log_stream.getvalue() == ""
    assert [(line["service"], line["event"]) for line in lines(second)] == [
        ("orders", "cart_created"),
        ("orders", "stdlib line"),
    ]


def test_console_format_is_readable_text(log_stream: io.StringIO) -> None:
    console = io.StringIO()
    configure_logging("catalog", "INFO", "console", stream=console)
    structlog.get_logger().info("product_published", slug="blue-shoe")
    text = console.getvalue()
    assert "product_published" in text
    assert "slug=blue-shoe" in text
