"""Events between services: transactional outbox, relay to JetStream, idempotent durable
consumers with an inbox, dead letters (and their retry), and replay.

Producer side: `create_bus_tables()` in a migration, `record_event(session, ...)` in the
transaction of the state change, and an `OutboxRelay` per process. Consumer side: an
`EventConsumer` per durable with a handler `async (session, envelope) -> None` (and, for
set-based work, a batch handler `async (session, envelopes) -> None`).
"""

from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora.platform.bus.backoff import RedeliveryBackoff
from agora.platform.bus.consumer import (
    BatchHandler,
    EventConsumer,
    EventHandler,
    consumer_config,
)
from agora.platform.bus.dead_letters import (
    DeadLetter,
    dead_letter,
    dead_letter_subject,
    list_dead_letters,
    retry_dead_letter,
)
from agora.platform.bus.envelope import decode, new_envelope, subject_belongs_to
from agora.platform.bus.inbox import forget_processed, remember_event
from agora.platform.bus.outbox import outbox_channel, record_event
from agora.platform.bus.relay import OutboxRelay, RelayStats
from agora.platform.bus.replay import Projection, rebuild, replay, replay_consumer
from agora.platform.bus.schema import create_bus_tables, drop_bus_tables, inbox_table, outbox_table
from agora.platform.bus.streams import (
    DEAD_LETTER_STREAM,
    StreamSpec,
    configured_replicas,
    dead_letter_stream,
    ensure_stream,
    producer_stream,
    stream_name,
)

__all__ = [
    "DEAD_LETTER_STREAM",
    "BatchHandler",
    "DeadLetter",
    "EventConsumer",
    "EventEnvelope",
    "EventHandler",
    "OutboxRelay",
    "Projection",
    "RedeliveryBackoff",
    "RelayStats",
    "StreamSpec",
    "configured_replicas",
    "consumer_config",
    "create_bus_tables",
    "dead_letter",
    "dead_letter_stream",
    "dead_letter_subject",
    "decode",
    "drop_bus_tables",
    "ensure_stream",
    "forget_processed",
    "inbox_table",
    "list_dead_letters",
    "new_envelope",
    "outbox_channel",
    "outbox_table",
    "producer_stream",
    "rebuild",
    "record_event",
    "remember_event",
    "replay",
    "replay_consumer",
    "retry_dead_letter",
    "stream_name",
    "subject_belongs_to",
]
