"""Building event envelopes and opening them again."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from google.protobuf.wrappers_pb2 import Int64Value, StringValue

from agora.platform.bus import decode, new_envelope, subject_belongs_to


def test_envelope_names_the_event_type_subject_and_aggregate() -> None:
    at = datetime(2025, 3, 1, 12, 30, tzinfo=UTC)

    envelope = new_envelope(
        producer="catalog",
        subject="catalog.product.published",
        event=StringValue(value="lamp"),
        aggregate_id="prod-7",
        aggregate_version=3,
        occurred_at=at,
    )

    assert envelope.type == "google.protobuf.StringValue"
    assert envelope.subject == "catalog.product.published"
    assert envelope.producer == "catalog"
    assert (envelope.aggregate_id, envelope.aggregate_version) == ("prod-7", 3)
    assert envelope.occurred_at.ToDatetime(tzinfo=UTC) == at
    assert StringValue.FromString(envelope.payload).value == "lamp"


def test_every_envelope_gets_its_own_uuid_event_id() -> None:
    ids = {
        new_envelope(
            producer="catalog",
            subject="catalog.stock.reserved",
            event=Int64Value(value=1),
            aggregate_id="sku-1",
        ).event_id
        for _ in range(50)
    }

    assert len(ids) == 50
    assert all(uuid.UUID(event_id).version == 4 for event_id in ids)


@pytest.mark.parametrize(
    "subject",
    ["orders.order.placed", "catalog", "catalog.", "catalogue.product.published", "catalog.*"],
)
def test_subject_outside_the_producers_stream_is_refused(subject: str) -> None:
    with pytest.raises(ValueError, match="subject"):
        new_envelope(producer="catalog", subject=subject, event=StringValue(), aggregate_id="p")


def test_subject_belongs_to_its_producer_only() -> None:
    assert subject_belongs_to("catalog", "catalog.product.published")
    assert not subject_belongs_to("catalog", "catalogue.product.published")
    assert not subject_belongs_to("orders", "catalog.product.published")


def test_decode_returns_the_event_inside_the_envelope() -> None:
    envelope = new_envelope(
        producer="catalog",
        subject="catalog.stock.released",
        event=Int64Value(value=42),
        aggregate_id="sku-9",
    )

    assert decode(envelope, Int64Value).value == 42


def test_decode_refuses_to_read_an_event_as_another_type() -> None:
    envelope = new_envelope(
        producer="catalog",
        subject="catalog.stock.released",
        event=Int64Value(value=42),
        aggregate_id="sku-9",
    )

    with pytest.raises(TypeError, match=r"google\.protobuf\.Int64Value"):
        decode(envelope, StringValue)
