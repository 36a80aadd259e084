"""Where a dead message goes and what it says about its failure."""

from __future__ import annotations

from agora.platform.bus import dead_letter_subject
from agora.platform.bus.dead_letters import dead_letter_headers, error_text


def test_a_dead_letter_is_filed_under_its_consumer_and_original_subject() -> None:
    assert (
        dead_letter_subject("search-index", "catalog.product.published")
        == "dlq.search-index.catalog.product.published"
    )


def test_dead_letter_headers_say_where_the_message_came_from_and_why_it_failed() -> None:
    headers = dead_letter_headers(
        {"traceparent": "00-abc-def-01", "Nats-Msg-Id": "event-1"},
        consumer="search-index",
        subject="catalog.product.published",
        stream="CATALOG",
        stream_seq=17,
        deliveries=5,
        error=ValueError("price must not be negative"),
    )

    assert headers["Agora-Original-Subject"] == "catalog.product.published"
    assert headers["Agora-Original-Stream"] == "CATALOG"
    assert headers["Agora-Original-Stream-Seq"] == "17"
    assert headers["Agora-Deliveries"] == "5"
    assert headers["Agora-Error"] == "ValueError: price must not be negative"
    assert headers["traceparent"] == "00-abc-def-01"
    # Its own message id: dead-lettering the same stream message twice stores it once.
    assert headers["Nats-Msg-Id"] == "dlq:search-index:CATALOG:17"


def test_error_text_fits_on_one_header_line() -> None:
    text = error_text(RuntimeError("line one\r\nline two\n" + "x" * 5000))

    assert "\n" not in text
    assert "\r" not in text
    assert text.startswith("RuntimeError: line one line two")
    assert len(text) == 1000
