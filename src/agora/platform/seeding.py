"""The seed plan: what `agora seed` generates, handed to each service's own bulk writer.

`agora.seed` (the tool) builds a `SeedPlan` from a profile, a random seed and a scale; every
service writes its part with its `<service>.seeding` module, through its own tables and rules,
so seeded data keeps the invariants the service's API keeps. The plan is plain data: no I/O.

Every seeded row's id is `seed_id(profile, entity, n)`: a UUIDv5 in Agora's seed namespace. A run
is recorded (profile, data version, seed, scale), so `agora seed clean` can regenerate exactly the
ids that run created and delete those, and nothing else.
"""

from __future__ import annotations

import asyncio
import gc
import json
import multiprocessing
import os
import time
import uuid
from collections import deque
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol, TypeVar

import asyncpg
from google.protobuf.message import Message

from agora.platform.bus.envelope import new_envelope
from agora.platform.bus.outbox import outbox_channel

# Marks the outbox rows of seeded history (a NATS header too), so `clean` finds those still
# unpublished; consumers tell seeded events by `EventEnvelope.seeded`.
SEEDED_HEADER = "Agora-Seeded"
SEED_NAMESPACE = uuid.UUID("6f1d4c8e-2b7a-5e0f-9a3c-4d5e6f708192")

OrderOutcome = Literal[
    "placed",
    "awaiting_payment",
    "paid",
    "fulfilled",
    "shipped",
    "delivered",
    "cancelled",
    "expired",
    "refunded",
]


@contextmanager
def paused_collector() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a bulk write: with a large plan in memory,
    each full collection walks millions of objects and doubles the time rows take to build;
    seed rows hold no reference cycles, so nothing accumulates meanwhile."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


BatchT = TypeVar("BatchT")
ContextT = TypeVar("ContextT")
RowsT = TypeVar("RowsT")
# Batches being built ahead of the one being written, per worker process.
_AHEAD_PER_WORKER = 2


async def built_ahead(
    build: Callable[[BatchT, ContextT], RowsT], batches: Sequence[BatchT], context: ContextT
) -> AsyncGenerator[RowsT, None]:
    """`build(batch, context)` of each batch, in order, built in worker processes (one per CPU)
    ahead of the caller, who writes one batch while the next ones are built. `build` must be a
    module-level function (workers import it) and `context` picklable; a single batch is built
    in a thread instead."""
    loop = asyncio.get_running_loop()
    if len(batches) <= 1:
        for batch in batches:
            yield await asyncio.to_thread(build, batch, context)
        return
    workers = max(1, min(os.cpu_count() or 1, 4))
    # Forkserver: workers start from a clean process, not a fork of one running an event loop.
    processes = multiprocessing.get_context("forkserver")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=processes)
    try:
        queued = iter(batches)
        pending: deque[asyncio.Future[RowsT]] = deque()
        for batch in queued:
            pending.append(loop.run_in_executor(pool, build, batch, context))
            if len(pending) >= workers * _AHEAD_PER_WORKER:
                break
        while pending:
            rows = await pending.popleft()
            following = next(queued, None)
            if following is not None:
                pending.append(loop.run_in_executor(pool, build, following, context))
            yield rows
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def seed_id(profile: str, entity: str, n: int | str) -> str:
    """The id of the `n`-th `entity` a profile seeds: the same in every run of that profile."""
    return str(uuid.uuid5(SEED_NAMESPACE, f"{profile}:{entity}:{n}"))


@dataclass(frozen=True)
class SeedCategory:
    id: str
    slug: str
    name: str
    parent_id: str | None


@dataclass(frozen=True)
class SeedVariant:
    id: str
    product_id: str
    sku: str
    title: str
    options: Mapping[str, str]
    # Minor units per currency code (EUR, USD, JPY, …).
    prices: Mapping[str, int]
    # Units on the shelf after every seeded order (initial minus committed; see SeedPlan).
    on_hand: int
    weight_g: int = 500


@dataclass(frozen=True)
class SeedProduct:
    id: str
    slug: str
    title: str
    description: str
    category_id: str
    attributes: Mapping[str, str]
    image_urls: tuple[str, ...]
    variants: tuple[SeedVariant, ...]
    published: bool = True
    # Planted structure, documented in docs/seed-data.md: "bestseller", "seasonal:<month>",
    # "bundle:<bundle id>".
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class SeedAddress:
    name: str
    line1: str
    city: str
    postal_code: str
    country: str
    email: str
    line2: str = ""
    region: str = ""
    phone: str = ""


@dataclass(frozen=True)
class SeedUser:
    id: str
    email: str
    name: str
    roles: tuple[str, ...]
    address: SeedAddress
    # Argon2id hash (customers share one, computed once); None: no password login.
    password_hash: str | None
    created_at: datetime
    # TOTP secret of a staff/admin development account, in clear ("" for none): the auth
    # writer seals it before it reaches a table.
    totp_secret: str = ""


@dataclass(frozen=True)
class SeedOrderLine:
    variant_id: str
    product_id: str
    sku: str
    title: str
    quantity: int
    unit_price_minor: int


@dataclass(frozen=True)
class SeedOrder:
    """An order and where its life ended; the orders writer replays it through the aggregate's
    commands (placed → awaiting_payment → paid → …) at the times in `steps`."""

    id: str
    customer_id: str
    currency: str
    lines: tuple[SeedOrderLine, ...]
    address: SeedAddress
    shipping_method: str
    outcome: OrderOutcome
    placed_at: datetime
    # When each later step happened, in order (awaiting_payment, paid, fulfilled, …).
    steps: tuple[datetime, ...]
    reservation_id: str
    invoice_id: str
    # Refunded amount for "refunded" orders (the whole total or part of it).
    refunded_minor: int = 0
    # What the customer pays, as the orders domain totals it (`agora.orders.seeding.with_totals`
    # fills it in); payments invoices it, having no access to orders' rules.
    total_minor: int = 0


@dataclass
class SeedPlan:
    profile: str
    data_version: int
    seed: int
    scale: float
    # The plan's clock: "now" for minimal/full, a fixed instant for the deterministic test profile.
    now: datetime
    categories: list[SeedCategory] = field(default_factory=list)
    products: list[SeedProduct] = field(default_factory=list)
    users: list[SeedUser] = field(default_factory=list)
    orders: list[SeedOrder] = field(default_factory=list)


Progress = Callable[[str, int], None]
"""`progress(entity, rows_written_since_last_call)`: the tool's progress bars."""


class ServiceSeeder(Protocol):
    """A service's bulk writer (`agora.<service>.seeding.SEEDER`): writes and removes its part of
    a plan in its own schema, in the caller's transaction (an asyncpg connection whose
    search_path is the service's schema)."""

    service: str

    async def write(
        self, conn: asyncpg.Connection, plan: SeedPlan, progress: Progress
    ) -> dict[str, int]:
        """Write the plan's rows; returns rows written per entity."""

    async def clean(self, conn: asyncpg.Connection, plan: SeedPlan) -> dict[str, int]:
        """Delete exactly the rows `write` made for this plan; returns rows deleted per entity."""


# --- seeded history as events ----------------------------------------------------------------


@dataclass(frozen=True)
class HistoricalEvent:
    """An event a service's live code would have published for a piece of seeded history,
    at the time it happened."""

    subject: str
    event: Message
    aggregate_id: str
    occurred_at: datetime
    version: int = 0


OutboxRow = tuple[uuid.UUID, str, bytes, str]


def time_ordered_id() -> uuid.UUID:
    """A UUIDv7 (RFC 9562: Unix milliseconds, then random bits): a million seeded events go
    into the outbox's unique index at its right edge instead of at random pages, which kept the
    full profile's seeding twice as long once the index outgrew the buffer cache."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 9562 variant
    return uuid.UUID(int=value)


_OUTBOX_COLUMNS = ("event_id", "subject", "payload", "headers")


def outbox_rows(producer: str, events: Sequence[HistoricalEvent], profile: str) -> list[OutboxRow]:
    """`events` as `producer`'s outbox rows: envelopes marked `seeded`, `occurred_at` the
    historical time, a fresh event id each (a later run's events are new events)."""
    headers = json.dumps({SEEDED_HEADER: profile})
    rows: list[OutboxRow] = []
    for e in events:
        event_id = time_ordered_id()
        envelope = new_envelope(
            producer=producer,
            subject=e.subject,
            event=e.event,
            aggregate_id=e.aggregate_id,
            aggregate_version=e.version,
            occurred_at=e.occurred_at,
            event_id=str(event_id),
            seeded=True,
        )
        rows.append((event_id, e.subject, envelope.SerializeToString(), headers))
    return rows


async def write_outbox(conn: asyncpg.Connection, rows: Sequence[OutboxRow]) -> int:
    """COPY outbox rows into the schema of `conn`'s search_path, in order (the relay publishes
    them in that order after the seeding transaction commits, woken by one notification)."""
    if not rows:
        return 0
    await conn.copy_records_to_table("outbox", records=list(rows), columns=_OUTBOX_COLUMNS)
    schema = await conn.fetchval("SELECT current_schema()")
    await conn.execute("SELECT pg_notify($1, '')", outbox_channel(schema))
    return len(rows)


async def clean_outbox(conn: asyncpg.Connection, profile: str) -> int:
    """Delete the profile's seeded events the relay has not published yet (those published
    stay in the stream: events are never taken back)."""
    status = await conn.execute(
        "DELETE FROM outbox WHERE headers ->> $1 = $2", SEEDED_HEADER, profile
    )
    return int(status.split()[-1])
