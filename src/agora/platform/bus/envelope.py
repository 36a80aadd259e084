"""The event envelope: building one around a producer's event message, and opening it again."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TypeVar

from google.protobuf.message import Message

from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora.platform.kernel.clock import utcnow
from agora.platform.rpc.timestamps import timestamp

EventT = TypeVar("EventT", bound=Message)


def subject_belongs_to(producer: str, subject: str) -> bool:
    """Whether `subject` is one of `producer`'s subjects (`<producer>.<aggregate>.<event>`)."""
    head, dot, rest = subject.partition(".")
    return head == producer and dot == "." and rest != "" and not subject.endswith(".")


def new_envelope(
    *,
    producer: str,
    subject: str,
    event: Message,
    aggregate_id: str,
    aggregate_version: int = 0,
    occurred_at: datetime | None = None,
    event_id: str | None = None,
    seeded: bool = False,
) -> EventEnvelope:
    """An envelope with a fresh event id around `event`, published on `subject` (`seeded`:
    history written by `agora seed`, see `EventEnvelope.seeded`)."""
    if not subject_belongs_to(producer, subject):
        raise ValueError(
            f"subject {subject!r} is not in producer {producer!r}'s stream: "
            f"expected '{producer}.<aggregate>.<event>'"
        )
    if any(c in subject for c in " *>"):
        raise ValueError(f"subject {subject!r} must be a concrete NATS subject")
    envelope = EventEnvelope(
        event_id=event_id or str(uuid.uuid4()),
        type=event.DESCRIPTOR.full_name,
        subject=subject,
        aggregate_id=aggregate_id,
        aggregate_version=aggregate_version,
        producer=producer,
        payload=event.SerializeToString(),
        seeded=seeded,
    )
    envelope.occurred_at.CopyFrom(timestamp(occurred_at or utcnow()))
    return envelope


def decode(envelope: EventEnvelope, message_cls: type[EventT]) -> EventT:
    """The event inside `envelope`, as a `message_cls` (which must match the envelope's type)."""
    expected = message_cls.DESCRIPTOR.full_name
    if envelope.type != expected:
        raise TypeError(f"event {envelope.event_id} is a {envelope.type}, not a {expected}")
    event = message_cls()
    event.ParseFromString(envelope.payload)
    return event
