"""Which stream holds whose events, and how streams are configured."""

from __future__ import annotations

from datetime import timedelta

import pytest
from nats.js.api import StorageType

from agora.platform.bus import StreamSpec, dead_letter_stream, producer_stream, stream_name


def test_a_service_publishes_to_the_stream_named_after_it() -> None:
    spec = producer_stream("catalog", replicas=1)

    assert spec.name == "CATALOG"
    assert spec.subjects == ["catalog.>"]


@pytest.mark.parametrize("producer", ["", "cat.alog", "cat*", "cat>", "two words"])
def test_a_producer_name_that_cannot_name_a_stream_is_refused(producer: str) -> None:
    with pytest.raises(ValueError, match="producer"):
        stream_name(producer)


def test_replicas_default_to_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGORA_STREAM_REPLICAS", raising=False)

    assert producer_stream("orders").replicas == 1


def test_replicas_come_from_agora_stream_replicas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_STREAM_REPLICAS", "3")

    assert producer_stream("orders").replicas == 3
    assert dead_letter_stream().replicas == 3


@pytest.mark.parametrize("value", ["three", "0", "7"])
def test_unusable_replica_counts_are_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("AGORA_STREAM_REPLICAS", value)

    with pytest.raises(ValueError, match="AGORA_STREAM_REPLICAS"):
        producer_stream("orders")


def test_stream_config_keeps_events_on_file_with_a_two_minute_duplicate_window() -> None:
    config = StreamSpec(name="ORDERS", subjects=["orders.>"]).to_config()

    assert config.storage == StorageType.FILE
    assert config.duplicate_window == 120
    assert config.max_age is None
    assert config.num_replicas == 1


def test_stream_config_converts_max_age_to_seconds() -> None:
    spec = StreamSpec(name="AUDIT", subjects=["audit.>"], max_age=timedelta(days=1))

    assert spec.to_config().max_age == 86_400


def test_dead_letters_live_under_dlq_subjects() -> None:
    spec = dead_letter_stream(replicas=1)

    assert spec.name == "DEAD_LETTERS"
    assert spec.subjects == ["dlq.>"]
