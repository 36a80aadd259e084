"""Persistence of orders in their own schema (SQLAlchemy 2 Core over asyncpg): carts, the order
event store, and the read models the projections keep.

The event store is append-only: `(order_id, version)` is the primary key, so two writers that
loaded the same version race for the same row and the loser gets `Conflict` (optimistic
concurrency). Every appended event is recorded in the outbox in the same transaction.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora.orders import events
from agora.orders.aggregate import Order, OrderEvent
from agora.orders.domain import Address, Cart, CartLine, CartStatus
from agora.orders.translation import EVENT_TYPES, event_from_pb, event_pb, parse_event
from agora.platform.errors import Conflict, InvalidArgument, NotFound

Db = AsyncConnection | AsyncSession
metadata = sa.MetaData()

carts = sa.Table(
    "carts",
    metadata,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
    sa.Column("token", sa.Text),
    sa.Column("currency", sa.Text),
    sa.Column("customer_id", sa.Text),
    sa.Column("status", sa.Text),
    sa.Column("shipping_address", JSONB),
    sa.Column("shipping_method", sa.Text),
    sa.Column("order_id", UUID(as_uuid=False)),
    sa.Column("version", sa.BigInteger),
    sa.Column("expires_at", sa.DateTime(timezone=True)),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
)
cart_lines = sa.Table(
    "cart_lines",
    metadata,
    sa.Column("cart_id", UUID(as_uuid=False), primary_key=True),
    sa.Column("variant_id", UUID(as_uuid=False), primary_key=True),
    sa.Column("product_id", UUID(as_uuid=False)),
    sa.Column("sku", sa.Text),
    sa.Column("title", sa.Text),
    sa.Column("quantity", sa.Integer),
    sa.Column("unit_price_minor", sa.BigInteger),
    sa.Column("position", sa.Integer),
)
order_events = sa.Table(
    "order_events",
    metadata,
    sa.Column("order_id", UUID(as_uuid=False), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("type", sa.Text),
    sa.Column("payload", sa.LargeBinary),
    sa.Column("occurred_at", sa.DateTime(timezone=True)),
)
order_details = sa.Table(
    "order_details",
    metadata,
    sa.Column("order_id", UUID(as_uuid=False), primary_key=True),
    sa.Column("version", sa.BigInteger),
    sa.Column("detail", sa.LargeBinary),
)
order_list = sa.Table(
    "order_list",
    metadata,
    sa.Column("order_id", UUID(as_uuid=False), primary_key=True),
    sa.Column("customer_id", sa.Text),
    sa.Column("status", sa.Text),
    sa.Column("currency", sa.Text),
    sa.Column("total_minor", sa.BigInteger),
    sa.Column("item_count", sa.Integer),
    sa.Column("customer_name", sa.Text),
    sa.Column("email", sa.Text),
    sa.Column("country", sa.Text),
    sa.Column("search_text", sa.Text),
    sa.Column("placed_at", sa.DateTime(timezone=True)),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
)


# --- carts ---------------------------------------------------------------------------------


async def insert_cart(session: AsyncSession, cart: Cart) -> None:
    await session.execute(sa.insert(carts).values(**_cart_row(cart)))


async def cart_by_token(db: Db, token: str, *, for_update: bool = False) -> Cart:
    """The cart named by `token`; `for_update` locks it for the rest of the transaction."""
    query = sa.select(carts).where(carts.c.token == token)
    if for_update:
        query = query.with_for_update()
    row = (await db.execute(query)).first()
    if row is None:
        raise NotFound("cart", token)
    lines = await db.execute(
        sa.select(cart_lines)
        .where(cart_lines.c.cart_id == row.id)
        .order_by(cart_lines.c.position, cart_lines.c.variant_id)
    )
    return Cart(
        id=row.id,
        token=row.token,
        currency=row.currency,
        customer_id=row.customer_id,
        status=CartStatus(row.status),
        expires_at=row.expires_at,
        lines=tuple(
            CartLine(x.variant_id, x.product_id, x.sku, x.title, x.quantity, x.unit_price_minor)
            for x in lines
        ),
        shipping_address=Address(**row.shipping_address) if row.shipping_address else None,
        shipping_method=row.shipping_method,
        order_id=row.order_id or "",
        version=row.version,
    )


async def save_cart(session: AsyncSession, cart: Cart) -> None:
    """Write the cart and all its lines (the caller holds its row lock)."""
    await session.execute(sa.update(carts).where(carts.c.id == cart.id).values(**_cart_row(cart)))
    await session.execute(sa.delete(cart_lines).where(cart_lines.c.cart_id == cart.id))
    if cart.lines:
        await session.execute(
            sa.insert(cart_lines),
            [
                {"cart_id": cart.id, "position": position, **asdict(line)}
                for position, line in enumerate(cart.lines)
            ],
        )


def _cart_row(cart: Cart) -> dict[str, Any]:
    return {
        "id": cart.id,
        "token": cart.token,
        "currency": cart.currency,
        "customer_id": cart.customer_id,
        "status": cart.status.value,
        "shipping_address": asdict(cart.shipping_address) if cart.shipping_address else None,
        "shipping_method": cart.shipping_method,
        "order_id": cart.order_id or None,
        "version": cart.version,
        "expires_at": cart.expires_at,
        "updated_at": sa.func.now(),
    }


# --- the event store -----------------------------------------------------------------------


@dataclass(frozen=True)
class History:
    """An order's state with the times of its first and last events."""

    order: Order
    placed_at: datetime
    updated_at: datetime


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
    there first makes this raise Conflict; the caller's transaction then rolls back.
    """
    state = before
    for offset, event in enumerate(new_events):
        version = expected_version + offset + 1
        message = event_pb(event, state)
        event_type = EVENT_TYPES[type(event)]
        try:
            await session.execute(
                sa.insert(order_events).values(
                    order_id=order_id,
                    version=version,
                    type=event_type,
                    payload=message.SerializeToString(),
                    occurred_at=occurred_at,
                )
            )
        except IntegrityError:
            raise Conflict(
                f"order {order_id} changed concurrently (expected version {expected_version})",
                metadata={"orderId": order_id, "expectedVersion": str(expected_version)},
            ) from None
        await events.record(session, event_type, message, order_id=order_id, version=version)
        state = Order.replay([event]) if state is None else state.apply(event)
    if state is None:
        raise ValueError("nothing to append")
    return state


async def load(db: Db, order_id: str) -> History:
    """The order folded from its events, or NOT_FOUND."""
    rows = (
        await db.execute(
            sa.select(order_events.c.type, order_events.c.payload, order_events.c.occurred_at)
            .where(order_events.c.order_id == order_id)
            .order_by(order_events.c.version)
        )
    ).all()
    if not rows:
        raise NotFound("order", order_id)
    history = [event_from_pb(parse_event(row.type, bytes(row.payload))) for row in rows]
    return History(Order.replay(history), rows[0].occurred_at, rows[-1].occurred_at)


async def event_count(db: Db, order_id: str) -> int:
    query = sa.select(sa.func.count()).where(order_events.c.order_id == order_id)
    return int((await db.execute(query)).scalar_one())


# --- read models ---------------------------------------------------------------------------


async def order_view(db: Db, order_id: str, *, for_update: bool = False) -> pb.Order | None:
    query = sa.select(order_details.c.detail).where(order_details.c.order_id == order_id)
    if for_update:
        query = query.with_for_update()
    detail = (await db.execute(query)).scalar_one_or_none()
    return None if detail is None else pb.Order.FromString(bytes(detail))


async def fresh_order_view(db: Db, order_id: str) -> pb.Order | None:
    """The order's view if it reflects the order's latest event, else None (not projected yet,
    or behind: the caller folds the event store). One round trip."""
    latest = (
        sa.select(sa.func.max(order_events.c.version))
        .where(order_events.c.order_id == order_id)
        .scalar_subquery()
    )
    query = sa.select(order_details.c.detail).where(
        order_details.c.order_id == order_id, order_details.c.version >= latest
    )
    detail = (await db.execute(query)).scalar_one_or_none()
    return None if detail is None else pb.Order.FromString(bytes(detail))


async def save_order_view(session: AsyncSession, view: pb.Order, row: dict[str, Any]) -> None:
    """Upsert the order's detail and its list row."""
    detail = {"order_id": view.id, "version": view.version, "detail": view.SerializeToString()}
    await session.execute(
        insert(order_details)
        .values(**detail)
        .on_conflict_do_update(index_elements=["order_id"], set_=detail)
    )
    await session.execute(
        insert(order_list)
        .values(**row)
        .on_conflict_do_update(index_elements=["order_id"], set_=row)
    )


async def clear_order_views(session: AsyncSession) -> None:
    await session.execute(sa.delete(order_details))
    await session.execute(sa.delete(order_list))


@dataclass(frozen=True)
class OrderListQuery:
    customer_id: str | None = None
    status: str | None = None
    words: tuple[str, ...] = ()
    page_size: int = 20
    page_token: str = ""


@dataclass(frozen=True)
class OrderListPage:
    rows: list[Any]
    next_page_token: str


async def list_orders(db: Db, query: OrderListQuery) -> OrderListPage:
    """Orders newest first (keyset pagination on placed_at, order_id)."""
    statement = sa.select(order_list)
    if query.customer_id is not None:
        statement = statement.where(order_list.c.customer_id == query.customer_id)
    if query.status is not None:
        statement = statement.where(order_list.c.status == query.status)
    for word in query.words:
        escaped = word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(order_list.c.search_text.like(f"%{escaped}%", escape="\\"))
    if query.page_token:
        placed_at, order_id = _decode_token(query.page_token)
        statement = statement.where(
            sa.tuple_(order_list.c.placed_at, order_list.c.order_id) < (placed_at, order_id)
        )
    statement = statement.order_by(
        order_list.c.placed_at.desc(), order_list.c.order_id.desc()
    ).limit(query.page_size + 1)
    rows = list((await db.execute(statement)).all())
    if len(rows) <= query.page_size:
        return OrderListPage(rows, "")
    last = rows[query.page_size - 1]
    return OrderListPage(rows[: query.page_size], _encode_token(last.placed_at, last.order_id))


def _encode_token(placed_at: datetime, order_id: str) -> str:
    return base64.urlsafe_b64encode(f"{placed_at.isoformat()}|{order_id}".encode()).decode()


def _decode_token(token: str) -> tuple[datetime, str]:
    try:
        placed_at, order_id = base64.urlsafe_b64decode(token.encode()).decode().split("|")
        return datetime.fromisoformat(placed_at), str(uuid.UUID(order_id))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidArgument.for_field("pageToken", "not a token of this listing") from None
