"""Loads and saves the orders schema (`tables.py`): carts, the order event store, the read models
the projection keeps, guest order access. It decides nothing: states and rules are the domain's.

Measured hot paths run raw asyncpg statements in the session's transaction (`driver_connection`):
every cart change, order append and load, and view read and write. Moving them off SQLAlchemy
took checkout from 6.7 to 24 per second on the reference machine (docs/benchmarks.md). The rest
(listings, counts, clearing the views) is SQLAlchemy Core over `tables.py`.

The event store is append-only: `(order_id, version)` is the primary key, so two writers that
loaded the same version race for the same row and the loser gets `Conflict` (optimistic
concurrency). Every appended event is recorded in the outbox in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora.orders import events
from agora.orders.aggregate import History, Order, OrderEvent
from agora.orders.domain import (
    Address,
    Cart,
    CartLine,
    CartStatus,
    OrderListPage,
    OrderListQuery,
    OrderSummary,
)
from agora.orders.tables import (
    order_access,
    order_details,
    order_events,
    order_list,
    return_requests,
)
from agora.orders.translation import EVENT_TYPES, event_from_pb, event_pb, parse_event
from agora.platform.db import driver_connection
from agora.platform.errors import Conflict, NotFound
from agora.platform.kernel.paging import decode_page_token, encode_page_token

Db = AsyncConnection | AsyncSession
# The columns of an order's list row, in table order (`order_list` rows are written whole).
LIST_COLUMNS = tuple(order_list.c.keys())


# --- carts ---------------------------------------------------------------------------------


async def insert_cart(session: AsyncSession, cart: Cart) -> None:
    raw = await driver_connection(session)
    await raw.execute(_INSERT_CART, *_cart_values(cart))


async def cart_by_token(db: Db, token: str, *, for_update: bool = False) -> Cart:
    """The cart named by `token`; `for_update` locks it for the rest of the transaction.

    The lines are read by a statement of their own after the lock is granted, so they are the
    ones the previous holder of the lock committed."""
    raw = await driver_connection(db)
    row = await raw.fetchrow(_CART_FOR_UPDATE if for_update else _CART, token)
    if row is None:
        raise NotFound("cart", token)
    lines = await raw.fetch(_CART_LINES, row["id"])
    address = row["shipping_address"]
    return Cart(
        id=str(row["id"]),
        token=row["token"],
        currency=row["currency"],
        customer_id=row["customer_id"],
        status=CartStatus(row["status"]),
        expires_at=row["expires_at"],
        lines=tuple(CartLine(str(x[0]), str(x[1]), x[2], x[3], x[4], x[5]) for x in lines),
        shipping_address=Address(**address) if address else None,
        shipping_method=row["shipping_method"],
        order_id=str(row["order_id"]) if row["order_id"] else "",
        version=row["version"],
    )


async def save_cart(session: AsyncSession, cart: Cart) -> None:
    """Write the cart and its lines (the caller holds its row lock), in one statement: lines
    no longer in the cart are deleted, new or changed ones upserted, unchanged ones left be."""
    lines = cart.lines
    raw = await driver_connection(session)
    await raw.execute(
        _SAVE_CART,
        *_cart_values(cart),
        [x.variant_id for x in lines],
        [x.product_id for x in lines],
        [x.sku for x in lines],
        [x.title for x in lines],
        [x.quantity for x in lines],
        [x.unit_price_minor for x in lines],
        list(range(len(lines))),
    )


def _cart_values(cart: Cart) -> tuple[Any, ...]:
    address = cart.shipping_address
    return (
        cart.id,
        cart.token,
        cart.currency,
        cart.customer_id,
        cart.status.value,
        json.dumps(asdict(address)) if address else None,
        cart.shipping_method,
        cart.order_id or None,
        cart.version,
        cart.expires_at,
    )


async def order_history(db: Db, order_id: str) -> list[tuple[str, datetime, Order]]:
    """Each event of the order, oldest first: its type, when it happened and the order as it
    left it (the admin order page's history), or NOT_FOUND."""
    raw = await driver_connection(db)
    rows = await raw.fetch(_EVENTS, order_id)
    if not rows:
        raise NotFound("order", order_id)
    entries: list[tuple[str, datetime, Order]] = []
    order: Order | None = None
    for event_type, payload, occurred_at in rows:
        event = event_from_pb(parse_event(event_type, payload))
        order = Order.replay([event]) if order is None else order.apply(event)
        entries.append((event_type, occurred_at, order))
    return entries


# Hot path (asyncpg's prepared-statement cache): every cart change runs them. jsonb goes in as
# JSON text and comes back decoded (SQLAlchemy's codec on the connection).
_CART_COLUMNS = """
    id, token, currency, customer_id, status, shipping_address, shipping_method, order_id,
    version, expires_at
"""
_INSERT_CART = f"""
    INSERT INTO carts ({_CART_COLUMNS}, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, now())
"""
_CART = f"SELECT {_CART_COLUMNS} FROM carts WHERE token = $1"
_CART_FOR_UPDATE = f"{_CART} FOR UPDATE"
_CART_LINES = """
    SELECT variant_id, product_id, sku, title, quantity, unit_price_minor FROM cart_lines
    WHERE cart_id = $1 ORDER BY position, variant_id
"""
_SAVE_CART = """
    WITH gone AS (
        DELETE FROM cart_lines WHERE cart_id = $1 AND variant_id <> ALL($11::uuid[])
    ), kept AS (
        INSERT INTO cart_lines
            (cart_id, variant_id, product_id, sku, title, quantity, unit_price_minor, position)
        SELECT $1, * FROM unnest(
            $11::uuid[], $12::uuid[], $13::text[], $14::text[], $15::int[], $16::bigint[],
            $17::int[]
        )
        ON CONFLICT (cart_id, variant_id) DO UPDATE SET
            product_id = excluded.product_id, sku = excluded.sku, title = excluded.title,
            quantity = excluded.quantity, unit_price_minor = excluded.unit_price_minor,
            position = excluded.position
        WHERE (cart_lines.product_id, cart_lines.sku, cart_lines.title, cart_lines.quantity,
               cart_lines.unit_price_minor, cart_lines.position)
            IS DISTINCT FROM (excluded.product_id, excluded.sku, excluded.title,
                              excluded.quantity, excluded.unit_price_minor, excluded.position)
    )
    UPDATE carts SET token = $2, currency = $3, customer_id = $4, status = $5,
        shipping_address = $6::jsonb, shipping_method = $7, order_id = $8, version = $9,
        expires_at = $10, updated_at = now()
    WHERE id = $1
"""


# --- the event store -----------------------------------------------------------------------


async def append(
    session: AsyncSession,
    order_id: str,
    new_events: Sequence[OrderEvent],
    *,
    expected_version: int,
    before: Order | None,
    occurred_at: datetime,
) -> Order:
    """Append `new_events` after `expected_version` and record them in the outbox.

    `before` is the state at `expected_version` (None for a new order). Another writer that got
    there first makes this raise Conflict, having written nothing: the events go in with
    `ON CONFLICT DO NOTHING` (what this transaction did insert is deleted again), so the
    caller's transaction stays usable without a savepoint.
    """
    if not new_events:
        raise ValueError("nothing to append")
    state = before
    rows: list[tuple[int, str, Message, Order]] = []
    for offset, event in enumerate(new_events):
        message = event_pb(event, state)
        state = Order.replay([event]) if state is None else state.apply(event)
        rows.append((expected_version + offset + 1, EVENT_TYPES[type(event)], message, state))
    raw = await driver_connection(session)
    inserted = await raw.fetch(
        _APPEND,
        order_id,
        [version for version, _, _, _ in rows],
        [event_type for _, event_type, _, _ in rows],
        [message.SerializeToString() for _, _, message, _ in rows],
        occurred_at,
    )
    if len(inserted) < len(rows):
        if inserted:
            await raw.execute(_UNDO_APPEND, order_id, [row[0] for row in inserted])
        raise Conflict(
            f"order {order_id} changed concurrently (expected version {expected_version})",
            metadata={"orderId": order_id, "expectedVersion": str(expected_version)},
        )
    for version, event_type, message, _ in rows:
        await events.record(session, event_type, message, order_id=order_id, version=version)
    assert state is not None
    return state


async def load(db: Db, order_id: str) -> History:
    """The order folded from its events, or NOT_FOUND."""
    raw = await driver_connection(db)
    rows = await raw.fetch(_EVENTS, order_id)
    if not rows:
        raise NotFound("order", order_id)
    history = [event_from_pb(parse_event(row[0], row[1])) for row in rows]
    return History(Order.replay(history), rows[0][2], rows[-1][2])


# Hot path (asyncpg's prepared-statement cache): every order change and read runs them.
_APPEND = """
    INSERT INTO order_events (order_id, version, type, payload, occurred_at)
    SELECT $1, e.version, e.type, e.payload, $5
    FROM unnest($2::int[], $3::text[], $4::bytea[]) AS e (version, type, payload)
    ON CONFLICT (order_id, version) DO NOTHING
    RETURNING version
"""
_UNDO_APPEND = "DELETE FROM order_events WHERE order_id = $1 AND version = ANY($2::int[])"
_EVENTS = """
    SELECT type, payload, occurred_at FROM order_events WHERE order_id = $1 ORDER BY version
"""


# --- guest order access --------------------------------------------------------------------


async def insert_order_access(session: AsyncSession, order_id: str, token_sha256: bytes) -> None:
    """Keep the digest of a guest order's access token (the token itself is never stored)."""
    await session.execute(
        sa.insert(order_access).values(order_id=order_id, token_sha256=token_sha256)
    )


async def order_access_granted(db: Db, order_id: str, token_sha256: bytes) -> bool:
    """True when a token of this digest was given for the order."""
    query = sa.select(sa.true()).where(
        order_access.c.order_id == order_id, order_access.c.token_sha256 == token_sha256
    )
    return (await db.execute(query)).first() is not None


async def event_count(db: Db, order_id: str) -> int:
    query = sa.select(sa.func.count()).where(order_events.c.order_id == order_id)
    return int((await db.execute(query)).scalar_one())


# --- return requests -----------------------------------------------------------------------


async def insert_return_request(
    session: AsyncSession,
    request: pb.ReturnRequest,
    *,
    customer_id: str,
    status: str,
    order_version: int,
    requested_at: datetime,
) -> None:
    """Add the return request as the API showed it, with its order event's version."""
    lines = [
        {"variantId": x.variant_id, "title": x.title, "quantity": x.quantity} for x in request.lines
    ]
    await session.execute(
        sa.insert(return_requests).values(
            id=request.id,
            order_id=request.order_id,
            order_version=order_version,
            customer_id=customer_id,
            status=status,
            lines=lines,
            reason=request.reason,
            requested_at=requested_at,
            updated_at=requested_at,
        )
    )


async def return_request(db: Db, order_id: str, return_id: str) -> dict[str, Any]:
    """The order's return request as a row, or NOT_FOUND."""
    query = sa.select(return_requests).where(
        return_requests.c.id == return_id, return_requests.c.order_id == order_id
    )
    row = (await db.execute(query)).first()
    if row is None:
        raise NotFound("return request", return_id)
    return dict(row._mapping)


async def record_return_decision(
    session: AsyncSession, return_id: str, status: str, *, reason: str, by: str, at: datetime
) -> None:
    """Mark the return request decided: its new status, staff's reason, who and when."""
    await session.execute(
        sa.update(return_requests)
        .where(return_requests.c.id == return_id)
        .values(status=status, decision_reason=reason, decided_by=by, decided_at=at, updated_at=at)
    )


async def return_requests_of(db: Db, order_id: str) -> list[dict[str, Any]]:
    """The order's return requests, oldest first, as rows."""
    query = (
        sa.select(return_requests)
        .where(return_requests.c.order_id == order_id)
        .order_by(return_requests.c.requested_at, return_requests.c.id)
    )
    return [dict(row._mapping) for row in (await db.execute(query)).all()]


async def return_requests_page(
    db: Db, *, status: str | None, page_size: int, page_token: str
) -> tuple[list[dict[str, Any]], str]:
    """Return requests oldest first (keyset pagination on requested_at, id), of `status` only
    when given, as rows; and the next page's token ("" on the last page)."""
    fingerprint = f"returns:{status or ''}"
    statement = sa.select(return_requests)
    if status is not None:
        statement = statement.where(return_requests.c.status == status)
    after = decode_page_token(page_token, fingerprint)
    if after is not None:
        requested_at, return_id = datetime.fromisoformat(str(after[0])), str(after[1])
        statement = statement.where(
            sa.tuple_(return_requests.c.requested_at, return_requests.c.id)
            > (requested_at, return_id)
        )
    statement = statement.order_by(return_requests.c.requested_at, return_requests.c.id).limit(
        page_size + 1
    )
    rows = [dict(row._mapping) for row in (await db.execute(statement)).all()]
    if len(rows) <= page_size:
        return rows, ""
    last = rows[page_size - 1]
    position = (last["requested_at"].isoformat(), str(last["id"]))
    return rows[:page_size], encode_page_token(position, fingerprint)


# --- read models ---------------------------------------------------------------------------


async def order_view_version(db: Db, order_id: str, *, for_update: bool = False) -> int | None:
    """The version the order's view reflects (None: not projected yet); `for_update` locks the
    view for the rest of the transaction."""
    raw = await driver_connection(db)
    query = _VIEW_VERSION_FOR_UPDATE if for_update else _VIEW_VERSION
    version: int | None = await raw.fetchval(query, order_id)
    return version


async def fresh_order_view(db: Db, order_id: str) -> pb.Order | None:
    """The order's view if it reflects the order's latest event, else None (not projected yet,
    or behind: the caller folds the event store). One round trip."""
    raw = await driver_connection(db)
    detail = await raw.fetchval(_FRESH_VIEW, order_id)
    return None if detail is None else pb.Order.FromString(detail)


async def save_order_view(session: AsyncSession, view: pb.Order, row: dict[str, Any]) -> None:
    """Upsert the order's detail and its list row (one statement)."""
    raw = await driver_connection(session)
    await raw.execute(
        _SAVE_VIEW,
        view.id,
        view.version,
        view.SerializeToString(),
        *(row[column] for column in LIST_COLUMNS[1:]),
    )


_VIEW_VERSION = "SELECT version FROM order_details WHERE order_id = $1"
_VIEW_VERSION_FOR_UPDATE = f"{_VIEW_VERSION} FOR UPDATE"
_FRESH_VIEW = """
    SELECT detail FROM order_details WHERE order_id = $1
    AND version >= (SELECT max(version) FROM order_events WHERE order_id = $1)
"""
_SAVE_VIEW = f"""
    WITH detail AS (
        INSERT INTO order_details (order_id, version, detail) VALUES ($1, $2, $3)
        ON CONFLICT (order_id) DO UPDATE SET version = excluded.version, detail = excluded.detail
    )
    INSERT INTO order_list ({", ".join(LIST_COLUMNS)})
    VALUES ($1, {", ".join(f"${i}" for i in range(4, 4 + len(LIST_COLUMNS) - 1))})
    ON CONFLICT (order_id) DO UPDATE SET
        {", ".join(f"{c} = excluded.{c}" for c in LIST_COLUMNS[1:])}
"""


async def clear_order_views(session: AsyncSession) -> None:
    await session.execute(sa.delete(order_details))
    await session.execute(sa.delete(order_list))


async def histories(session: AsyncSession, *, batch: int = 1000) -> AsyncIterator[list[History]]:
    """Every order of the event store folded, `batch` orders at a time (by order id)."""
    raw = await driver_connection(session)
    after = "00000000-0000-0000-0000-000000000000"
    while ids := [row[0] for row in await raw.fetch(_NEXT_ORDER_IDS, after, batch)]:
        folded: list[History] = []
        events: list[Any] = []
        rows = await raw.fetch(_EVENTS_OF_ORDERS, ids)
        for index, row in enumerate(rows):
            events.append(event_from_pb(parse_event(row[1], row[2])))
            if index + 1 == len(rows) or rows[index + 1][0] != row[0]:
                first = rows[index - len(events) + 1]
                folded.append(History(Order.replay(events), first[3], row[3]))
                events = []
        yield folded
        after = ids[-1]


async def insert_order_views(
    session: AsyncSession, views: Sequence[tuple[pb.Order, dict[str, Any]]]
) -> None:
    """COPY the details and list rows of orders that have none yet (a rebuild)."""
    raw = await driver_connection(session)
    await raw.copy_records_to_table(
        order_details.name,
        records=[(v.id, v.version, v.SerializeToString()) for v, _ in views],
        columns=order_details.c.keys(),
    )
    await raw.copy_records_to_table(
        order_list.name,
        records=[tuple(row[c] for c in LIST_COLUMNS) for _, row in views],
        columns=list(LIST_COLUMNS),
    )


# Bulk path of a rebuild (a million events of a seeded shop), on the driver as well.
_NEXT_ORDER_IDS = """
    SELECT DISTINCT order_id FROM order_events WHERE order_id > $1::uuid
    ORDER BY order_id LIMIT $2
"""
_EVENTS_OF_ORDERS = """
    SELECT order_id, type, payload, occurred_at FROM order_events
    WHERE order_id = ANY($1::uuid[]) ORDER BY order_id, version
"""


async def list_orders(db: Db, query: OrderListQuery) -> OrderListPage:
    """Orders newest first (keyset pagination on placed_at, order_id)."""
    statement = sa.select(order_list)
    if query.customer_id is not None:
        statement = statement.where(order_list.c.customer_id == query.customer_id)
    if query.status is not None:
        statement = statement.where(order_list.c.status == query.status)
    if (since := query.placed.since()) is not None:
        statement = statement.where(order_list.c.placed_at >= since)
    if (until := query.placed.until()) is not None:
        statement = statement.where(order_list.c.placed_at < until)
    for word in query.words:
        escaped = word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(order_list.c.search_text.like(f"%{escaped}%", escape="\\"))
    after = decode_page_token(query.page_token, query.fingerprint())
    if after is not None:
        placed_at, order_id = datetime.fromisoformat(str(after[0])), str(after[1])
        statement = statement.where(
            sa.tuple_(order_list.c.placed_at, order_list.c.order_id) < (placed_at, order_id)
        )
    statement = statement.order_by(
        order_list.c.placed_at.desc(), order_list.c.order_id.desc()
    ).limit(query.page_size + 1)
    rows = (await db.execute(statement)).all()
    found = tuple(_summary(row) for row in rows[: query.page_size])
    if len(rows) <= query.page_size:
        return OrderListPage(found, "")
    last = found[-1]
    position = (last.placed_at.isoformat(), last.order_id)
    return OrderListPage(found, encode_page_token(position, query.fingerprint()))


def _summary(row: sa.Row[Any]) -> OrderSummary:
    return OrderSummary(
        order_id=row.order_id,
        customer_id=row.customer_id,
        status=row.status,
        currency=row.currency,
        total_minor=row.total_minor,
        item_count=row.item_count,
        customer_name=row.customer_name,
        email=row.email,
        country=row.country,
        placed_at=row.placed_at,
        updated_at=row.updated_at,
    )
