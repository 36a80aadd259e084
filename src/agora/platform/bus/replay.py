"""Replay: move a durable consumer back to a stream sequence or a time, and rebuild projections.

The consumer is re-created with the same settings and a new start (`by_start_sequence` or
`by_start_time`); running `EventConsumer`s keep pulling from it by name. Handlers skip events
already in their inbox, so a replay that should run handlers again first forgets those events
(`forget_processed`); `rebuild` does that and resets the projection's read model in one
transaction before replaying.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import nats
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, ConsumerInfo, DeliverPolicy
from nats.js.errors import NotFoundError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora.platform.bus.consumer import consumer_config
from agora.platform.bus.inbox import forget_processed
from agora.platform.db import create_engine, session_factory, transaction
from agora.platform.errors import InvalidArgument, NotFound


class Projection(Protocol):
    """A read model fed by events, which can be thrown away and rebuilt from the stream."""

    @property
    def name(self) -> str:
        """The durable consumer name (also the inbox's `consumer`)."""
        ...

    @property
    def filter_subjects(self) -> list[str]: ...

    async def handle(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        """Apply one event to the read model (inside the inbox transaction)."""
        ...

    async def reset(self, session: AsyncSession) -> None:
        """Empty the read model."""
        ...


def replay_start(from_seq: int | None, since: datetime | None) -> dict[str, object]:
    """The consumer fields that make it deliver from `from_seq` or `since` (else from the start)."""
    if from_seq is not None and since is not None:
        raise InvalidArgument.for_field("since", "give a start sequence or a time, not both")
    if from_seq is not None:
        if from_seq < 1:
            raise InvalidArgument.for_field("fromSeq", "stream sequences start at 1")
        return {
            "deliver_policy": DeliverPolicy.BY_START_SEQUENCE,
            "opt_start_seq": from_seq,
            "opt_start_time": None,
        }
    if since is not None:
        if since.tzinfo is None:
            raise InvalidArgument.for_field("since", "the time needs a timezone")
        return {
            "deliver_policy": DeliverPolicy.BY_START_TIME,
            "opt_start_seq": None,
            "opt_start_time": since,
        }
    return {"deliver_policy": DeliverPolicy.ALL, "opt_start_seq": None, "opt_start_time": None}


async def replay(
    js: JetStreamContext,
    *,
    stream: str,
    durable: str,
    from_seq: int | None = None,
    since: datetime | None = None,
    filter_subjects: list[str] | None = None,
) -> ConsumerInfo:
    """Re-create `durable` so that it delivers `stream` again from `from_seq` or `since`.

    Keeps the consumer's settings; `filter_subjects` is needed only when it does not exist yet.
    """
    start = replay_start(from_seq, since)
    try:
        config = (await js.consumer_info(stream, durable)).config
    except NotFoundError:
        if not filter_subjects:
            raise NotFound("consumer", f"{stream}/{durable}") from None
        config = consumer_config(durable, filter_subjects, ack_wait_s=30, max_ack_pending=256)
    else:
        await js.delete_consumer(stream, durable)
    return await js.add_consumer(stream, config=_restarted(config, start))


def _restarted(config: ConsumerConfig, start: dict[str, object]) -> ConsumerConfig:
    restarted = config.evolve(**start)
    # The server reports both fields after creation; sending both back is rejected.
    if restarted.filter_subjects and restarted.filter_subject:
        restarted.filter_subject = None
    return restarted


async def rebuild(
    projection: Projection,
    sessions: async_sessionmaker[AsyncSession],
    js: JetStreamContext,
    *,
    stream: str,
    from_seq: int | None = 1,
    since: datetime | None = None,
) -> ConsumerInfo:
    """Empty the projection and its inbox in one transaction, then replay its consumer."""
    start_seq = None if since is not None else from_seq
    replay_start(start_seq, since)  # refuse a bad start before anything is deleted
    async with transaction(sessions) as session:
        await projection.reset(session)
        await forget_processed(session, projection.name)
    return await replay(
        js,
        stream=stream,
        durable=projection.name,
        from_seq=start_seq,
        since=since,
        filter_subjects=projection.filter_subjects,
    )


async def replay_consumer(
    nats_url: str,
    stream: str,
    durable: str,
    *,
    from_seq: int | None = None,
    since: datetime | None = None,
    database_url: str | None = None,
    schema: str | None = None,
) -> ConsumerInfo:
    """`agora events replay <consumer>`: replay `durable` on `stream` by names alone.

    With `database_url` and `schema` (the consumer's service), its inbox first forgets the
    replayed range so its handler runs again for those events; without them, events already
    handled are skipped and only missed ones are handled.
    """
    replay_start(from_seq, since)
    connection = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=1)
    try:
        js = connection.jetstream()
        try:
            await js.consumer_info(stream, durable)
        except NotFoundError:
            raise NotFound("consumer", f"{stream}/{durable}") from None
        # Forget before replaying: the other order lets a running consumer skip replayed events.
        if database_url is not None and schema is not None:
            await _forget_replayed(database_url, schema, durable, from_seq, since)
        return await replay(js, stream=stream, durable=durable, from_seq=from_seq, since=since)
    finally:
        await connection.close()


async def _forget_replayed(
    database_url: str, schema: str, durable: str, from_seq: int | None, since: datetime | None
) -> None:
    engine = create_engine(database_url, schema, pool_size=1)
    try:
        async with transaction(session_factory(engine)) as session:
            await forget_processed(session, durable, from_seq=from_seq, since=since)
    finally:
        await engine.dispose()
