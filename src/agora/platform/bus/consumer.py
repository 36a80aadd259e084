"""Durable pull consumers with explicit ack, idempotent through the inbox, with dead letters.

Messages are pulled in batches of up to `batch` (`pull.BatchPull`). For every message: one
database transaction records `(consumer, event_id)` in the inbox and runs the handler; the
message is acked only after that commit. An event already in the inbox is acked
without running the handler again. A failing handler is retried after a growing delay; after
`max_deliver` deliveries the message goes to `dlq.<consumer>.<subject>` on the DEAD_LETTERS
stream and is terminated. Outages (database or network down) are retried without counting
towards the dead-letter limit: they are not the message's fault.

Batched mode (`batched=True`), for consumers whose per-message transaction costs more than the
handler: one transaction per fetched batch instead of one per message.

- The batch's events are recorded in the inbox in one statement; an event already there (or
  repeated earlier in the batch) is skipped exactly as in the per-message mode.
- Each handler runs in its own SAVEPOINT, one after the other in stream order (so the events
  of one aggregate keep their order). A failing handler is rolled back alone, its inbox row
  with it; it is then retried or dead-lettered by the rules above, after the batch commits.
  A later copy of that event in the same batch gets its own attempt.
- Every message is acked only after the batch's commit. Nothing is acked when the transaction
  fails: on an outage (database or network lost, connection closed mid-batch) every message is
  redelivered after the backoff, uncounted, and its work is redone (the inbox committed
  nothing); on any other failure of the batch as a whole (the commit refused, a savepoint that
  cannot be rolled back) the batch is redone at once message by message in the per-message
  mode, so the failure lands on the message that causes it.
- A handler failing with a database or network outage aborts the batch (the outage rule: which
  peer is away cannot be told, and the transaction may be gone); a broker outage in a handler is
  rolled back alone and redelivered uncounted.
- Keep-alive covers the whole batch: every unsettled message is marked in progress whenever
  half of `ack_wait` passed since the fetch or the last such mark.
- Messages that are not envelopes are dead-lettered at once, before the transaction.

With a `batch_handler` as well (set-based work: one statement for the whole batch instead of
one per message), the batch's new events (stream order, each event once) go to it in one call,
in the transaction that records them in the inbox, without savepoints. If it fails (other than
by an outage) that transaction is rolled back and the batch is redone at once as above, each
message by the per-message `handler` in its own savepoint: a poisoned message then fails alone
and every other one is handled, exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, ConsumerInfo, DeliverPolicy
from nats.js.errors import NotFoundError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora.platform.bus.backoff import RedeliveryBackoff
from agora.platform.bus.dead_letters import dead_letter_headers, dead_letter_subject
from agora.platform.bus.inbox import forget_event, remember_event, remember_events
from agora.platform.bus.pull import BatchPull
from agora.platform.bus.streams import dead_letter_stream, ensure_stream
from agora.platform.db import driver_connection, transaction
from agora.platform.outages import is_database_outage, is_outage

log = structlog.get_logger(__name__)

# Batched mode: each handler runs after its own savepoint (the previous one released in the same
# round trip; the commit releases the last).
_SAVEPOINT = "SAVEPOINT agora_event"
_NEXT_SAVEPOINT = "RELEASE SAVEPOINT agora_event; SAVEPOINT agora_event"
_ROLLBACK_TO_SAVEPOINT = "ROLLBACK TO SAVEPOINT agora_event"

EventHandler = Callable[[AsyncSession, EventEnvelope], Awaitable[None]]
BatchHandler = Callable[[AsyncSession, Sequence[EventEnvelope]], Awaitable[None]]


def live_only(handler: EventHandler) -> EventHandler:
    """`handler` for live events only: seeded history (`EventEnvelope.seeded`, written by
    `agora seed`) is acknowledged without running it. For every handler whose effects reach
    beyond its own read models (a saga step, a call to another service, a reward, a mail):
    seeded orders were never to be invoiced, charged, restocked or rewarded again."""

    async def handle(session: AsyncSession, envelope: EventEnvelope) -> None:
        if not envelope.seeded:
            await handler(session, envelope)

    return handle


class DeadLetterReason(Exception):
    """A message that can never be handled (not an envelope): dead-lettered at once."""


def consumer_config(
    durable: str,
    filter_subjects: list[str],
    *,
    ack_wait_s: float,
    max_ack_pending: int,
) -> ConsumerConfig:
    """The JetStream configuration of an Agora durable pull consumer (delivering from the start).

    The server redelivers without limit (max_deliver -1): the consumer itself decides when a
    message is dead, so a crash during its last allowed delivery cannot strand the message.
    """
    config = ConsumerConfig(
        name=durable,
        durable_name=durable,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=ack_wait_s,
        max_deliver=-1,
        max_ack_pending=max_ack_pending,
    )
    if len(filter_subjects) == 1:
        config.filter_subject = filter_subjects[0]
    else:
        config.filter_subjects = list(filter_subjects)
    return config


class EventConsumer:
    """Feeds one durable consumer's messages to `handler`, each in its own transaction (or, with
    `batched`, each fetched batch in one transaction; with `batch_handler`, each fetched batch
    in one call of it: see the module's docstring)."""

    def __init__(
        self,
        js: JetStreamContext,
        sessions: async_sessionmaker[AsyncSession],
        *,
        stream: str,
        durable: str,
        filter_subjects: list[str],
        handler: EventHandler,
        max_deliver: int = 5,
        ack_wait_s: float = 30,
        batch: int = 64,
        backoff: RedeliveryBackoff | None = None,
        fetch_timeout_s: float = 5.0,
        batched: bool = False,
        batch_handler: BatchHandler | None = None,
    ) -> None:
        if not filter_subjects:
            raise ValueError("a consumer needs at least one filter subject")
        if max_deliver < 1:
            raise ValueError("max_deliver must be at least 1")
        self._js = js
        self._sessions = sessions
        self.stream = stream
        self.durable = durable
        self.filter_subjects = list(filter_subjects)
        self._handler = handler
        self._max_deliver = max_deliver
        self._ack_wait_s = ack_wait_s
        self._batch = batch
        self._backoff = backoff or RedeliveryBackoff()
        self._fetch_timeout_s = fetch_timeout_s
        self._batched = batched or batch_handler is not None
        self._batch_handler = batch_handler
        self._subscription: BatchPull | None = None
        self._stopping = asyncio.Event()
        self._stopped = asyncio.Event()
        self._stopped.set()

    async def run(self) -> None:
        """Consume until `stop()`; the message in hand is finished first."""
        self._stopping.clear()
        self._stopped.clear()
        try:
            while not self._stopping.is_set():
                await self._consume_or_wait()
        finally:
            await self._unsubscribe()
            self._stopped.set()

    async def stop(self) -> None:
        """Stop `run()` and wait for it to return."""
        self._stopping.set()
        await self._stopped.wait()

    async def consume_once(self, timeout_s: float = 1.0) -> int:
        """Fetch one batch (waiting up to `timeout_s` for the first message); handle it.

        Returns how many messages were handled, acked or dead-lettered (0 when none came).
        """
        messages = await self._fetch(timeout_s)
        await self._handle_batch(messages)
        return len(messages)

    async def ensure(self) -> ConsumerInfo:
        """Create the durable consumer, or update its settings, keeping where it delivers from.

        A replay may have moved the consumer's start; re-creating it here must not undo that.
        """
        desired = consumer_config(
            self.durable,
            self.filter_subjects,
            ack_wait_s=self._ack_wait_s,
            max_ack_pending=max(self._batch * 4, 256),
        )
        with contextlib.suppress(NotFoundError):
            current = (await self._js.consumer_info(self.stream, self.durable)).config
            desired.deliver_policy = current.deliver_policy
            desired.opt_start_seq = current.opt_start_seq
            desired.opt_start_time = current.opt_start_time
        return await self._js.add_consumer(self.stream, config=desired)

    async def _consume_or_wait(self) -> None:
        fetch = asyncio.ensure_future(self._fetch(self._fetch_timeout_s))
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({fetch, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if not fetch.done():
            # Only the wait for messages is abandoned; what was fetched is handled below.
            fetch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await fetch
            return
        try:
            messages = fetch.result()
        except Exception as error:  # NATS away, stream missing: retry, do not die
            log.warning("consumer_fetch_failed", consumer=self.durable, error=repr(error))
            await self._pause(1.0)
            return
        await self._handle_batch(messages)

    async def _fetch(self, timeout_s: float) -> list[Msg]:
        pull = await self._subscribe()
        return await pull.fetch(self._batch, timeout_s)

    async def _handle_batch(self, messages: list[Msg]) -> None:
        fetched_at = time.monotonic()
        if self._batched:
            await self._deliver_batch(messages, fetched_at)
            return
        await self._deliver_each(messages, fetched_at)

    async def _deliver_each(self, messages: list[Msg], fetched_at: float) -> None:
        for position, message in enumerate(messages):
            if self._stopping.is_set():
                await self._hand_back(messages[position:])
                return
            try:
                await self._keep_alive(message, fetched_at)
                await self._deliver(message)
            except Exception as error:  # an ack lost with the connection: redelivered, skipped
                log.warning("consumer_ack_failed", consumer=self.durable, error=repr(error))

    async def _hand_back(self, messages: list[Msg]) -> None:
        """Stopping: give the messages not yet handled back at once (another replica takes
        them now, not after `ack_wait`), so a stop waits for one message, not a whole batch."""
        for message in messages:
            with contextlib.suppress(Exception):
                await message.nak()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _subscribe(self) -> BatchPull:
        if self._subscription is None:
            await ensure_stream(self._js, dead_letter_stream())
            await self.ensure()
            # nats-py keeps the connection and the API prefix (domain) on the context only.
            pull = BatchPull(self._js._nc, self._js._prefix, self.stream, self.durable)
            await pull.start()
            self._subscription = pull
        return self._subscription

    async def _unsubscribe(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            await subscription.stop()

    async def _keep_alive(self, message: Msg, fetched_at: float) -> None:
        # A batch handled one by one may outlast ack_wait: tell the server we are on it.
        if time.monotonic() - fetched_at > self._ack_wait_s / 2:
            await message.in_progress()

    async def _deliver(self, message: Msg) -> None:
        try:
            envelope = _open(message)
            await self._handle_once(message, envelope)
        except Exception as error:
            await self._failed(message, error)
            return
        await message.ack()

    async def _deliver_batch(self, messages: list[Msg], fetched_at: float) -> None:
        opened: list[tuple[Msg, EventEnvelope]] = []
        for message in messages:
            try:
                opened.append((message, _open(message)))
            except DeadLetterReason as error:
                await self._settle(message, error)
        if not opened:
            return
        keep_alive = _BatchKeepAlive([m for m, _ in opened], fetched_at, self._ack_wait_s / 2)
        try:
            failures = await self._handle_batch_once(opened, keep_alive)
        except Exception as error:
            if is_outage(error):
                log.warning("consumer_outage", consumer=self.durable, error=repr(error))
                for message, _ in opened:
                    await self._settle(message, error)
                return
            log.warning("consumer_batch_failed", consumer=self.durable, error=repr(error))
            await self._deliver_each([m for m, _ in opened], keep_alive.last)
            return
        for index, (message, _) in enumerate(opened):
            await self._settle(message, failures.get(index))

    async def _handle_batch_once(
        self, opened: list[tuple[Msg, EventEnvelope]], keep_alive: _BatchKeepAlive
    ) -> dict[int, Exception]:
        """The batch by the batch handler, or message by message when there is none or it
        failed; the failures (by index) rolled back alone."""
        if self._batch_handler is not None:
            try:
                await self._handle_all_at_once(self._batch_handler, opened, keep_alive)
            except Exception as error:
                if is_outage(error):
                    raise
                log.warning(
                    "consumer_batch_handler_failed", consumer=self.durable, error=repr(error)
                )
            else:
                return {}
        return await self._handle_all_once(opened, keep_alive)

    async def _handle_all_at_once(
        self,
        batch_handler: BatchHandler,
        opened: list[tuple[Msg, EventEnvelope]],
        keep_alive: _BatchKeepAlive,
    ) -> None:
        """The batch's new events to `batch_handler` in one call, in the transaction that
        records them in the inbox (each event once, in stream order)."""
        ids = [envelope.event_id for _, envelope in opened]  # canonical: see _open
        async with transaction(self._sessions) as session:
            fresh = await self._remember_all(session, opened, ids)
            envelopes: list[EventEnvelope] = []
            for event_id, (_, envelope) in zip(ids, opened, strict=True):
                if event_id in fresh:  # handled before if not, or earlier in this batch
                    fresh.discard(event_id)
                    envelopes.append(envelope)
            if envelopes:
                await keep_alive.beat()
                await batch_handler(session, envelopes)

    async def _handle_all_once(
        self, opened: list[tuple[Msg, EventEnvelope]], keep_alive: _BatchKeepAlive
    ) -> dict[int, Exception]:
        """Handle the batch in one transaction; the failures (by index) it rolled back alone."""
        failures: dict[int, Exception] = {}
        ids = [envelope.event_id for _, envelope in opened]  # canonical: see _open
        async with transaction(self._sessions) as session:
            fresh = await self._remember_all(session, opened, ids)
            raw = await driver_connection(session)
            savepoint = _SAVEPOINT
            forgotten: set[str] = set()
            for index, ((message, envelope), event_id) in enumerate(zip(opened, ids, strict=True)):
                if event_id not in fresh and event_id not in forgotten:
                    continue  # handled before, or earlier in this batch
                await keep_alive.beat()
                # Raw savepoints, one round trip per handler (SQLAlchemy's begin_nested takes
                # two and cost more CPU than the handler's own statements: a measured hot path).
                await raw.execute(savepoint)
                savepoint = _NEXT_SAVEPOINT
                try:
                    if event_id in forgotten:  # an earlier copy failed: this one retries
                        await remember_event(
                            session,
                            consumer=self.durable,
                            event_id=event_id,
                            stream_seq=message.metadata.sequence.stream,
                            stored_at=message.metadata.timestamp,
                        )
                    await self._handler(session, envelope)
                except Exception as error:
                    if is_database_outage(error):
                        raise
                    await raw.execute(_ROLLBACK_TO_SAVEPOINT)
                    failures[index] = error
                    if event_id in fresh:
                        await forget_event(session, consumer=self.durable, event_id=event_id)
                    fresh.discard(event_id)
                    forgotten.add(event_id)
                    continue
                fresh.discard(event_id)
                forgotten.discard(event_id)
        return failures

    async def _remember_all(
        self, session: AsyncSession, opened: list[tuple[Msg, EventEnvelope]], ids: list[str]
    ) -> set[str]:
        """Record the batch's events in the inbox; the ids recorded now (the new ones)."""
        return await remember_events(
            session,
            consumer=self.durable,
            events=[
                (event_id, *_position(m)) for event_id, (m, _) in zip(ids, opened, strict=True)
            ],
        )

    async def _settle(self, message: Msg, error: Exception | None) -> None:
        """Ack `message`, or apply the failure rules to it; a lost ack is only logged (the
        message comes back and the inbox absorbs it)."""
        try:
            if error is None:
                await message.ack()
            else:
                await self._failed(message, error)
        except Exception as lost:
            log.warning("consumer_ack_failed", consumer=self.durable, error=repr(lost))

    async def _handle_once(self, message: Msg, envelope: EventEnvelope) -> None:
        metadata = message.metadata
        async with transaction(self._sessions) as session:
            first_time = await remember_event(
                session,
                consumer=self.durable,
                event_id=envelope.event_id,
                stream_seq=metadata.sequence.stream,
                stored_at=metadata.timestamp,
            )
            if first_time:
                await self._handler(session, envelope)

    async def _failed(self, message: Msg, error: Exception) -> None:
        deliveries = message.metadata.num_delivered
        if is_outage(error):
            log.warning("consumer_outage", consumer=self.durable, error=repr(error))
            await message.nak(delay=self._backoff.delay_s(deliveries))
        elif isinstance(error, DeadLetterReason) or deliveries >= self._max_deliver:
            await self._dead_letter(message, error)
        else:
            log.warning(
                "event_handler_failed",
                consumer=self.durable,
                subject=message.subject,
                delivery=deliveries,
                error=repr(error),
            )
            await message.nak(delay=self._backoff.delay_s(deliveries))

    async def _dead_letter(self, message: Msg, error: Exception) -> None:
        metadata = message.metadata
        headers = dead_letter_headers(
            message.headers or {},
            consumer=self.durable,
            subject=message.subject,
            stream=metadata.stream,
            stream_seq=metadata.sequence.stream,
            deliveries=metadata.num_delivered,
            error=error,
        )
        try:
            await self._js.publish(
                dead_letter_subject(self.durable, message.subject), message.data, headers=headers
            )
        except Exception as publish_error:  # keep the message: it must not vanish
            log.error("dead_letter_failed", consumer=self.durable, error=repr(publish_error))
            await message.nak(delay=self._backoff.delay_s(metadata.num_delivered))
            return
        log.error(
            "event_dead_lettered",
            consumer=self.durable,
            subject=message.subject,
            stream_seq=metadata.sequence.stream,
            error=repr(error),
        )
        await message.term()


class _BatchKeepAlive:
    """Marks a batch's messages in progress when `every_s` passed since the fetch or the last
    mark: they stay unacked until the batch commits."""

    def __init__(self, messages: list[Msg], fetched_at: float, every_s: float) -> None:
        self._messages = messages
        self.last = fetched_at
        self._every_s = every_s

    async def beat(self) -> None:
        now = time.monotonic()
        if now - self.last <= self._every_s:
            return
        self.last = now
        for message in self._messages:
            try:
                await message.in_progress()
            except Exception as error:  # the broker away: the acks will tell, not the handlers
                log.warning("consumer_keep_alive_failed", error=repr(error))
                return


def _open(message: Msg) -> EventEnvelope:
    envelope = EventEnvelope()
    try:
        envelope.ParseFromString(message.data)
    except Exception as error:
        raise DeadLetterReason(f"not an EventEnvelope: {error}") from error
    try:
        envelope.event_id = _event_id(envelope)  # as the inbox writes it, from here on
    except ValueError:
        raise DeadLetterReason(f"event id {envelope.event_id!r} is not a UUID") from None
    return envelope


# The form PostgreSQL writes a uuid in: most ids already are, and a match is cheaper than
# parsing (a measured hot path of batched consumers).
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _event_id(envelope: EventEnvelope) -> str:
    """The envelope's event id as the inbox writes it (ValueError when it is no UUID)."""
    text = envelope.event_id
    return text if _CANONICAL_UUID.fullmatch(text) else str(uuid.UUID(text))


def _position(message: Msg) -> tuple[int, datetime]:
    """(stream sequence, time stored) of a JetStream message, read from its ack subject
    (`$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ns>.<pending>`);
    nats-py's `metadata` builds much more, and this runs for every message of a batch."""
    tokens = (message.reply or "").split(".")
    if len(tokens) != 9 or tokens[:2] != ["$JS", "ACK"]:
        metadata = message.metadata  # another layout (a domain, an account): nats-py knows
        return metadata.sequence.stream, metadata.timestamp
    return int(tokens[5]), datetime.fromtimestamp(int(tokens[7]) / 1e9, UTC)
